"""Bulk actions that domains built on the CRM add to a record list ("Add to campaign").

The CRM cannot import them, so they register an action here: its label, the endpoint the
selection is posted to, and the permission a member needs to see it. The list's bulk bar shows
them beside its own actions; a registered button posts the bulk form as the CRM's own do (the
ticked ``ids``, or ``all=1`` with the list's filters) to the action's endpoint, and puts the
answer in the list's action panel (``#list-action-panel``). ``selection`` reads that form the way
the CRM's own bulk actions do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, g

from app.blueprints.crm import bp
from app.blueprints.crm.records import queries
from app.blueprints.team.public import Permission, can

MAX_SELECTION = 100_000


@dataclass(frozen=True)
class ListAction:
    key: str  # unique per list; the button's value and its element id
    label: Any  # lazy: in the reader's language
    endpoint: str  # a POST view; it receives the bulk form
    permission: Permission | None = None


_ACTIONS: dict[str, list[ListAction]] = defaultdict(list)


def register(entity: str, action: ListAction) -> None:
    _ACTIONS[entity].append(action)


@bp.app_template_global("list_actions")
def shown(entity: str) -> list[ListAction]:
    """The registered actions of ``entity``'s list the signed-in member may use."""
    membership = g.get("membership")
    return [a for a in _ACTIONS.get(entity, ())
            if a.endpoint in current_app.view_functions
            and (a.permission is None or (membership is not None and can(membership.role, a.permission)))]


def selection(org_id: int, entity: str, form: Mapping[str, Any]) -> list[int]:
    """The ids a bulk form selected: the ticked ``ids``, or every record the list's filters match
    (``all=1``), at most ``MAX_SELECTION``."""
    if form.get("all") == "1":
        return queries.matching_ids(org_id, entity, queries.ListQuery.from_args(form), MAX_SELECTION)
    getlist = getattr(form, "getlist", None)
    raw = getlist("ids") if getlist else form.get("ids") or []
    return list(dict.fromkeys(int(i) for i in raw if str(i).isdigit()))[:MAX_SELECTION]

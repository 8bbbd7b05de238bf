"""Entry and exit rules of stages: the one place that decides whether a deal may move.

The board, the deal page, bulk moves and the API all call ``check_move``; a refusal is a
``RuleBroken`` whose message names the rule, so a person knows what to fix.
"""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.blueprints.crm.public import Deal, Entity, custom_fields
from app.blueprints.pipeline.models import Stage
from app.errors import Conflict
from app.extensions import db

# Deal fields a stage may require before a deal enters it (custom fields add "custom.<key>"); the
# labels are lazy: read in the viewer's language.
REQUIRABLE: dict[str, Any] = {
    "value": _l("Value"),
    "expected_close": _l("Expected close date"),
    "contact": _l("Contact"),
    "company": _l("Company"),
    "owner": _l("Deal owner"),
}


class RuleBroken(Conflict):
    code = "rule_broken"

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, {"stage": message})
        self.rule = rule


def missing_fields(deal: Deal, stage: Stage, custom_labels: dict[str, str]) -> list[str]:
    """Labels of the fields ``stage`` requires that ``deal`` has empty."""
    missing = []
    for name in stage.required_fields or ():
        if name.startswith("custom."):
            key = name.removeprefix("custom.")
            if key in custom_labels and (deal.custom or {}).get(key) in (None, ""):
                missing.append(custom_labels[key])
            continue
        if name not in REQUIRABLE:
            continue  # a field that no longer exists cannot block anyone
        if name in ("contact", "company"):  # an id once flushed; only an object before that
            value: Any = getattr(deal, f"{name}_id") or getattr(deal, name)
        else:
            value = getattr(deal, f"{name}_id" if name == "owner" else name)
        if value in (None, ""):
            missing.append(str(REQUIRABLE[name]))
    return missing


def check_move(deal: Deal, source: Stage | None, target: Stage, *, occupancy: int | None = None,
               custom_labels: dict[str, str] | None = None, creating: bool = False) -> None:
    """Raise RuleBroken unless ``deal`` may go from ``source`` (None: a new deal) to ``target``.

    ``occupancy`` is how many live deals ``target`` holds now (only needed when it has a WIP limit).
    """
    if source is not None and source.id == target.id:
        return
    if source is not None and not source.allow_exit:
        locked = (gettext("“%(stage)s” keeps its deals: a won deal cannot be moved out. An admin can "
                          "change this in the stage's exit rule.", stage=source.name)
                  if source.kind == "won" else
                  gettext("“%(stage)s” keeps its deals: a lost deal cannot be moved out. An admin can "
                          "change this in the stage's exit rule.", stage=source.name))
        raise RuleBroken(locked, "exit_locked")
    if not creating and target.allowed_from and (source is None or source.id not in target.allowed_from):
        raise RuleBroken(gettext("Deals can enter “%(stage)s” only from the stages its entry rule lists, "
                                 "not from “%(source)s”.", stage=target.name, source=source.name)
                         if source is not None else
                         gettext("Deals can enter “%(stage)s” only from the stages its entry rule lists.",
                                 stage=target.name), "allowed_from")
    missing = missing_fields(deal, target, custom_labels or {})
    if missing:
        raise RuleBroken(gettext("“%(stage)s” requires %(fields)s before a deal can enter it.",
                                 stage=target.name, fields=and_list(missing)), "required_fields")
    if target.wip_limit is not None and occupancy is not None and occupancy >= target.wip_limit:
        raise RuleBroken(ngettext("“%(stage)s” is at its WIP limit of %(num)d deal. Move a deal out first.",
                                  "“%(stage)s” is at its WIP limit of %(num)d deals. Move a deal out first.",
                                  target.wip_limit, stage=target.name), "wip_limit")


def check_entry(deal: Deal, source: Stage | None, target: Stage, *, creating: bool = False) -> None:
    """``check_move`` with what the rules need read from the database (occupancy, custom labels)."""
    check_move(deal, source, target, occupancy=occupancy(deal.org_id, target),
               custom_labels=custom_labels(deal.org_id, target), creating=creating)


def custom_labels(org_id: int, stage: Stage) -> dict[str, str]:
    """Labels of the deal custom fields ``stage`` requires (no query when it requires none)."""
    if not any(name.startswith("custom.") for name in stage.required_fields or ()):
        return {}
    return {f.key: f.label for f in custom_fields(org_id, Entity.DEAL)}


def occupancy(org_id: int, stage: Stage) -> int | None:
    """Live deals in ``stage`` when it has a WIP limit (None otherwise).

    The stage row is locked first (PostgreSQL), so two moves into an almost full column queue up
    instead of both counting one free place.
    """
    if stage.wip_limit is None:
        return None
    db.session.execute(select(Stage.id).where(Stage.org_id == org_id, Stage.id == stage.id).with_for_update())
    return db.session.scalar(select(func.count()).select_from(Deal).where(
        Deal.org_id == org_id, Deal.stage_id == stage.id, Deal.deleted_at.is_(None)))


def and_list(items: list[str]) -> str:
    """``items`` joined the viewer's way: "Value and Expected close date", "Сумма и Ожидаемая дата
    закрытия" (CLDR's list patterns, through Babel)."""
    return format_list([str(item) for item in items], locale=get_locale() or "en")

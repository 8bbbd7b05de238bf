"""Entry and exit rules of stages: the one place that decides whether a deal may move.

The board, the deal page, bulk moves and the API all call ``check_move``; a refusal is a
``RuleBroken`` whose message names the rule, so a person knows what to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.errors import Conflict

if TYPE_CHECKING:
    from app.blueprints.crm.models import Deal
    from app.blueprints.pipeline.models import Stage

# Deal fields a stage may require before a deal enters it (custom fields add "custom.<key>").
REQUIRABLE: dict[str, str] = {
    "value": "Value",
    "expected_close": "Expected close date",
    "contact": "Contact",
    "company": "Company",
    "owner": "Owner",
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
            missing.append(REQUIRABLE[name])
    return missing


def check_move(deal: Deal, source: Stage | None, target: Stage, *, occupancy: int | None = None,
               custom_labels: dict[str, str] | None = None, creating: bool = False) -> None:
    """Raise RuleBroken unless ``deal`` may go from ``source`` (None: a new deal) to ``target``.

    ``occupancy`` is how many live deals ``target`` holds now (only needed when it has a WIP limit).
    """
    if source is not None and source.id == target.id:
        return
    if source is not None and not source.allow_exit:
        raise RuleBroken(f"“{source.name}” keeps its deals: a {source.kind} deal cannot be moved out. "
                         "An admin can change this in the stage's exit rule.", "exit_locked")
    if not creating and target.allowed_from and (source is None or source.id not in target.allowed_from):
        raise RuleBroken(f"Deals can enter “{target.name}” only from the stages its entry rule "
                         "lists" + (f", not from “{source.name}”." if source is not None else "."),
                         "allowed_from")
    missing = missing_fields(deal, target, custom_labels or {})
    if missing:
        raise RuleBroken(f"“{target.name}” requires {_and(missing)} before a deal can enter it.",
                         "required_fields")
    if target.wip_limit is not None and occupancy is not None and occupancy >= target.wip_limit:
        raise RuleBroken(f"“{target.name}” is at its WIP limit of {target.wip_limit} deals. "
                         "Move a deal out first.", "wip_limit")


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

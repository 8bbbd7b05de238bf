"""Entry and exit rules of stages: the one place that decides whether a deal may move.

The board, the deal page, bulk moves and the API all call ``check_move``; a refusal is a
``RuleBroken`` whose message names the rule, so a person knows what to fix.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.blueprints.crm.public import Deal, Entity, custom_fields
from app.blueprints.pipeline.models import Stage
from app.errors import Conflict
from app.extensions import db

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


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]

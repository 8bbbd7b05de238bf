"""What the pipeline tells others: a deal moved between stages, was won or was lost.

Raised by the one stage-entry path (``moves.enter_stage`` and its batch form for imports), whatever
moved the deal: the board, the deal form, a bulk move, the API, a stage being deleted, an import.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.blueprints.crm.public import DealEvent


@dataclass(frozen=True, kw_only=True)
class DealMoved(DealEvent):
    """The deal left ``from_stage_id`` for ``stage_id`` (a new deal's first stage raises none)."""

    from_stage_id: int | None
    from_pipeline_id: int | None


@dataclass(frozen=True, kw_only=True)
class DealWon(DealEvent):
    """The deal entered a won stage (also a new deal that starts there)."""


@dataclass(frozen=True, kw_only=True)
class DealLost(DealEvent):
    """The deal entered a lost stage (also a new deal that starts there)."""

    lost_reason: str | None = None

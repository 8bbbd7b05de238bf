"""Where a deal stands in its pipeline is the pipeline domain's; the CRM asks it through this port.

The pipeline builds on the CRM (its board lists deal records), so the CRM cannot import it. Yet a
deal record has a stage field (the deal form, the API, bulk actions, imports), and setting it is a
move that obeys the stage rules and writes the stage history. So the CRM states here what it needs
from the owner of a deal's life, and that owner registers itself when it is imported
(``pipeline.stage_keeper``, imported by the app factory in every process). Stages are opaque to
the CRM: it passes them back, and reads only ``id``, ``name`` and ``pipeline_id``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.blueprints.crm.models import Deal
    from app.blueprints.team.public import Membership


class ImportedStages(Protocol):
    """The stages of one import's run, loaded once; the batch form of entering a stage."""

    def find(self, value: Any) -> int | None:
        """The id of the stage a cell names (an id, or a name in the default pipeline)."""

    def settle(self, values: dict[str, Any], new: bool) -> None:
        """Set a deal's stage columns in ``values`` (its first stage when new and none is given):
        pipeline, status and probability as the stage has them, on top of its column."""

    def entered(self, actor_id: int | None, moves: list[tuple[int, int | None, int, Any]],
                created: bool) -> None:
        """Record that deals entered stages: (deal id, from stage, to stage, entered the old one at)."""


class StageKeeper(Protocol):
    def find(self, org_id: int, value: Any) -> Any:
        """The stage ``value`` names (an id, or a name in the default pipeline); ValueError if none."""

    def for_status(self, org_id: int, deal: Deal, status: str) -> Any:
        """The stage a deal goes to when its status is set: its pipeline's won or lost stage.
        ValueError when there is none, or for "open" (reopening needs a chosen stage)."""

    def first(self, org_id: int) -> Any:
        """Where a new deal starts when no stage is given."""

    def choices(self, org_id: int) -> list[Any]:
        """Every stage of the organization in pipeline order (a form's choices)."""

    def check_new(self, deal: Deal, stage: Any) -> None:
        """Raise RuleBroken unless a new deal, not flushed yet, may start in ``stage``."""

    def enter_new(self, actor_id: int | None, deal: Deal, stage: Any) -> None:
        """Put a new deal (flushed) in its first stage."""

    def move(self, actor: Membership | None, deal: Deal, stage: Any) -> None:
        """Move ``deal`` to ``stage`` if the stage rules allow it; RuleBroken names the rule."""

    def bulk_move(self, actor: Membership, ids: list[int], value: Any) -> list[int]:
        """Move the deals the rules let in to the stage ``value`` names; the ids that moved."""

    def for_import(self, org_id: int) -> ImportedStages:
        """The stages an import of deals places its rows in."""


_keeper: StageKeeper | None = None


def register(keeper: StageKeeper) -> None:
    global _keeper
    _keeper = keeper


def keeper() -> StageKeeper:
    if _keeper is None:  # the app factory imports the pipeline, which registers itself
        raise RuntimeError("no stage keeper registered: import app.blueprints.pipeline.stage_keeper")
    return _keeper

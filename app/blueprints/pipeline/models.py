from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.tenancy import OrgScoped


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"

    @property
    def label(self) -> str:
        """The kind as a person reads it, in their language: the state of the deals it holds."""
        return str(KIND_LABELS[self])


KIND_LABELS = {StageKind.OPEN: _l("Open"), StageKind.WON: _l("Won"), StageKind.LOST: _l("Lost")}

# The names the app gives the pipelines and stages it makes (``service.DEFAULT_STAGES``,
# ``STARTER_STAGES``), stored in English: while a team keeps such a name, each person reads it in
# their own language; a name someone typed is data, shown as it is.
DEFAULT_NAMES = {
    "Sales": _l("Sales"),
    "New lead": _l("New lead"),
    "Qualified": _l("Qualified"),
    "Meeting booked": _l("Meeting booked"),
    "Proposal": _l("Proposal"),
    "Negotiation": _l("Negotiation"),
    "Won": _l("Won"),
    "Lost": _l("Lost"),
    "New": _l("New"),
    "In progress": _l("In progress"),
}


# Why the system moved a deal (``StageMove.reason``, stored as these codes), as people read it.
MOVE_REASONS = {"stage deleted": _l("its stage was deleted"),
                "pipeline deleted": _l("its pipeline was deleted"), "import": _l("import")}


def shown_name(stored: str | None) -> str | None:
    """A stored pipeline or stage name as the viewer reads it (a default one in their language)."""
    default = DEFAULT_NAMES.get(stored) if stored else None
    return str(default) if default is not None else stored


def shown_column(stored: str) -> hybrid_property:
    """A name read through ``shown_name`` (in the viewer's language where it is a default one),
    written to the ``stored`` column as given, and the stored column itself in SQL."""
    return hybrid_property(lambda self: shown_name(getattr(self, stored)),
                           lambda self, value: setattr(self, stored, value),
                           expr=lambda cls: getattr(cls, stored))


class Pipeline(OrgScoped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    stored_name: Mapped[str] = mapped_column("name", String(120))  # as typed (a default: English)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stages: Mapped[list[Stage]] = relationship(back_populates="pipeline", order_by="Stage.position",
                                               cascade="all, delete-orphan")

    name = shown_column("stored_name")


class Stage(OrgScoped, db.Model):
    """A column of a pipeline, with the rules a deal obeys to enter and to leave it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id", ondelete="CASCADE"), index=True)
    stored_name: Mapped[str] = mapped_column("name", String(80))  # as typed (a default: English)
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(8), default=StageKind.OPEN.value)
    probability: Mapped[int] = mapped_column(default=0)  # percent, 0-100
    colour: Mapped[str] = mapped_column(String(16), default="slate")
    wip_limit: Mapped[int | None]  # most deals the column may hold; None: no limit
    # Entry rules: deal fields that must be filled, and the stages a deal may come from (empty: any).
    required_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_from: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Exit rule: whether a deal may leave (only ever False on won / lost stages).
    allow_exit: Mapped[bool] = mapped_column(default=True)

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")

    name = shown_column("stored_name")

    @property
    def kind_label(self) -> str:
        return StageKind(self.kind).label

    @property
    def closed(self) -> bool:
        return self.kind != StageKind.OPEN


class StageMove(OrgScoped, db.Model):
    """One entry of a deal's stage history: from where to where, who, when, and time spent before.

    Stage names are copied so the history still reads after a stage is renamed or deleted.
    ``from_stage_id`` is None when the deal was created in ``to_stage_id``.
    """

    __table_args__ = (
        Index("ix_stage_move_deal", "deal_id", "moved_at"),
        Index("ix_stage_move_to", "to_stage_id", "moved_at"),
        Index("ix_stage_move_from", "from_stage_id", "moved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deal.id", ondelete="CASCADE"))
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"))
    to_stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"))
    from_stage_stored: Mapped[str | None] = mapped_column("from_stage_name", String(80))
    to_stage_stored: Mapped[str] = mapped_column("to_stage_name", String(80))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seconds_in_previous: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(40))  # e.g. "stage deleted"; None: a person moved it

    actor = relationship("User", lazy="joined")

    # A deal's timeline shows moves among its activities: they read alike there.
    kind = "stage_move"

    @property
    def reason_label(self) -> str | None:
        """Why the system moved it, in the viewer's language (``reason`` is a code: "stage deleted",
        "pipeline deleted", "import"); None when a person moved it."""
        if self.reason is None:
            return None
        label = MOVE_REASONS.get(self.reason)
        return str(label) if label is not None else self.reason

    from_stage_name = shown_column("from_stage_stored")  # the stage it left
    to_stage_name = shown_column("to_stage_stored")  # the stage it entered

    @property
    def created_at(self) -> datetime:
        return self.moved_at

    def as_dict(self) -> dict[str, Any]:
        """The move as the API reads it: the stage names as stored (data, in no viewer's language)."""
        return {"id": self.id, "deal_id": self.deal_id, "from_stage_id": self.from_stage_id,
                "from_stage": self.from_stage_stored, "to_stage_id": self.to_stage_id,
                "to_stage": self.to_stage_stored, "actor_id": self.actor_id,
                "moved_at": self.moved_at.isoformat(), "seconds_in_previous": self.seconds_in_previous,
                "reason": self.reason}

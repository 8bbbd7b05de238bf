from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
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
        return self.value.capitalize()


class Pipeline(OrgScoped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stages: Mapped[list[Stage]] = relationship(back_populates="pipeline", order_by="Stage.position",
                                               cascade="all, delete-orphan")


class Stage(OrgScoped, db.Model):
    """A column of a pipeline, with the rules a deal obeys to enter and to leave it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
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
    from_stage_name: Mapped[str | None] = mapped_column(String(80))
    to_stage_name: Mapped[str] = mapped_column(String(80))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    moved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seconds_in_previous: Mapped[int | None]
    reason: Mapped[str | None] = mapped_column(String(40))  # e.g. "stage deleted"; None: a person moved it

    actor = relationship("User", lazy="joined")

    # A deal's timeline shows moves among its activities: they read alike there.
    kind = "stage_move"

    @property
    def created_at(self) -> datetime:
        return self.moved_at

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "deal_id": self.deal_id, "from_stage_id": self.from_stage_id,
                "from_stage": self.from_stage_name, "to_stage_id": self.to_stage_id,
                "to_stage": self.to_stage_name, "actor_id": self.actor_id,
                "moved_at": self.moved_at.isoformat(), "seconds_in_previous": self.seconds_in_previous,
                "reason": self.reason}

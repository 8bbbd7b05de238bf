from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.tenancy import OrgScoped


class StageKind(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Pipeline(OrgScoped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    stages: Mapped[list[Stage]] = relationship(back_populates="pipeline", order_by="Stage.position",
                                               cascade="all, delete-orphan")


class Stage(OrgScoped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipeline.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(8), default=StageKind.OPEN.value)
    probability: Mapped[int] = mapped_column(default=0)  # percent, 0-100
    colour: Mapped[str] = mapped_column(String(16), default="slate")

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")

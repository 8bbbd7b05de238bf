"""The audit log: one table and one ``record(...)`` function every domain calls."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.blueprints.auth.models import User


class AuditEvent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # Nullable: a failed sign-in for an unknown email belongs to no organization and no user.
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"),
                                               index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(lazy="joined")


def record(action: str, *, org_id: int | None = None, actor_id: int | None = None,
           target: Any = None, ip: str | None = None, **detail: Any) -> AuditEvent:
    """Add an audit row to the session (the caller's commit makes it durable)."""
    event = AuditEvent(
        action=action,
        org_id=org_id,
        actor_id=actor_id,
        target_type=type(target).__name__.lower() if target is not None else None,
        target_id=getattr(target, "id", None),
        ip=ip,
        detail=detail,
    )
    db.session.add(event)
    return event

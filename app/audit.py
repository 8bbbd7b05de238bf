"""The audit log: one table, one ``record(...)`` function every domain calls, and the one registry
of what each action code means to people (``ACTIONS``, ``label``, ``details``)."""

from __future__ import annotations

from collections.abc import Mapping
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


# Every action code recorded, in words, in the order the audit page's event filter lists them. A
# code missing here still shows (as itself); a new ``record(...)`` call adds its code here.
ACTIONS: dict[str, str] = {
    "auth.sign_in": "Signed in",
    "auth.sign_in_failed": "Sign-in failed",
    "auth.locked_out": "Locked out after failed sign-ins",
    "auth.session_ended": "Signed out another browser",
    "auth.signed_out_everywhere": "Signed out everywhere",
    "auth.refresh_reused": "API sign-in replayed: all its sessions signed out",
    "auth.sign_up": "Signed up",
    "org.created": "Organization created",
    "org.updated": "Organization settings changed",
    "member.role_changed": "Role changed",
    "account.connected": "Account connected",
    "account.renamed": "Account renamed",
    "account.disconnected": "Account disconnected",
    "account.removed": "Account removed",
    "import.started": "Import started",
    "import.finished": "Import finished",
    "import.failed": "Import failed",
}

# Detail keys in words; others are humanised from their code (``default_country``: "Default country").
_DETAIL_KEYS = {"old": "Before", "new": "After", "user_id": "Member", "file": "File", "dry_run": "Dry run",
                "session_id": "Session", "family": "Token family", "email": "E-mail", "dedupe": "Duplicates",
                "entity": "Records", "phone": "Number", "changes": "Changes"}
_PEOPLE_KEYS = {"user_id"}  # detail values that are user ids: shown by name


def label(action: str) -> str:
    """An action code in words; an unknown code is shown as it is."""
    return ACTIONS.get(action, action)


def _key(key: str) -> str:
    return _DETAIL_KEYS.get(key) or key.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_value(v) for v in value)
    return str(value)


def details(event: AuditEvent, people: Mapping[int, str] | None = None) -> list[tuple[str, str]]:
    """An event's details as (label, text) pairs people can read: keys in words, members by name
    (``people``: user id -> name), a change as "before → after"."""
    people = people or {}
    shown: list[tuple[str, str]] = []
    for key, value in (event.detail or {}).items():
        if key == "changes" and isinstance(value, dict):
            shown += [(_key(field), _change(pair)) for field, pair in value.items()]
        elif key in _PEOPLE_KEYS and isinstance(value, int):
            shown.append((_key(key), people.get(value, f"#{value}")))
        else:
            shown.append((_key(key), _value(value)))
    return shown


def _change(pair: Any) -> str:
    if isinstance(pair, list | tuple) and len(pair) == 2:
        return f"{_value(pair[0])} → {_value(pair[1])}"
    return _value(pair)

"""The audit log: one table, one ``record(...)`` function every domain calls, and the one registry
of what each action code means to people (``ACTIONS``, ``label``, ``details``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import canonical
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
# code missing here still shows (as itself); a new ``record(...)`` call adds its code here. Rows
# keep the code and their details as data; the words are the viewer's, chosen when a page shows
# them (lazy: read in the viewer's language), so a row written for an English session reads in
# Russian for a Russian viewer.
ACTIONS: dict[str, str] = {
    "auth.sign_in": _l("Signed in"),
    "auth.sign_in_failed": _l("Sign-in failed"),
    "auth.locked_out": _l("Locked out after failed sign-ins"),
    "auth.session_ended": _l("Signed out another browser"),
    "auth.signed_out_everywhere": _l("Signed out everywhere"),
    "auth.refresh_reused": _l("API sign-in replayed: all its sessions signed out"),
    "auth.signed_out_others": _l("Signed out every other session"),
    "auth.api_sign_in_ended": _l("Ended an API sign-in"),
    "auth.mfa_enabled": _l("Two-factor authentication turned on"),
    "auth.mfa_disabled": _l("Two-factor authentication turned off"),
    "auth.mfa_failed": _l("Wrong two-factor code"),
    "auth.mfa_locked_out": _l("Two-factor step locked after wrong codes"),
    "auth.mfa_recovery_used": _l("Signed in with a recovery code"),
    "auth.mfa_recovery_renewed": _l("New recovery codes made"),
    "auth.identity_linked": _l("Sign-in method linked"),
    "auth.identity_unlinked": _l("Sign-in method unlinked"),
    "auth.sign_up": _l("Signed up"),
    "org.created": _l("Organization created"),
    "org.updated": _l("Organization settings changed"),
    "member.role_changed": _l("Role changed"),
    "member.invited": _l("Member invited"),
    "member.invitation_resent": _l("Invitation sent again"),
    "member.invitation_revoked": _l("Invitation revoked"),
    "member.joined": _l("Member joined"),
    "member.removed": _l("Member removed"),
    "member.left": _l("Member left"),
    "auth.email_verified": _l("Email address confirmed"),
    "auth.password_reset": _l("Password reset by mailed link"),
    "account.connected": _l("Account connected"),
    "account.renamed": _l("Account renamed"),
    "account.disconnected": _l("Account disconnected"),
    "account.removed": _l("Account removed"),
    "import.started": _l("Import started"),
    "import.finished": _l("Import finished"),
    "import.failed": _l("Import failed"),
    "contact.shared": _l("Contact shared with a teammate"),
    "contact.unshared": _l("Contact no longer shared with a teammate"),
    "export.downloaded": _l("Records exported"),
    "pipeline.created": _l("Pipeline created"),
    "pipeline.deleted": _l("Pipeline deleted"),
}

# Detail keys in words; others are humanised from their code (``default_country``: "Default country",
# in English only: a key missing here reads in English in every language, so a new one is added here).
_DETAIL_KEYS = {"old": _l("Before"), "new": _l("After"), "user_id": _l("Member"), "file": _l("File"),
                "dry_run": _l("Dry run"), "session_id": _l("Session"), "family": _l("Token family"),
                "email": _l("E-mail"), "dedupe": _l("Duplicates"), "entity": _l("Records"),
                "phone": _l("Number"), "changes": _l("Changes"), "name": _l("Name"),
                "timezone": _l("Timezone"), "default_country": _l("Default country"),
                "default_currency": _l("Default currency"), "username": _l("Username"),
                "rows": _l("Rows"), "created": _l("Created"), "updated": _l("Updated"),
                "skipped": _l("Skipped"), "rejected": _l("Rejected"), "role": _l("Role"),
                "invited_by": _l("Invited by"), "reassign_to": _l("Records handed to"),
                "handed_over": _l("Handed over"), "filters": _l("Filters")}
# Sign-in methods, for "method" and "provider" details (the providers' names are brands: as they are).
_METHODS = {"password": _l("Password"), "google": "Google", "github": "GitHub", "telegram": "Telegram"}
_DETAIL_KEYS.update({"method": _l("Signed in with"), "provider": _l("Provider"), "remaining": _l("Left"),
                     "sessions": _l("Sessions"), "require_mfa": _l("Two-factor authentication required")})
_PEOPLE_KEYS = {"user_id", "invited_by", "reassign_to"}  # detail values that are user ids: shown by name

# Detail values that are codes, in words: by key, and by (action, key) where a domain registers
# them (``describe_values``: team's role codes under "old" and "new" of a role change).
_VALUE_WORDS: dict[str, dict[str, str]] = {
    "entity": {"contact": _l("Contacts"), "company": _l("Companies"), "deal": _l("Deals")},
    "dedupe": {"skip": _l("skip matches"), "update": _l("update matches"), "create": _l("always create")},
    "method": _METHODS, "provider": _METHODS,
}
_ACTION_VALUES: dict[tuple[str, str], Callable[[Any], str]] = {}
_VALUE_SHOWN: dict[str, Callable[[Any], str]] = {"timezone": lambda zone: canonical.timezone_label(str(zone))}


def describe_values(action: str, key: str, words: Callable[[Any], str]) -> None:
    """Show the values of detail ``key`` of ``action`` rows through ``words`` (a code to the
    viewer's words), for the domain that owns the codes; a value ``words`` cannot read (raises
    ValueError or KeyError) shows as it is."""
    _ACTION_VALUES[(action, key)] = words


def label(action: str) -> str:
    """An action code in words; an unknown code is shown as it is."""
    return ACTIONS.get(action, action)


def _key(key: str) -> str:
    return str(_DETAIL_KEYS.get(key) or key.replace("_", " ").capitalize())


def _value(value: Any, shown: Callable[[Any], str] | None = None) -> str:
    if value is None or value == "":
        return gettext("none")
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple):
        return ", ".join(_value(v, shown) for v in value)
    if shown is not None:
        try:
            return str(shown(value))
        except (KeyError, ValueError):
            pass
    return str(value)


def _words_for(action: str, key: str) -> Callable[[Any], str] | None:
    if (action, key) in _ACTION_VALUES:
        return _ACTION_VALUES[(action, key)]
    if key in _VALUE_WORDS:
        return _VALUE_WORDS[key].__getitem__
    return _VALUE_SHOWN.get(key)


def details(event: AuditEvent, people: Mapping[int, str] | None = None) -> list[tuple[str, str]]:
    """An event's details as (label, text) pairs people can read: keys in words, members by name
    (``people``: user id -> name), codes in words, a change as "before → after"."""
    people = people or {}
    shown: list[tuple[str, str]] = []
    for key, value in (event.detail or {}).items():
        if key == "changes" and isinstance(value, dict):
            shown += [(_key(field), _change(pair, _words_for(event.action, field)))
                      for field, pair in value.items()]
        elif key in _PEOPLE_KEYS and isinstance(value, int):
            shown.append((_key(key), people.get(value, f"#{value}")))
        else:
            shown.append((_key(key), _value(value, _words_for(event.action, key))))
    return shown


def _change(pair: Any, shown: Callable[[Any], str] | None = None) -> str:
    if isinstance(pair, list | tuple) and len(pair) == 2:
        return f"{_value(pair[0], shown)} → {_value(pair[1], shown)}"
    return _value(pair, shown)

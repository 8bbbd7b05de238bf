"""Organizations and memberships. Flask-free: explicit actor and org, flush only.

Team never imports auth (auth builds on team): queries reach users through ``Membership.user``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

import phonenumbers
from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit, canonical
from app.blueprints.team import log_filters
from app.blueprints.team.events import MemberRoleChanged, OrganizationCreated, OrganizationUpdated
from app.blueprints.team.models import Membership, Organization
from app.blueprints.team.permissions import RANK, Permission, Role, require
from app.errors import DomainError, Forbidden
from app.events import emit
from app.extensions import db
from app.tenancy import get_in_org

if TYPE_CHECKING:
    from app.blueprints.auth.public import User

ORG_NAME_MAX = 120
_UNCHANGED: Any = object()


@cache
def timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def countries(language: str | None = None) -> tuple[tuple[str, str], ...]:
    """Every country phone numbers can be read in, as (code, "Name (+calling code)"), by name, in
    the viewer's language unless ``language`` says (English outside a request)."""
    if language is None:
        locale = get_locale()
        language = locale.language if locale is not None else "en"
    return _countries(language)


@cache
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    # CLDR's names, through Babel, in every language (phonenumbers' geocoder has English ones too,
    # but importing it loads its whole geodata: over 100 MB in every process).
    territories = Locale(language).territories
    named = [(code, f"{territories.get(code) or code} (+{phonenumbers.country_code_for_region(code)})")
             for code in phonenumbers.SUPPORTED_REGIONS]
    return tuple(sorted(named, key=lambda pair: pair[1]))


def country_name(code: str | None) -> str | None:
    """A country's name as ``countries`` gives it; None for none."""
    return dict(countries()).get(code) if code else None


def clean_country(raw: str | None) -> str | None:
    """An organization's default country from a form or the browser's guess: an ISO 3166 alpha-2
    code phone numbers can be read in, or None for blank. Raises ValueError for anything else."""
    if raw is None or not str(raw).strip():
        return None
    return canonical.phone_region(str(raw))


def _guessed(raw: str | None) -> str | None:
    """A guessed country (nobody typed it: the browser's locale or timezone) if it is one, else None."""
    try:
        return clean_country(raw)
    except ValueError:
        return None


def adopt_country_guess(org: Organization, guess: str | None) -> None:
    """Give an organization without a default country the one guessed for it at sign-up; a guess
    that is not a country phone numbers can be read in is dropped, not refused."""
    country = _guessed(guess)
    if country and org.default_country is None:
        org.default_country = country
        db.session.flush()


def phone_region(org_id: int) -> str | None:
    """The country an organization's contact phones are read in when written without a country
    code (None: they need one)."""
    org = db.session.get(Organization, org_id)
    return org.default_country if org is not None else None


def default_currency(org_id: int) -> str:
    """A new deal's currency: the one the organization chose, else its country's, else USD."""
    org = db.session.get(Organization, org_id)
    if org is None:
        return canonical.country_currency(None)
    return org.default_currency or canonical.country_currency(org.default_country)


def _role_words(code: str) -> str:
    return str(Role(code).label)


# The audit log shows a role change's roles by name, in the viewer's language.
audit.describe_values("member.role_changed", "old", _role_words)
audit.describe_values("member.role_changed", "new", _role_words)
for _action in ("member.invited", "member.joined", "member.removed", "member.left"):
    audit.describe_values(_action, "role", _role_words)


def _clean_org_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the organization a name."), {"name": _("Enter a name.")})
    if len(name) > ORG_NAME_MAX:
        raise DomainError(_("That name is too long."),
                          {"name": _("Use at most %(count)s characters.", count=ORG_NAME_MAX)})
    return name


def create_organization(*, owner: User, name: str, ip: str | None = None,
                        default_country: str | None = None) -> Membership:
    """A new organization with ``owner`` as its owner. Raises DomainError on a bad name.

    ``default_country`` is a guess (the owner's other organization's, the browser's): one that is
    not a country phone numbers can be read in is dropped, not refused, since nobody typed it."""
    org = Organization(name=_clean_org_name(name), default_country=_guessed(default_country))
    membership = Membership(organization=org, user=owner, role=Role.OWNER.value)
    db.session.add_all([org, membership])
    db.session.flush()
    emit(OrganizationCreated(org_id=org.id, actor_id=owner.id, owner_id=owner.id))
    audit.record("org.created", org_id=org.id, actor_id=owner.id, target=org, ip=ip, name=org.name,
                 default_country=org.default_country)
    return membership


def update_organization(actor: Membership, *, name: str, timezone: str,
                        default_country: str | None = _UNCHANGED, default_currency: str | None = _UNCHANGED,
                        require_mfa: bool | None = _UNCHANGED, actor_has_mfa: bool = False,
                        ip: str | None = None) -> Organization:
    """Rename / re-zone the actor's organization, set the country its contacts' phone numbers
    are read in (blank: none), its deals' default currency (blank: the country's) and whether its
    members must sign in with a second factor; a setting left out stays as it is.

    Requiring MFA needs the actor to have it (``actor_has_mfa``: auth knows, team cannot ask it),
    or they would be locked out with everyone else. Raises Forbidden or DomainError."""
    require(actor, Permission.ORG_UPDATE)
    org = actor.organization
    clean = _clean_org_name(name)
    if timezone not in timezones():
        raise DomainError(_("Pick a timezone from the list."), {"timezone": _("Unknown timezone.")})
    country = org.default_country
    if default_country is not _UNCHANGED:
        try:
            country = clean_country(default_country)
        except ValueError:
            raise DomainError(_("Pick a country from the list."),
                              {"default_country": _("Unknown country.")}) from None
    currency = org.default_currency
    if default_currency is not _UNCHANGED:
        currency = (default_currency or "").strip().upper() or None
        if currency is not None and currency not in canonical.currencies():
            raise DomainError(_("Pick a currency from the list."),
                              {"default_currency": _("Unknown currency.")})
    mfa = org.require_mfa if require_mfa is _UNCHANGED else bool(require_mfa)
    if mfa and not org.require_mfa and not actor_has_mfa:
        raise DomainError(_("Set up two-factor authentication for yourself first."),
                          {"require_mfa": _("Turn on two-factor authentication for your own account first "
                                            "(Your profile): otherwise you would be locked out too.")})
    changes = {k: [old, new] for k, old, new in
               (("name", org.name, clean), ("timezone", org.timezone, timezone),
                ("default_country", org.default_country, country),
                ("default_currency", org.default_currency, currency),
                ("require_mfa", org.require_mfa, mfa)) if old != new}
    org.name, org.timezone, org.default_country, org.default_currency = clean, timezone, country, currency
    org.require_mfa = mfa
    if changes:
        audit.record("org.updated", org_id=org.id, actor_id=actor.user_id, target=org, ip=ip,
                     changes=changes)
        emit(OrganizationUpdated(org_id=org.id, actor_id=actor.user_id, changes=changes))
    db.session.flush()
    return org


def list_members(actor: Membership) -> list[Membership]:
    require(actor, Permission.MEMBERS_VIEW)
    user = _user_model()
    return list(db.session.scalars(
        select(Membership).join(Membership.user).where(Membership.org_id == actor.org_id)
        .order_by(user.name)
    ))


def change_role(actor: Membership, member_id: int, role: str, ip: str | None = None) -> Membership:
    """Give member ``member_id`` of the actor's org a new role.

    Raises Forbidden when the actor may not (only owners grant or take away ownership; nobody
    acts above their own rank), DomainError for an unknown role or when it would leave the
    organization without an owner, NotFound for an id outside the org.
    """
    require(actor, Permission.MEMBERS_MANAGE)
    try:
        new_role = Role(role)
    except ValueError as err:
        raise DomainError(_("Pick one of the listed roles."), {"role": _("Unknown role.")}) from err
    member = get_in_org(Membership, member_id, actor.org_id, "Member")
    old_role = member.role_enum
    if old_role == new_role:
        return member
    actor_rank = RANK[actor.role_enum]
    if RANK[new_role] > actor_rank or RANK[old_role] > actor_rank or (
        Role.OWNER in (new_role, old_role) and actor.role_enum != Role.OWNER
    ):
        raise Forbidden(_("Only an owner can grant or remove the owner role, and nobody can act "
                          "above their own role."))
    if old_role == Role.OWNER and _owner_count(actor.org_id) <= 1:
        raise DomainError(_("An organization needs at least one owner. Make someone else owner first."),
                          {"role": _("This is the last owner.")})
    member.role = new_role.value
    audit.record("member.role_changed", org_id=actor.org_id, actor_id=actor.user_id, target=member,
                 ip=ip, user_id=member.user_id, old=old_role.value, new=new_role.value)
    emit(MemberRoleChanged(org_id=actor.org_id, actor_id=actor.user_id, membership_id=member.id,
                           user_id=member.user_id, old_role=old_role.value, new_role=new_role.value))
    db.session.flush()
    return member


def _owner_count(org_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership)
        .where(Membership.org_id == org_id, Membership.role == Role.OWNER.value)
    ) or 0


def people(org_id: int) -> list[User]:
    """The organization's people by name: owner pickers, and names shown beside records and chats."""
    user = _user_model()
    return list(db.session.scalars(select(user).join(Membership, Membership.user_id == user.id)
                                   .where(Membership.org_id == org_id).order_by(user.name)))


def _user_model() -> type[User]:
    """The users' model, as ``Membership.user`` names it: found through the relationship, so that
    team needs no import of auth (which builds on team)."""
    return Membership.user.property.mapper.class_


def membership_for(user: User, org_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.org_id == org_id)
    )


AUDIT_PAGE = 50  # rows per page of the audit log; "Older" goes on from the last


@dataclass(frozen=True)
class AuditQuery:
    """What the audit log is narrowed to: who acted, which action, which UTC days (inclusive), and
    where the page starts (``before``: rows older than that event id)."""

    actor_id: int | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    before: int | None = None

    def as_args(self, **override: Any) -> dict[str, str]:
        """The query-string arguments that reproduce this query (for the "Older" link)."""
        pairs = {"member": self.actor_id, "event": self.action, "from": self.date_from, "to": self.date_to,
                 "before": self.before, **override}
        return {k: str(v) for k, v in pairs.items() if v not in (None, "")}

    @property
    def narrowed(self) -> bool:
        return any((self.actor_id, self.action, self.date_from, self.date_to))


@dataclass
class AuditPage:
    events: list[audit.AuditEvent] = field(default_factory=list)
    older: int | None = None  # the ``before`` of the next page, None on the last


def audit_query(org_id: int, args: Mapping[str, str]) -> AuditQuery:
    """The audit log's filters from query-string arguments: ``member`` (a user id of the
    organization), ``event`` (an action code of ``audit.ACTIONS``), ``from`` and ``to`` (YYYY-MM-DD,
    UTC days, inclusive) and ``before`` (an event id). Blank means any. Raises DomainError naming
    each field that is not one of those."""
    errors: dict[str, str] = {}
    actor_id = log_filters.member_of(args, {u.id for u in people(org_id)}, errors)
    action = log_filters.text_of(args, "event") or None
    if action is not None and action not in audit.ACTIONS:
        errors["event"] = _("Pick an event from the list.")
    date_from, date_to = log_filters.days_of(args, errors)
    before = log_filters.text_of(args, "before")
    if before and not (before.isdigit() and len(before) <= 18):
        errors["before"] = _("Not a page of this log.")
    log_filters.refuse(errors)
    return AuditQuery(actor_id=actor_id, action=action, date_from=date_from, date_to=date_to,
                      before=int(before) if before else None)


def audit_log(actor: Membership, query: AuditQuery | None = None, limit: int = AUDIT_PAGE) -> AuditPage:
    """The organization's audit events, newest first, narrowed by ``query``: one page of ``limit``
    and where the next one starts. Raises Forbidden without AUDIT_VIEW."""
    require(actor, Permission.AUDIT_VIEW)
    query = query or AuditQuery()
    event = audit.AuditEvent
    stmt = select(event).where(event.org_id == actor.org_id)
    if query.actor_id is not None:
        stmt = stmt.where(event.actor_id == query.actor_id)
    if query.action is not None:
        stmt = stmt.where(event.action == query.action)
    if query.date_from is not None:
        stmt = stmt.where(event.created_at >= datetime.combine(query.date_from, time.min, UTC))
    if query.date_to is not None and query.date_to < date.max:
        end = datetime.combine(query.date_to + timedelta(days=1), time.min, UTC)
        stmt = stmt.where(event.created_at < end)
    if query.before is not None:
        stmt = stmt.where(event.id < query.before)
    rows = list(db.session.scalars(stmt.order_by(event.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    events = rows[:limit]
    return AuditPage(events=events, older=events[-1].id if more else None)

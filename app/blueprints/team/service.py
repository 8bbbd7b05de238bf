"""Organizations and memberships. Flask-free: explicit actor and org, flush only.

Team never imports auth (auth builds on team): queries reach users through ``Membership.user``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

import phonenumbers
from phonenumbers import geocoder
from sqlalchemy import func, select

from app import audit, canonical
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
# Regions phonenumbers reads numbers for but has no English name of.
_COUNTRY_NAMES = {"AC": "Ascension Island", "TA": "Tristan da Cunha", "XK": "Kosovo"}


@cache
def timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """Every country phone numbers can be read in, as (code, "Name (+calling code)"), by name."""
    named = []
    for code in phonenumbers.SUPPORTED_REGIONS:
        name = geocoder._region_display_name(code, "en") or _COUNTRY_NAMES.get(code, code)
        named.append((code, f"{name} (+{phonenumbers.country_code_for_region(code)})"))
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


def _clean_org_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the organization a name.", {"name": "Enter a name."})
    if len(name) > ORG_NAME_MAX:
        raise DomainError("That name is too long.", {"name": f"Use at most {ORG_NAME_MAX} characters."})
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
                        default_country: str | None = _UNCHANGED,
                        ip: str | None = None) -> Organization:
    """Rename / re-zone the actor's organization, and set the country its contacts' phone numbers
    are read in (blank: none; left out: unchanged). Raises Forbidden or DomainError."""
    require(actor, Permission.ORG_UPDATE)
    org = actor.organization
    clean = _clean_org_name(name)
    if timezone not in timezones():
        raise DomainError("Pick a timezone from the list.", {"timezone": "Unknown timezone."})
    country = org.default_country
    if default_country is not _UNCHANGED:
        try:
            country = clean_country(default_country)
        except ValueError:
            raise DomainError("Pick a country from the list.",
                              {"default_country": "Unknown country."}) from None
    changes = {k: [old, new] for k, old, new in
               (("name", org.name, clean), ("timezone", org.timezone, timezone),
                ("default_country", org.default_country, country)) if old != new}
    org.name, org.timezone, org.default_country = clean, timezone, country
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
        raise DomainError("Pick one of the listed roles.", {"role": "Unknown role."}) from err
    member = get_in_org(Membership, member_id, actor.org_id, "Member")
    old_role = member.role_enum
    if old_role == new_role:
        return member
    actor_rank = RANK[actor.role_enum]
    if RANK[new_role] > actor_rank or RANK[old_role] > actor_rank or (
        Role.OWNER in (new_role, old_role) and actor.role_enum != Role.OWNER
    ):
        raise Forbidden("Only an owner can grant or remove the owner role, and nobody can act "
                        "above their own role.")
    if old_role == Role.OWNER and _owner_count(actor.org_id) <= 1:
        raise DomainError("An organization needs at least one owner. Make someone else owner first.",
                          {"role": "This is the last owner."})
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


def audit_log(actor: Membership, limit: int = 100) -> list[audit.AuditEvent]:
    require(actor, Permission.AUDIT_VIEW)
    return list(db.session.scalars(
        select(audit.AuditEvent).where(audit.AuditEvent.org_id == actor.org_id)
        .order_by(audit.AuditEvent.id.desc()).limit(limit)
    ))

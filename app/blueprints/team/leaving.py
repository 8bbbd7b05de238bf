"""A member leaves, or is removed, without losing anything: what was theirs is handed to a member
who stays, in the same transaction, and their access to the organization ends at once.

Team owns the membership, not the records, chats or accounts a member holds: it emits
``MemberRemoved`` and the domains that hold a member's things take them over ``in_transaction``
(CRM records' owner, chats' assignee, Telegram accounts given to them, API sign-ins of the
organization). After the commit their open sockets in the organization close (``team.live``).
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit
from app.blueprints.team.events import MemberRemoved
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import RANK, Permission, Role, require
from app.errors import DomainError, Forbidden
from app.events import emit
from app.extensions import db
from app.tenancy import get_in_org


def _owners(org_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.org_id == org_id, Membership.role == Role.OWNER.value)) or 0


def _heir(org_id: int, user_id: int | None, leaving: Membership) -> Membership:
    """The member who receives the leaver's things. Raises DomainError naming ``reassign_to``."""
    if not isinstance(user_id, int) or user_id == leaving.user_id:
        raise DomainError(_("Choose who receives their records, deals, chats and accounts."),
                          {"reassign_to": _("Pick another member of the organization.")})
    heir = db.session.scalar(select(Membership).where(Membership.org_id == org_id,
                                                      Membership.user_id == user_id))
    if heir is None:
        raise DomainError(_("Choose who receives their records, deals, chats and accounts."),
                          {"reassign_to": _("Pick another member of the organization.")})
    return heir


def _hand_over_and_end(member: Membership, heir: Membership, *, actor_id: int, left: bool,
                       ip: str | None) -> None:
    emit(MemberRemoved(org_id=member.org_id, actor_id=actor_id, user_id=member.user_id,
                       reassign_to=heir.user_id, left=left))
    audit.record("member.left" if left else "member.removed", org_id=member.org_id, actor_id=actor_id,
                 target=member, ip=ip, user_id=member.user_id, role=member.role, reassign_to=heir.user_id)
    db.session.delete(member)
    db.session.flush()


def remove_member(actor: Membership, member_id: int, *, reassign_to: int | None,
                  ip: str | None = None) -> Membership:
    """Remove member ``member_id`` of the actor's organization, handing their things to the member
    whose user id is ``reassign_to``. Returns the heir's membership.

    Raises Forbidden without MEMBERS_MANAGE, for oneself (leave instead), or above one's own role
    (only an owner removes an owner); DomainError for the last owner or a missing heir; NotFound
    for an id outside the organization."""
    require(actor, Permission.MEMBERS_MANAGE)
    member = get_in_org(Membership, member_id, actor.org_id, "Member")
    if member.id == actor.id:
        raise Forbidden(_("You cannot remove yourself: leave the organization from your organizations "
                          "page instead."))
    if RANK[member.role_enum] > RANK[actor.role_enum] or (
            member.role_enum == Role.OWNER and actor.role_enum != Role.OWNER):
        raise Forbidden(_("Only an owner can remove an owner, and nobody can remove a member above "
                          "their own role."))
    if member.role_enum == Role.OWNER and _owners(actor.org_id) <= 1:
        raise DomainError(_("An organization needs at least one owner. Make someone else owner first."))
    heir = _heir(actor.org_id, reassign_to, member)
    _hand_over_and_end(member, heir, actor_id=actor.user_id, left=False, ip=ip)
    return heir


def leave(membership: Membership, *, reassign_to: int | None, ip: str | None = None) -> Membership:
    """The member leaves the organization, handing their things to ``reassign_to``. Raises
    DomainError for the last owner (who must hand ownership on first) or a missing heir."""
    if membership.role_enum == Role.OWNER and _owners(membership.org_id) <= 1:
        raise DomainError(_("You are the organization's last owner. Make someone else owner before "
                            "you leave."))
    heir = _heir(membership.org_id, reassign_to, membership)
    _hand_over_and_end(membership, heir, actor_id=membership.user_id, left=True, ip=ip)
    return heir

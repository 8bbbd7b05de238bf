"""Invitations: owners and admins invite people by email with a role; a link joins them.

The link carries a signed token (itsdangerous, the app's secret) naming the invitation and a
random nonce whose hash is stored: it works once, for ``MAX_AGE``, and a resend draws a new nonce,
so the older link stops working. Accepting is auth's page (it may create the person's account):
it calls ``invitation_for_token`` and ``accept``. Flask-free: callers pass the secret, the
language, the links' builder and the request's facts, and commit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from app import audit, canonical
from app.blueprints.team.events import MemberJoined
from app.blueprints.team.models import Invitation, Membership
from app.blueprints.team.permissions import RANK, Permission, Role, require
from app.db_types import utcnow
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.events import emit
from app.extensions import db
from app.integrations.mail import register_template, send_mail

if TYPE_CHECKING:
    from app.blueprints.auth.public import User

MAX_AGE = timedelta(days=7)
_SALT = "team.invitation"

INVITATION_MAIL = register_template("team.invitation", _l("%(inviter)s invited you to %(org)s on Relay CRM"))

LinkBuilder = Callable[..., str]


def _hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _token(invitation_id: int, nonce: str, secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps([invitation_id, nonce])


def _clean_role(actor: Membership, raw: str) -> Role:
    """The role asked for, if the actor may grant it: nobody grants above their own role, and only
    an owner makes owners. Raises DomainError or Forbidden."""
    try:
        role = Role(raw)
    except ValueError:
        raise DomainError(_("Pick one of the listed roles."), {"role": _("Unknown role.")}) from None
    if RANK[role] > RANK[actor.role_enum] or (role == Role.OWNER and actor.role_enum != Role.OWNER):
        raise Forbidden(_("You can invite people with your own role or a lower one; only an owner "
                          "invites owners."))
    return role


def _clean_email(raw: str) -> str:
    try:
        return canonical.email(raw or "")
    except ValueError as err:
        raise DomainError(_("Enter a valid email address."), {"email": str(err)}) from None


def _is_member(org_id: int, email: str) -> bool:
    user = Membership.user.property.mapper.class_  # auth builds on team: reached, not imported
    return db.session.scalar(select(Membership.id).join(user, user.id == Membership.user_id).where(
        Membership.org_id == org_id, func.lower(user.email) == email)) is not None


def _pending(org_id: int, email: str) -> Invitation | None:
    return db.session.scalar(select(Invitation).where(
        Invitation.org_id == org_id, Invitation.email == email, Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None)))


def invite(actor: Membership, *, email: str, role: str, language: str | None, secret: str,
           link: LinkBuilder, ip: str | None = None) -> Invitation:
    """Invite ``email`` to the actor's organization as ``role`` and mail the link.

    Raises Forbidden without MEMBERS_MANAGE, with an unverified address of one's own, or for a
    role above one's own; DomainError for a bad address or role; Conflict when the address is a
    member already, or has a pending invitation (resend or revoke that one)."""
    require(actor, Permission.MEMBERS_MANAGE)
    if actor.user.email_verified_at is None:
        raise Forbidden(_("Confirm your own email address before inviting anyone: we mailed you a "
                          "link when you signed up, and can send it again."))
    clean_role = _clean_role(actor, role)
    email = _clean_email(email)
    if _is_member(actor.org_id, email):
        raise Conflict(_("%(email)s is already a member of this organization.", email=email),
                       {"email": _("Already a member.")})
    pending = _pending(actor.org_id, email)
    now = utcnow()
    if pending is not None and not pending.expired(now):
        raise Conflict(_("%(email)s is invited already. Send the invitation again or revoke it from "
                         "the list.", email=email), {"email": _("Invited already.")})
    if pending is not None:  # expired: it gives way to the new one
        pending.revoked_at = now
        db.session.flush()
    nonce = secrets.token_urlsafe(24)
    invitation = Invitation(org_id=actor.org_id, email=email, role=clean_role.value, language=language,
                            invited_by_id=actor.user_id, nonce_hash=_hash(nonce), created_at=now,
                            expires_at=now + MAX_AGE, sent_count=1, last_sent_at=now)
    db.session.add(invitation)
    db.session.flush()
    _mail(invitation, nonce, actor, secret, link)
    audit.record("member.invited", org_id=actor.org_id, actor_id=actor.user_id, target=invitation, ip=ip,
                 email=email, role=clean_role.value)
    return invitation


def _mail(invitation: Invitation, nonce: str, actor: Membership, secret: str, link: LinkBuilder) -> None:
    org = actor.organization
    send_mail(INVITATION_MAIL, to=invitation.email, language=invitation.language, org_id=invitation.org_id,
              dedupe_key=f"team.invitation:{invitation.id}:{invitation.sent_count}",
              context={"inviter": actor.user.name, "org": org.name, "role": invitation.role,
                       "days": MAX_AGE.days,
                       "accept_url": link("auth.accept_invitation",
                                          token=_token(invitation.id, nonce, secret))})


def _manageable(actor: Membership, invitation_id: int) -> Invitation:
    require(actor, Permission.MEMBERS_MANAGE)
    invitation = db.session.scalar(select(Invitation).where(Invitation.id == invitation_id,
                                                            Invitation.org_id == actor.org_id))
    if invitation is None or not invitation.pending:
        raise NotFound(_("That invitation is no longer pending."))
    return invitation


def resend(actor: Membership, invitation_id: int, *, secret: str, link: LinkBuilder,
           ip: str | None = None) -> Invitation:
    """Mail a pending invitation again with a fresh link, valid ``MAX_AGE`` from now; the link
    mailed before stops working. Raises NotFound for one that is not pending in the org."""
    invitation = _manageable(actor, invitation_id)
    if actor.user.email_verified_at is None:
        raise Forbidden(_("Confirm your own email address before inviting anyone: we mailed you a "
                          "link when you signed up, and can send it again."))
    nonce, now = secrets.token_urlsafe(24), utcnow()
    invitation.nonce_hash, invitation.expires_at = _hash(nonce), now + MAX_AGE
    invitation.sent_count += 1
    invitation.last_sent_at = now
    db.session.flush()
    _mail(invitation, nonce, actor, secret, link)
    audit.record("member.invitation_resent", org_id=actor.org_id, actor_id=actor.user_id, target=invitation,
                 ip=ip, email=invitation.email)
    return invitation


def revoke(actor: Membership, invitation_id: int, ip: str | None = None) -> Invitation:
    """Withdraw a pending invitation: its link stops working. Raises NotFound if not pending."""
    invitation = _manageable(actor, invitation_id)
    invitation.revoked_at = utcnow()
    db.session.flush()
    audit.record("member.invitation_revoked", org_id=actor.org_id, actor_id=actor.user_id,
                 target=invitation, ip=ip, email=invitation.email)
    return invitation


def pending_invitations(actor: Membership) -> list[Invitation]:
    """The organization's invitations not yet accepted or revoked (expired ones included: they
    can be sent again), newest first."""
    require(actor, Permission.MEMBERS_VIEW)
    return list(db.session.scalars(select(Invitation).where(
        Invitation.org_id == actor.org_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())))


def invitation_for_token(token: str, secret: str) -> Invitation:
    """The pending invitation a link is for. Raises DomainError saying why it cannot be used: not
    ours, superseded by a resend, expired, revoked, or accepted already."""
    invalid = _("This invitation link is not valid. Ask whoever invited you to send it again.")
    try:
        invitation_id, nonce = URLSafeTimedSerializer(secret, salt=_SALT).loads(
            token, max_age=int(MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise DomainError(_("This invitation has expired. Ask whoever invited you to send it "
                            "again.")) from None
    except (BadSignature, ValueError, TypeError):
        raise DomainError(invalid) from None
    invitation = db.session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None or not isinstance(nonce, str) or invitation.nonce_hash != _hash(nonce):
        raise DomainError(invalid)
    if invitation.accepted_at is not None:
        raise DomainError(_("This invitation was accepted already. Sign in to open the organization."))
    if invitation.revoked_at is not None:
        raise DomainError(_("This invitation was withdrawn. Ask whoever invited you if you should "
                            "still join."))
    if invitation.expired(utcnow()):
        raise DomainError(_("This invitation has expired. Ask whoever invited you to send it "
                            "again."))
    return invitation


def accept(invitation: Invitation, user: User, ip: str | None = None) -> Membership:
    """``user`` joins the invitation's organization with its role, and the invitation is spent.
    The person must be the one invited: their account's address is the invitation's (the link
    came to that inbox, which proves the address too). Raises Forbidden otherwise."""
    if user.email.lower() != invitation.email:
        raise Forbidden(_("This invitation is for %(email)s. Sign in with that address to accept it.",
                          email=invitation.email))
    now = utcnow()
    spent = db.session.execute(
        Invitation.__table__.update()
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None))
        .values(accepted_at=now, accepted_by_id=user.id)).rowcount
    if not spent:  # a second click raced the first
        raise DomainError(_("This invitation was accepted already. Sign in to open the organization."))
    db.session.expire(invitation, ["accepted_at", "accepted_by_id"])
    if user.email_verified_at is None:
        user.email_verified_at = now
    membership = db.session.scalar(select(Membership).where(Membership.org_id == invitation.org_id,
                                                            Membership.user_id == user.id))
    if membership is None:
        membership = Membership(org_id=invitation.org_id, user_id=user.id, role=invitation.role)
        db.session.add(membership)
        db.session.flush()
        emit(MemberJoined(org_id=invitation.org_id, actor_id=user.id, membership_id=membership.id,
                          user_id=user.id, role=invitation.role))
    audit.record("member.joined", org_id=invitation.org_id, actor_id=user.id, target=membership, ip=ip,
                 email=invitation.email, role=invitation.role, invited_by=invitation.invited_by_id)
    db.session.refresh(membership)
    return membership

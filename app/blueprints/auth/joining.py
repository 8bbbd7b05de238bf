"""Joining an organization through an invitation: as a person new to Relay (their account is
made here, its address proven by the link), or with the account they already have. Flask-free."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from app import audit
from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import hash_password
from app.blueprints.auth.service import check_password_strength, clean_name, find_user
from app.blueprints.team.public import Invitation, Membership, accept_invitation, invitation_for_token
from app.db_types import utcnow
from app.errors import Conflict
from app.extensions import db
from app.i18n import LANGUAGES


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    account: User | None  # the account the invited address already has, if any


def invited(token: str, secret: str) -> Invited:
    """The pending invitation a link is for and the account its address has. Raises DomainError
    for a link that cannot be used (``team.invitation_for_token`` says why)."""
    invitation = invitation_for_token(token, secret)
    return Invited(invitation, find_user(invitation.email))


def join_as_new_person(token: str, secret: str, *, name: str, password: str, language: str | None,
                       ip: str | None = None) -> Membership:
    """Make the invited person's account (name, password; the address the invitation's, proven
    by the link) and join them to the organization. Raises DomainError for a bad link, name or
    password, Conflict when the address has an account (sign in to join instead)."""
    found = invited(token, secret)
    if found.account is not None:
        raise Conflict(_("This address has an account already: sign in to accept the invitation."))
    name = clean_name(name)
    check_password_strength(password, found.invitation.email)
    user = User(email=found.invitation.email, name=name, password_hash=hash_password(password),
                language=language if language in LANGUAGES else None, email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    membership = accept_invitation(found.invitation, user, ip=ip)
    audit.record("auth.sign_up", org_id=membership.org_id, actor_id=user.id, target=user, ip=ip)
    return membership


def join_with_account(token: str, secret: str, user: User, ip: str | None = None) -> Membership:
    """``user`` (signed in) joins the organization the link invites their address to. Raises
    DomainError for a bad link, Forbidden for an invitation to another address."""
    return accept_invitation(invitation_for_token(token, secret), user, ip=ip)

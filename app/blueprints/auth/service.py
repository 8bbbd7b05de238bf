"""Sign-up and sign-in. Flask-free: callers pass the request's facts (ip) and commit."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from app import audit
from app.blueprints.auth import lockout
from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import (
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.blueprints.team.public import Membership, create_organization
from app.db_types import utcnow
from app.errors import Conflict, DomainError, TooManyAttempts, Unauthorized
from app.extensions import db

BAD_CREDENTIALS = "Email or password is incorrect."
NAME_MAX = 120  # a person's name, and an organization's, as their columns hold them


@dataclass
class SignUp:
    user: User
    membership: Membership


def normalize_email(raw: str) -> str:
    """Lower-cased, validated address. Raises DomainError on the ``email`` field."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise DomainError("Enter a valid email address.", {"email": str(err)}) from err


def check_password_strength(password: str, email: str) -> None:
    """Raises DomainError on the ``password`` field for a password too weak to keep."""
    if len(password) < MIN_LENGTH:
        raise DomainError("Choose a longer password.",
                          {"password": f"Use at least {MIN_LENGTH} characters."})
    if len(password) > 1024:
        raise DomainError("Choose a shorter password.", {"password": "Use at most 1024 characters."})
    if password.lower() == email.lower() or password.lower() in email.lower():
        raise DomainError("Choose another password.", {"password": "Do not use your email as password."})


def first_team_name(name: str) -> str:
    """"Ann's team" for a sign-up that names no organization; the name alone when that would be
    longer than an organization's name may be (the sign-up was refused on its name before)."""
    team = f"{name}'s team"
    return team if len(team) <= NAME_MAX else name


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def sign_up(*, email: str, password: str, name: str, organization_name: str,
            ip: str | None = None) -> SignUp:
    """Create a user, their first organization and make them its owner.

    Raises DomainError for invalid fields and Conflict when the email already has an account.
    """
    email = normalize_email(email)
    check_password_strength(password, email)
    name = name.strip()[:NAME_MAX]
    if not name:
        raise DomainError("Tell us your name.", {"name": "Enter your name."})
    if find_user(email) is not None:
        raise Conflict("An account with this email already exists. Sign in instead.",
                       {"email": "Already registered: sign in instead."})
    user = User(email=email, name=name, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    team = (organization_name or "").strip() or first_team_name(name)
    membership = create_organization(owner=user, name=team, ip=ip)
    audit.record("auth.sign_up", org_id=membership.org_id, actor_id=user.id, target=user, ip=ip)
    return SignUp(user=user, membership=membership)


def authenticate(*, email: str, password: str, ip: str | None = None) -> User:
    """The user these credentials belong to.

    Raises TooManyAttempts while the email is locked out and Unauthorized (one message, whatever
    was wrong) otherwise. Failures are audited; the caller commits even on failure.
    """
    email = (email or "").strip().lower()
    locked = lockout.locked_for(email)
    if locked:
        raise TooManyAttempts(_locked_message(locked))
    user = find_user(email) if email else None
    # Always run one Argon2 verification so a missing account costs the same time as a wrong password.
    if not verify_password(user.password_hash if user else None, password or ""):
        # Attempts on a real account show in its organization's audit log; unknown emails in none.
        home = default_membership(user) if user else None
        context = {"org_id": home.org_id if home else None, "actor_id": user.id if user else None,
                   "target": user, "ip": ip, "email": email[:254]}
        audit.record("auth.sign_in_failed", **context)
        if lockout.register_failure(email):
            audit.record("auth.locked_out", **context)
            raise TooManyAttempts(_locked_message(lockout.LOCK_SECONDS))
        raise Unauthorized(BAD_CREDENTIALS)
    lockout.clear(email)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_sign_in_at = utcnow()
    first = default_membership(user)
    audit.record("auth.sign_in", org_id=first.org_id if first else None, actor_id=user.id,
                 target=user, ip=ip)
    return user


def default_membership(user: User, preferred_org_id: int | None = None) -> Membership | None:
    """The membership to act through: the preferred org if the user belongs to it, else the oldest."""
    memberships = sorted(user.memberships, key=lambda m: m.id)
    for membership in memberships:
        if membership.org_id == preferred_org_id:
            return membership
    return memberships[0] if memberships else None


def _locked_message(seconds: int) -> str:
    return (f"Too many failed sign-ins. This account is locked for {lockout.minutes(seconds)} "
            "more minute(s); try again later or reset your password.")

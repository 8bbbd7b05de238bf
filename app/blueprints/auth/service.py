"""Sign-up and sign-in. Flask-free: callers pass the request's facts (ip) and commit."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import func, select

from app import audit, canonical
from app.blueprints.auth import lockout
from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import (
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.blueprints.team.public import Membership, create_organization
from app.canonical import reads_english
from app.db_types import utcnow
from app.errors import Conflict, DomainError, Forbidden, TooManyAttempts, Unauthorized
from app.extensions import db
from app.i18n import LANGUAGES

BAD_CREDENTIALS = _l("Email or password is incorrect.")
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
        raise DomainError(_("Enter a valid email address."), {"email": _explained(err)}) from err


def _explained(err: EmailNotValidError) -> str:
    """What is wrong with an address: email_validator's own words for an English reader (it
    writes no other language), a plain sentence of ours in any other."""
    return str(err) if reads_english() else _("This is not a valid email address.")


def check_password_strength(password: str, email: str) -> None:
    """Raises DomainError on the ``password`` field for a password too weak to keep."""
    if len(password) < MIN_LENGTH:
        raise DomainError(_("Choose a longer password."),
                          {"password": _("Use at least %(count)s characters.", count=MIN_LENGTH)})
    if len(password) > 1024:
        raise DomainError(_("Choose a shorter password."),
                          {"password": _("Use at most %(count)s characters.", count=1024)})
    if password.lower() == email.lower() or password.lower() in email.lower():
        raise DomainError(_("Choose another password."),
                          {"password": _("Do not use your email as password.")})


def first_team_name(name: str) -> str:
    """"Ann's team" ("Команда Ann" in Russian: the organization is named in the language its owner
    signed up in, and then it is theirs, not translated again) for a sign-up that names no
    organization; the name alone when that would be longer than an organization's name may be
    (the sign-up was refused on its name before)."""
    team = _("%(name)s's team", name=name)
    return team if len(team) <= NAME_MAX else name


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def clean_language(language: str | None) -> str | None:
    """One of the interface's languages (``app.i18n.LANGUAGES``), or None for none. Raises
    DomainError on the ``language`` field for anything else."""
    if language is None or language == "":
        return None
    if language not in LANGUAGES:
        raise DomainError(_("Pick a language from the list."), {"language": _("Unknown language.")})
    return language


def set_language(user: User, language: str | None) -> None:
    """Save the interface language ``user`` reads in on every device (None: let each browser's
    switcher cookie or Accept-Language decide). Raises DomainError for a language we do not have."""
    user.language = clean_language(language)
    db.session.flush()


def clean_name(name: str | None) -> str:
    """A person's name, trimmed. Raises DomainError on the ``name`` field if blank or too long."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Tell us your name."), {"name": _("Enter your name.")})
    if len(name) > NAME_MAX:
        raise DomainError(_("That name is too long."),
                          {"name": _("Use at most %(count)s characters.", count=NAME_MAX)})
    return name


def update_profile(user: User, *, name: str, language: str | None, timezone: str | None = None) -> User:
    """Rename ``user``, set their language and the time zone they read times in (None: each
    browser's clock). Raises DomainError naming the field at fault."""
    name = clean_name(name)
    language = clean_language(language)
    zone = (timezone or "").strip() or None
    if zone is not None and zone not in canonical.timezone_names():
        raise DomainError(_("Pick a time zone from the list."), {"timezone": _("Unknown time zone.")})
    user.name, user.language, user.timezone = name, language, zone
    db.session.flush()
    return user


def sign_up(*, email: str, password: str, name: str, organization_name: str,
            ip: str | None = None, language: str | None = None) -> SignUp:
    """Create a user, their first organization and make them its owner; ``language`` is the one
    they signed up in (kept as theirs; one we do not have is dropped, since nobody typed it).

    Raises DomainError for invalid fields and Conflict when the email already has an account.
    """
    email = normalize_email(email)
    check_password_strength(password, email)
    name = name.strip()[:NAME_MAX]
    if not name:
        raise DomainError(_("Tell us your name."), {"name": _("Enter your name.")})
    if find_user(email) is not None:
        raise Conflict(_("An account with this email already exists. Sign in instead."),
                       {"email": _("Already registered: sign in instead.")})
    user = User(email=email, name=name, password_hash=hash_password(password),
                language=language if language in LANGUAGES else None)
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
        raise Unauthorized(str(BAD_CREDENTIALS))
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
    return ngettext("Too many failed sign-ins. This account is locked for %(num)d more minute; "
                    "try again later or reset your password.",
                    "Too many failed sign-ins. This account is locked for %(num)d more minutes; "
                    "try again later or reset your password.", lockout.minutes(seconds))


def require_verified(user: User) -> None:
    """Raises Forbidden until ``user`` confirmed their address: what reaches beyond the app (inviting,
    connecting Telegram accounts, exporting the CRM) waits for a proven owner of the account."""
    if user.email_verified_at is None:
        raise Forbidden(_("Confirm your email address first: follow the link we mailed you, or send it "
                          "again from the banner at the top of the page."))

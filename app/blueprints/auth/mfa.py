"""Two-factor authentication: an authenticator app (TOTP, RFC 6238) and single-use recovery codes.

A factor is enrolled unconfirmed (its secret shown as a QR code and a key) and confirmed by a
first code from the app; confirming it issues ten recovery codes, shown once, of which only hashes
are kept. A code is accepted once: the factor remembers the time step of the last code it took and
refuses that step and every earlier one (one step of clock drift either way is allowed). Wrong
codes count against the user as failed sign-ins count against an email (``lockout``): five in
fifteen minutes lock the second step for fifteen minutes.

Secrets are encrypted at rest with keys derived (HKDF-SHA256) from the session keys that encrypt
Telegram sessions (``TELEGRAM_SESSION_KEYS``): the first encrypts, every one decrypts, so a key
can be rotated in the same way (``reencrypt_secrets`` moves the secrets to the newest key).

Flask-free: callers pass the keys (``MfaKeys``), the request's facts, and commit, on failure too
(a wrong code stays in the audit log and in the count).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from functools import cached_property

import pyotp
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, func, or_, select, update

from app import audit
from app.blueprints.auth import lockout
from app.blueprints.auth.models import RecoveryCode, TotpFactor, User
from app.blueprints.team.public import Membership, Permission, can
from app.db_types import utcnow
from app.errors import Conflict, DomainError, TooManyAttempts, Unauthorized
from app.extensions import db

ISSUER = "Relay CRM"
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after the server's is still accepted
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_GROUPS, _RECOVERY_GROUP = 3, 5  # "abcde-fghjk-mnpqr": about 74 random bits
_HKDF_INFO = b"relay-crm mfa totp secret"

clock = time.time  # the tests freeze it


class WrongCode(Unauthorized):
    """A code that is not right, or was already used (shown on the ``code`` field)."""


class MfaEnrolmentRequired(Unauthorized):
    """No tokens until the member has the second factor their organization requires (a 401: they
    cannot be authorized yet, whatever they send)."""

    code = "mfa_enrolment_required"


@dataclass(frozen=True)
class MfaKeys:
    """The keys secrets are encrypted with: ``Settings.session_keys``, newest first."""

    session_keys: tuple[str, ...]

    @cached_property
    def cipher(self) -> MultiFernet:
        if not self.session_keys:
            raise RuntimeError("No session keys: set TELEGRAM_SESSION_KEYS")
        return MultiFernet([Fernet(base64.urlsafe_b64encode(_derive(key))) for key in self.session_keys])


def _derive(key: str) -> bytes:
    """A key of its own for MFA secrets, from a session key (never the session key itself)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        base64.urlsafe_b64decode(key))


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, as authenticator apps take it typed in
    uri: str  # otpauth://totp/...: what the QR code holds

    @property
    def key_groups(self) -> str:
        """The secret in groups of four, easier to type."""
        return " ".join(self.secret[i:i + 4] for i in range(0, len(self.secret), 4))


# -- who must use it -----------------------------------------------------------------------------

def mfa_required_for(membership: Membership | None) -> bool:
    """Whether ``membership`` must sign in with a second factor.

    An organization's required MFA applies to the members whose role can connect or read Telegram
    accounts. Every role reads chats (an agent, those of the accounts given to them), so the
    permission matrix gives ``Permission.TELEGRAM_READ`` to every role and, when the organization
    requires MFA, every member needs it. The rule reads the matrix, so a read-only role without
    that permission, were one added, would be spared.
    """
    if membership is None or not membership.organization.require_mfa:
        return False
    return can(membership.role, Permission.TELEGRAM_READ)


def factor_of(user: User) -> TotpFactor | None:
    return db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user.id))


def enabled(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator (asked for at every sign-in)."""
    return db.session.scalar(select(TotpFactor.id).where(
        TotpFactor.user_id == user.id, TotpFactor.confirmed_at.is_not(None))) is not None


def needs_enrolment(user: User, membership: Membership | None) -> bool:
    """Whether ``user``, acting through ``membership``, must set up MFA before anything else."""
    return mfa_required_for(membership) and not enabled(user)


def check_api_sign_in(user: User, membership: Membership) -> None:
    """Raises MfaEnrolmentRequired when ``membership`` must use MFA and ``user`` has none: the API
    cannot enrol them, and tokens would bypass the requirement."""
    if needs_enrolment(user, membership):
        raise MfaEnrolmentRequired(_("Your organization requires two-factor authentication. Set it up "
                                     "in the web app (Your profile, Two-factor authentication), then "
                                     "sign in again."))


# -- enrolment -----------------------------------------------------------------------------------

def start_enrolment(user: User, keys: MfaKeys) -> Enrolment:
    """The secret to show ``user`` (created on first call, the same one until confirmed).

    Raises Conflict when their authenticator is already confirmed.
    """
    row = factor_of(user)
    if row is not None and row.confirmed_at is not None:
        raise Conflict(_("Two-factor authentication is already on."))
    if row is None:
        secret = pyotp.random_base32()
        row = TotpFactor(user_id=user.id, secret_encrypted=_encrypt(keys, secret))
        db.session.add(row)
        db.session.flush()
    else:
        secret = _decrypt(keys, row)
    return Enrolment(secret, pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER))


def confirm_enrolment(user: User, code: str, keys: MfaKeys, *, ip: str | None = None,
                      org_id: int | None = None) -> list[str]:
    """Turn ``user``'s authenticator on with a first code from it; returns the recovery codes
    (shown once: only their hashes are kept).

    Raises TooManyAttempts while locked, WrongCode for a code that is not right (counted and
    audited: the caller commits), DomainError when no enrolment was started.
    """
    _check_lock(user)
    row = factor_of(user)
    if row is None or row.confirmed_at is not None:
        raise DomainError(_("Start again: open the two-factor authentication page."))
    if not _accept_totp(row, keys, code):
        _fail(user, ip=ip, org_id=org_id)
    row.confirmed_at = utcnow()
    codes = _new_recovery_codes(user)
    lockout.clear(_lock_key(user))
    audit.record("auth.mfa_enabled", org_id=org_id, actor_id=user.id, target=user, ip=ip)
    db.session.flush()
    return codes


# -- the second step -----------------------------------------------------------------------------

def verify(user: User, code: str, keys: MfaKeys, *, ip: str | None = None, org_id: int | None = None) -> str:
    """Check a code from ``user``'s authenticator, or one of their recovery codes (spent now);
    returns which it was: "totp" or "recovery".

    Raises TooManyAttempts while locked (and when this failure locks), WrongCode otherwise;
    failures are audited and counted, so the caller commits on failure too.
    """
    _check_lock(user)
    row = factor_of(user)
    if row is None or row.confirmed_at is None:
        raise DomainError(_("Two-factor authentication is not on for this account."))
    kind = None
    if _is_totp(code) and _accept_totp(row, keys, code):
        kind = "totp"
    elif not _is_totp(code) and _spend_recovery_code(user, code):
        kind = "recovery"
        audit.record("auth.mfa_recovery_used", org_id=org_id, actor_id=user.id, target=user, ip=ip,
                     remaining=recovery_codes_left(user))
    if kind is None:
        _fail(user, ip=ip, org_id=org_id)
    lockout.clear(_lock_key(user))
    return kind


def disable(user: User, code: str, keys: MfaKeys, *, ip: str | None = None,
            org_id: int | None = None) -> None:
    """Turn ``user``'s two-factor authentication off; needs a fresh code (or a recovery code).
    Raises as ``verify``."""
    verify(user, code, keys, ip=ip, org_id=org_id)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    audit.record("auth.mfa_disabled", org_id=org_id, actor_id=user.id, target=user, ip=ip)
    db.session.flush()


def renew_recovery_codes(user: User, code: str, keys: MfaKeys, *, ip: str | None = None,
                         org_id: int | None = None) -> list[str]:
    """Ten new recovery codes for ``user`` (the old ones stop working); needs a fresh code.
    Raises as ``verify``."""
    verify(user, code, keys, ip=ip, org_id=org_id)
    codes = _new_recovery_codes(user)
    audit.record("auth.mfa_recovery_renewed", org_id=org_id, actor_id=user.id, target=user, ip=ip)
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def reencrypt_secrets(keys: MfaKeys) -> int:
    """Encrypt every secret with the newest key (after one is added); returns how many."""
    rows = list(db.session.scalars(select(TotpFactor)))
    for row in rows:
        row.secret_encrypted = keys.cipher.rotate(row.secret_encrypted.encode()).decode()
    db.session.flush()
    return len(rows)


# -- inside --------------------------------------------------------------------------------------

def _encrypt(keys: MfaKeys, secret: str) -> str:
    return keys.cipher.encrypt(secret.encode()).decode()


def _decrypt(keys: MfaKeys, row: TotpFactor) -> str:
    try:
        return keys.cipher.decrypt(row.secret_encrypted.encode()).decode()
    except InvalidToken:
        raise RuntimeError("An MFA secret no session key decrypts: was a key dropped too early?") from None


def _digits(code: str | None) -> str:
    return "".join((code or "").split())


def _is_totp(code: str | None) -> bool:
    cleaned = _digits(code)
    return len(cleaned) == 6 and cleaned.isascii() and cleaned.isdigit()


def _accept_totp(row: TotpFactor, keys: MfaKeys, code: str | None) -> bool:
    """Whether ``code`` is the authenticator's for a step near now that is later than the last one
    accepted; if so, that step becomes the last (atomically: of two requests with one code, one
    wins)."""
    if not _is_totp(code):
        return False
    code = _digits(code)
    totp = pyotp.TOTP(_decrypt(keys, row), interval=STEP_SECONDS)
    current = int(clock() // STEP_SECONDS)
    steps = [current + d for d in range(-DRIFT_STEPS, DRIFT_STEPS + 1)]
    step = next((s for s in steps if hmac.compare_digest(totp.generate_otp(s), code)), None)
    if step is None:
        return False
    taken = db.session.execute(
        update(TotpFactor).where(TotpFactor.id == row.id,
                                 or_(TotpFactor.last_step.is_(None), TotpFactor.last_step < step))
        .values(last_step=step).execution_options(synchronize_session=False)).rowcount
    db.session.expire(row, ["last_step"])
    return bool(taken)


def _normal_recovery_code(code: str | None) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _recovery_hash(user: User, code: str) -> str:
    return hashlib.sha256(f"{user.id}:{_normal_recovery_code(code)}".encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["-".join("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_GROUP))
                      for _ in range(_RECOVERY_GROUPS)) for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, c)) for c in codes)
    db.session.flush()
    return codes


def _spend_recovery_code(user: User, code: str | None) -> bool:
    if len(_normal_recovery_code(code)) != _RECOVERY_GROUPS * _RECOVERY_GROUP:
        return False
    return bool(db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == _recovery_hash(user, code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)).rowcount)


def _lock_key(user: User) -> str:
    return f"mfa:{user.id}"  # no email has no "@": it cannot share an email's count


def _check_lock(user: User) -> None:
    locked = lockout.locked_for(_lock_key(user))
    if locked:
        raise TooManyAttempts(_locked_message(locked))


def _fail(user: User, *, ip: str | None, org_id: int | None) -> None:
    audit.record("auth.mfa_failed", org_id=org_id, actor_id=user.id, target=user, ip=ip)
    if lockout.register_failure(_lock_key(user)):
        audit.record("auth.mfa_locked_out", org_id=org_id, actor_id=user.id, target=user, ip=ip)
        raise TooManyAttempts(_locked_message(lockout.LOCK_SECONDS))
    message = _("That code is not right, or it was already used.")
    raise WrongCode(message, {"code": _("Enter the current code from your authenticator app, or a "
                                        "recovery code.")})


def _locked_message(seconds: int) -> str:
    return ngettext("Too many wrong codes. Try again in %(num)d minute.",
                    "Too many wrong codes. Try again in %(num)d minutes.", lockout.minutes(seconds))

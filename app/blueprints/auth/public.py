"""What other domains may use of auth: the user, finding one, hashing a password (the demo),
bearer tokens (the API's guard), a browser session's current role (the socket), saving the
language a person reads in (the switcher), the check that a person confirmed their address, and
re-encrypting two-factor secrets when the keys rotate (the CLI).
The rest of the package is private."""

from app.blueprints.auth.browser_sessions import session_role
from app.blueprints.auth.mfa import MfaKeys
from app.blueprints.auth.mfa import reencrypt_secrets as reencrypt_mfa_secrets
from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import hash_password
from app.blueprints.auth.service import find_user, require_verified, set_language
from app.blueprints.auth.tokens import TokenSettings, authenticate_access

__all__ = ["MfaKeys", "TokenSettings", "User", "authenticate_access", "find_user", "hash_password",
           "reencrypt_mfa_secrets", "require_verified", "session_role", "set_language"]

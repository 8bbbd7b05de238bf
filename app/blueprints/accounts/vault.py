"""Telegram sessions at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256), keys rotatable.

A StringSession is the whole account: whoever holds it reads and writes as the user. It is stored
only as ciphertext; the keys come from the environment (``TELEGRAM_SESSION_KEYS``), newest first.
Decryption tries every key, encryption uses the newest, and ``rotate`` re-encrypts with the newest
so an old key can be retired.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class VaultError(Exception):
    """A ciphertext no configured key opens (a retired key, or tampering)."""


class SessionVault:
    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        if not keys:
            raise ValueError("the session vault needs at least one key")
        self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])

    def seal(self, session: str) -> str:
        return self._fernet.encrypt(session.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise VaultError("This session cannot be decrypted with the configured keys.") from None

    def rotate(self, sealed: str) -> str:
        """The same session, sealed with the newest key."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise VaultError("This session cannot be decrypted with the configured keys.") from None


def app_vault() -> SessionVault:
    """The vault with this app's configured keys."""
    from flask import current_app

    return SessionVault(current_app.config["SETTINGS"].session_keys)


def rotate_all(vault: SessionVault) -> int:
    """Re-seal every stored session (and proxy password) with the newest key; returns how many."""
    from sqlalchemy import select

    from app.blueprints.accounts.models import BDAccount
    from app.extensions import db

    count = 0
    for account in db.session.scalars(select(BDAccount).where(BDAccount.sealed_session.is_not(None))):
        account.sealed_session = vault.rotate(account.sealed_session)
        if account.proxy and account.proxy.get("sealed_password"):
            sealed = vault.rotate(account.proxy["sealed_password"])
            account.proxy = {**account.proxy, "sealed_password": sealed}
        count += 1
    db.session.flush()
    return count

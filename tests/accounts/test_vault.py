"""Telegram sessions are sealed at rest and survive a key rotation."""

import pytest
from cryptography.fernet import Fernet

from app.blueprints.accounts.models import BDAccount
from app.blueprints.accounts.vault import SessionVault, VaultError, rotate_all
from app.extensions import db
from tests.factories import make_member

SESSION = "1BVtsOKABu0aVwoZ9...a-string-session"


def test_a_sealed_session_opens_only_with_a_configured_key():
    old, other = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SessionVault([old]).seal(SESSION)
    assert SESSION not in sealed and SessionVault([old]).open(sealed) == SESSION
    with pytest.raises(VaultError):
        SessionVault([other]).open(sealed)
    with pytest.raises(VaultError):
        SessionVault([old]).open(sealed[:-4] + "AAAA")  # tampered


def test_rotation_re_seals_with_the_newest_key_so_the_old_one_can_go(owner):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    account = BDAccount(org_id=owner.org_id, phone="+9996621234", sealed_session=SessionVault([old]).seal(SESSION),
                        proxy={"host": "10.0.0.1", "sealed_password": SessionVault([old]).seal("pw")})
    db.session.add(account)
    db.session.commit()
    assert rotate_all(SessionVault([new, old])) == 1
    db.session.commit()
    assert SessionVault([new]).open(account.sealed_session) == SESSION
    assert SessionVault([new]).open(account.proxy["sealed_password"]) == "pw"


def test_the_rotate_command_uses_the_apps_keys(app):
    from tests.conftest import TEST_SESSION_KEY

    member = make_member()
    db.session.add(BDAccount(org_id=member.org_id, phone="+9996621235",
                             sealed_session=SessionVault([TEST_SESSION_KEY]).seal(SESSION)))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["rotate-session-keys"])
    assert result.exit_code == 0 and "Re-encrypted 1 session(s)" in result.output
    account = db.session.query(BDAccount).filter_by(phone="+9996621235").one()
    assert SessionVault([TEST_SESSION_KEY]).open(account.sealed_session) == SESSION


def test_the_rotate_command_re_encrypts_two_factor_secrets_with_the_newest_key(app):
    from dataclasses import replace

    from cryptography.fernet import Fernet

    from app.blueprints.auth import mfa
    from app.blueprints.auth.models import TotpFactor
    from tests.conftest import TEST_SESSION_KEY
    from tests.factories import give_totp

    member = make_member()
    secret = give_totp(member.user)
    newest = Fernet.generate_key().decode()
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(settings, session_keys=(newest, TEST_SESSION_KEY))
    try:
        result = app.test_cli_runner().invoke(args=["rotate-session-keys"])
    finally:
        app.config["SETTINGS"] = settings
    assert result.exit_code == 0 and "1 two-factor secret(s)" in result.output
    db.session.expire_all()
    row = db.session.query(TotpFactor).one()
    assert mfa._decrypt(mfa.MfaKeys((newest,)), row) == secret  # the old key is no longer needed

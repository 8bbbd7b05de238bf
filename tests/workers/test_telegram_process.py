"""``python -m workers.telegram`` as the Procfile runs it: connects a stored account, stops cleanly."""

from __future__ import annotations

from flask import current_app

from app.blueprints.accounts.models import BDAccount
from app.blueprints.accounts.vault import SessionVault
from app.extensions import db, redis_store
from app.integrations.telegram import leases
from app.integrations.telegram.sandbox import new_session_string
from tests.factories import make_org
from tests.integrations.telegram.runtime_kit import account_row, eventually, online


def test_the_telegram_process_connects_a_stored_sandbox_account_and_lets_go_on_sigterm(telegram_process):
    vault = SessionVault(current_app.config["SETTINGS"].session_keys)
    account = BDAccount(org_id=make_org().id, phone="+9996621234", status="offline",
                        sealed_session=vault.seal(new_session_string()))
    db.session.add(account)
    db.session.commit()
    eventually(lambda: online(account.id), timeout=30, what="the account online")
    assert leases.holder(redis_store.client, account.id) is not None
    assert telegram_process.stop() == 0, telegram_process.output()
    assert account_row(account.id).status == "offline", telegram_process.output()
    assert leases.holder(redis_store.client, account.id) is None

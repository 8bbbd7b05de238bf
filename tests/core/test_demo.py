"""Demo data: the organization, its team and records, and its sandbox Telegram accounts."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import demo
from app.blueprints.accounts.models import BDAccount, bd_account_agent
from app.blueprints.accounts.vault import app_vault
from app.extensions import db
from app.integrations.telegram.sandbox import app_world


def test_the_demo_has_two_sandbox_accounts_the_telegram_process_can_re_admit():
    assert current_app.config["SETTINGS"].telegram_api_id is None
    assert demo.seed()
    db.session.commit()

    accounts = list(db.session.scalars(select(BDAccount).order_by(BDAccount.phone)))
    assert [a.phone for a in accounts] == ["+9996621234", "+9996631234"]
    world = app_world()
    for account in accounts:
        assert world.adopt_session(app_vault().open(account.sealed_session), account.phone)
    agents = db.session.execute(select(bd_account_agent)).all()
    assert [row.account_id for row in agents] == [accounts[1].id]
    assert not demo.seed()  # a second run changes nothing

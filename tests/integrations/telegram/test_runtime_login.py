"""Signing accounts in through the runtime, as the web drives it over the control channel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import current_app
from telethon.sessions import StringSession

from app.blueprints.accounts.models import BDAccount
from app.blueprints.accounts.vault import SessionVault
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.i18n import in_words
from app.integrations.telegram import control, leases
from app.integrations.telegram.control import ControlError
from tests.factories import make_org
from tests.integrations.telegram.conftest import PHONE
from tests.integrations.telegram.runtime_kit import account_row, eventually, make_account, online

TWO_STEP = "9996645678"


def new_account(phone: str, proxy: dict | None = None) -> BDAccount:
    """What the web writes before the first login step."""
    account = BDAccount(org_id=make_org().id, phone=f"+{phone}", status="connecting", proxy=proxy)
    db.session.add(account)
    db.session.commit()
    return account


def call(op: str, account: BDAccount, **args):
    return control.call(redis_store.client, op, account_id=account.id, timeout=10, **args)


def refused(op: str, account: BDAccount, **args) -> ControlError:
    with pytest.raises(ControlError) as refusal:
        call(op, account, **args)
    return refusal.value


def opened_session(account_id: int) -> str:
    sealed = account_row(account_id).sealed_session
    return SessionVault(current_app.config["SETTINGS"].session_keys).open(sealed)


def test_login_with_the_code_seals_the_session_and_brings_the_account_online(runtime, world, ann):
    world.person_writes(ann.profile.id, PHONE, "welcome!")
    account = new_account(PHONE)
    rt = runtime()

    assert call("login.start", account) == {"next": "code"}
    assert leases.holder(redis_store.client, account.id) == rt.worker_id
    assert call("login.code", account, code="22 222") == {"next": "done"}

    row = eventually(lambda: online(account.id) and account_row(account.id), what="online and synced")
    me = world.account(PHONE).profile
    assert (row.telegram_user_id, row.username, row.display_name) == (me.id, "dana_bd", "Dana Sales")
    assert opened_session(account.id).startswith("1")  # a StringSession, stored only sealed
    assert "welcome!" not in row.sealed_session


def test_a_wrong_code_is_refused_in_words_and_the_right_one_still_works(runtime, world):
    account = new_account(PHONE)
    runtime()
    call("login.start", account)

    refusal = refused("login.code", account, code="12345")

    assert refusal.code == "code_invalid"
    assert refusal.message == "That code is not right. Check the latest code Telegram sent and try again."
    assert call("login.code", account, code="22222") == {"next": "done"}


def test_two_step_accounts_ask_for_the_password_after_the_code(runtime, world):
    world.add_account(TWO_STEP, first_name="Two", password="correct horse", hint="a horse")
    account = new_account(TWO_STEP)
    runtime()
    call("login.start", account)

    assert call("login.code", account, code="44444") == {"next": "password", "hint": "a horse"}
    assert in_words(account_row(account.id).status_detail).startswith("Enter the account's two-step")
    assert refused("login.password", account, password="wrong horse").code == "password_invalid"
    assert call("login.password", account, password="correct horse") == {"next": "done"}

    eventually(lambda: online(account.id), what="online")


def test_a_number_telegram_rejects_is_refused_and_the_login_ends(runtime, world):
    account = new_account("15551234567")
    runtime()

    refusal = refused("login.start", account)

    assert refusal.code == "phone_invalid"
    row = account_row(account.id)
    assert row.status == "needs_login" and row.sealed_session is None
    assert leases.holder(redis_store.client, account.id) is None


def test_a_code_without_a_login_in_progress_is_refused(runtime, world):
    account = new_account(PHONE)
    runtime()

    assert refused("login.code", account, code="22222").code == "login_expired"


def test_qr_login_finishes_by_itself_when_the_phone_scans_it(runtime, world):
    account = new_account(PHONE)
    runtime()

    world.qr_ttl = 3  # codes about to run out are renewed when the page polls
    first = call("login.qr", account)
    world.qr_ttl = 30
    renewed = call("login.qr", account, refresh=True)
    assert first["url"].startswith("tg://login?token=") and renewed["url"] != first["url"]
    kept = call("login.qr", account, refresh=True)  # still good: the page keeps showing it
    assert kept == renewed
    world.accept_qr(kept["url"], PHONE)

    eventually(lambda: online(account.id), what="online after the scan")
    assert call("login.qr", account, refresh=True) == {"next": "done"}


def test_qr_login_on_a_two_step_account_waits_for_the_password(runtime, world):
    world.add_account(TWO_STEP, password="pw")
    account = new_account(TWO_STEP)
    runtime()

    world.accept_qr(call("login.qr", account)["url"], TWO_STEP)
    eventually(lambda: in_words(account_row(account.id).status_detail).startswith("Enter the account's"),
               what="the password asked for")
    assert call("login.qr", account, refresh=True) == {"next": "password", "hint": ""}
    assert call("login.password", account, password="pw") == {"next": "done"}

    eventually(lambda: online(account.id), what="online")


def test_a_login_left_unfinished_is_dropped(runtime, world):
    account = new_account(PHONE)
    rt = runtime(login_idle_seconds=0.3)
    call("login.start", account)

    eventually(lambda: account_row(account.id).status == "needs_login", what="the login dropped")
    assert account.id not in rt.logins
    assert leases.holder(redis_store.client, account.id) is None


def test_disconnecting_logs_out_on_telegram_and_forgets_the_session(runtime, world):
    account = make_account(make_org(), world, PHONE)
    rt = runtime()
    eventually(lambda: online(account.id), what="online")
    session = opened_session(account.id)

    assert call("account.disconnect", account) == {"disconnected": True}

    row = account_row(account.id)
    assert (row.status, row.sealed_session) == ("needs_login", None)
    assert account.id not in rt.connections
    assert leases.holder(redis_store.client, account.id) is None
    assert world.sessions[StringSession(session).auth_key.key_id].account is None  # logged out


def test_a_login_whose_process_died_is_not_left_connecting_forever(runtime, world):
    account = new_account(PHONE)
    account.updated_at = utcnow() - timedelta(minutes=11)
    db.session.commit()

    runtime(login_idle_seconds=600)

    row = eventually(lambda: (r := account_row(account.id)).status == "needs_login" and r, what="ended")
    assert in_words(row.status_detail) == "The sign-in was not finished. Start again."

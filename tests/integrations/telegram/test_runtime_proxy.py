"""An account's proxy, as the settings page stores it, reaches Telethon's connection, and only
once its host resolved to public addresses: the telegram process dials the address it checked."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from telethon import TelegramClient

from app.blueprints.accounts.models import AccountStatus, BDAccount
from app.blueprints.accounts.service import clean_proxy
from app.blueprints.accounts.vault import SessionVault
from app.extensions import db, redis_store
from app.i18n import in_words
from app.integrations.telegram import control
from app.integrations.telegram.control import ControlError
from app.integrations.telegram.runtime.clients import build_client, telethon_proxy
from app.integrations.telegram.runtime.proxy_guard import ProxyRefused
from tests.conftest import TEST_SESSION_KEY
from tests.factories import make_org
from tests.integrations.telegram.conftest import PHONE, async_test
from tests.integrations.telegram.runtime_kit import account_row, eventually, make_account

PROXY_NAME = "proxy.example.com"
PUBLIC = "93.184.216.34"


def test_a_stored_proxy_becomes_telethons_proxy_with_its_password_opened(settings):
    from app.blueprints.accounts.store import opened_proxy

    vault = SessionVault([TEST_SESSION_KEY])
    stored = clean_proxy({"scheme": "socks4", "host": PROXY_NAME, "port": "1080",
                          "username": "bd", "password": "s3cret"}, vault)
    assert "s3cret" not in str(stored)

    proxy = telethon_proxy(opened_proxy(stored, vault))
    assert proxy == {"proxy_type": "socks4", "addr": PROXY_NAME, "port": 1080, "username": "bd",
                     "password": "s3cret", "rdns": True}
    client = build_client(real_telegram(settings), None, None, proxy=opened_proxy(stored, vault))
    assert isinstance(client, TelegramClient)
    assert client._proxy == proxy  # what Telethon's connection dials through (python-socks)


def test_no_proxy_means_a_direct_connection():
    assert telethon_proxy(None) is None
    assert telethon_proxy({"scheme": "socks5", "host": ""}) is None


# -- the check where the proxy is dialled ----------------------------------------------------------

def real_telegram(settings, **changes):
    return replace(settings, telegram_api_id=12345, telegram_api_hash="0" * 32, **changes)


def stored_proxy(host: str = PROXY_NAME) -> dict:
    return {"scheme": "socks5", "host": host, "port": 1080, "username": None}


@pytest.fixture
def resolver(monkeypatch):
    """DNS for the proxy's name: ``resolver[name] = [addresses]``; other names resolve as usual.
    Patched at the one seam name resolution goes through (``socket.getaddrinfo``); what it was
    asked is in ``resolver.asked``."""
    real = socket.getaddrinfo

    class Answers(dict):
        asked: list[str]

    answers = Answers()
    answers.asked = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        answers.asked.append(host)
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port, 0, 0)) if ":" in a else
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize("addresses", [["127.0.0.1"], [PUBLIC, "10.0.0.5"], ["::ffff:192.168.1.1"], ["fe80::1"]])
@async_test
async def test_a_proxy_name_resolving_to_any_private_address_is_refused_before_dialling(settings, resolver,
                                                                                       addresses):
    resolver[PROXY_NAME] = addresses
    client = build_client(real_telegram(settings), None, None, proxy=stored_proxy())
    with pytest.raises(ProxyRefused) as refused:
        await client.connect()
    assert f"{PROXY_NAME} resolves to" in in_words(refused.value.message)
    assert not client.is_connected() and resolver.asked == [PROXY_NAME]


@async_test
async def test_a_proxy_saved_on_a_loopback_address_before_the_rule_is_refused_unresolved(settings, resolver):
    client = build_client(real_telegram(settings), None, None, proxy=stored_proxy("127.1"))
    with pytest.raises(ProxyRefused) as refused:
        await client.connect()
    assert "127.0.0.1 is a loopback" in in_words(refused.value.message) and resolver.asked == []


@async_test
async def test_a_public_proxy_is_dialled_by_the_address_that_was_checked(settings, resolver):
    resolver[PROXY_NAME] = [PUBLIC]
    client = build_client(real_telegram(settings), None, None, proxy=stored_proxy())
    await client.vet_proxy()
    assert client._proxy["addr"] == PUBLIC  # Telethon never resolves the name again (rebinding)


@async_test
async def test_the_operator_setting_lets_a_private_proxy_through_unresolved(settings, resolver):
    resolver[PROXY_NAME] = ["10.0.0.5"]
    client = build_client(real_telegram(settings, telegram_allow_private_proxies=True), None, None,
                          proxy=stored_proxy())
    await client.vet_proxy()
    assert client._proxy["addr"] == PROXY_NAME and resolver.asked == []


def test_a_held_account_whose_proxy_resolves_locally_says_why_and_never_dials(app, settings, monkeypatch,
                                                                           resolver, runtime, world):
    monkeypatch.setitem(app.config, "SETTINGS", real_telegram(settings))
    resolver[PROXY_NAME] = ["127.0.0.1"]  # public when saved; rebound since
    account = make_account(make_org(), world, PHONE, status=AccountStatus.OFFLINE)
    account.proxy = stored_proxy()
    db.session.commit()

    runtime()

    row = eventually(lambda: "proxy is refused" in in_words(account_row(account.id).status_detail)
                     and account_row(account.id), what="the refusal on the account")
    assert row.status == AccountStatus.CONNECTING and "resolves to 127.0.0.1" in in_words(row.status_detail)
    assert row.sealed_session is not None  # a proxy problem is no reason to sign the account out


def test_a_login_through_a_proxy_resolving_locally_is_refused_on_the_proxy(app, settings, monkeypatch,
                                                                           resolver, runtime):
    monkeypatch.setitem(app.config, "SETTINGS", real_telegram(settings))
    resolver[PROXY_NAME] = ["192.168.0.10"]
    account = BDAccount(org_id=make_org().id, phone=f"+{PHONE}", status="connecting", proxy=stored_proxy())
    db.session.add(account)
    db.session.commit()
    runtime()

    with pytest.raises(ControlError) as refusal:
        control.call(redis_store.client, "login.start", account_id=account.id, timeout=10)

    assert refusal.value.code == "proxy_refused" and "resolves to 192.168.0.10" in refusal.value.message
    row = account_row(account.id)
    assert row.status == AccountStatus.NEEDS_LOGIN and "proxy is refused" in in_words(row.status_detail)

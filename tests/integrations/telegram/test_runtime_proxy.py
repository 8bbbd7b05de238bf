"""An account's proxy, as the settings page stores it, reaches Telethon's connection."""

from telethon import TelegramClient

from app.blueprints.accounts.service import clean_proxy
from app.blueprints.accounts.vault import SessionVault
from app.integrations.telegram.runtime.clients import build_client, telethon_proxy
from tests.conftest import TEST_SESSION_KEY


def test_a_stored_proxy_becomes_telethons_proxy_with_its_password_opened(settings):
    from dataclasses import replace

    from app.blueprints.accounts.store import opened_proxy

    vault = SessionVault([TEST_SESSION_KEY])
    stored = clean_proxy({"scheme": "socks4", "host": "proxy.example.com", "port": "1080",
                          "username": "bd", "password": "s3cret"}, vault)
    assert "s3cret" not in str(stored)

    proxy = telethon_proxy(opened_proxy(stored, vault))
    assert proxy == {"proxy_type": "socks4", "addr": "proxy.example.com", "port": 1080, "username": "bd",
                     "password": "s3cret", "rdns": True}
    client = build_client(replace(settings, telegram_api_id=12345, telegram_api_hash="0" * 32), None, None,
                          proxy=opened_proxy(stored, vault))
    assert isinstance(client, TelegramClient)
    assert client._proxy == proxy  # what Telethon's connection dials through (python-socks)


def test_no_proxy_means_a_direct_connection():
    assert telethon_proxy(None) is None
    assert telethon_proxy({"scheme": "socks5", "host": ""}) is None

"""Accounts: numbers, duplicates, sight per role, proxies, settings, agents, removal."""

import pytest
from sqlalchemy import func, select

from app.blueprints.accounts import service
from app.blueprints.accounts.models import BDAccount, bd_account_agent
from app.blueprints.accounts.vault import SessionVault
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.permissions import Role
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.integrations.telegram.control import ControlError, Unavailable
from tests.conftest import TEST_SESSION_KEY
from tests.factories import add_member, give_account, make_account, make_chat, make_member, make_message

VAULT = SessionVault((TEST_SESSION_KEY,))


def never_called(op, **kwargs):
    raise AssertionError(f"unexpected control call {op}")


@pytest.mark.parametrize(("raw", "expected"), [("+44 7700 900123", "+447700900123"),
                                               ("0044 7700 900123", "+447700900123"),
                                               ("9996620001", "+9996620001")])
def test_numbers_are_stored_in_e164(raw, expected):
    assert service.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "not a phone"])
def test_a_bad_number_is_a_phone_field_error(raw):
    with pytest.raises(DomainError) as caught:
        service.normalize_phone(raw)
    assert "phone" in caught.value.fields


def test_an_accounts_number_without_its_country_code_is_read_in_the_organizations_country(owner):
    with pytest.raises(DomainError):
        service.create_account(owner, "8 916 111-22-33", VAULT)  # no default country: ambiguous
    db.session.rollback()
    owner.organization.default_country = "RU"
    assert service.create_account(owner, "8 916 111-22-33", VAULT).phone == "+79161112233"


def test_a_number_already_connected_in_the_organization_is_refused(owner):
    service.create_account(owner, "+447700900123", VAULT)
    with pytest.raises(DomainError) as caught:
        service.create_account(owner, "+44 7700 900123", VAULT)
    assert "already connected" in caught.value.fields["phone"]
    other = make_member(Role.OWNER)
    assert service.create_account(other, "+447700900123", VAULT).org_id == other.org_id


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_only_owners_and_admins_connect_accounts(owner, role):
    member = add_member(owner.organization, role=role)
    with pytest.raises(Forbidden):
        service.create_account(member, "+447700900123", VAULT)


def test_managers_see_every_account_and_agents_the_ones_given_them(owner):
    first, second = make_account(owner.organization), make_account(owner.organization)
    manager = add_member(owner.organization, role=Role.MANAGER)
    agent = add_member(owner.organization, role=Role.AGENT)
    give_account(second, agent)
    assert [a.id for a in service.visible_accounts(manager)] == [first.id, second.id]
    assert [a.id for a in service.visible_accounts(agent)] == [second.id]
    with pytest.raises(NotFound):
        service.get_account(agent, first.id)
    with pytest.raises(NotFound):
        service.get_account(make_member(Role.OWNER), first.id)  # another organization's


def test_a_proxy_password_is_sealed_and_never_shown(owner):
    account = make_account(owner.organization)
    service.set_proxy(owner, account, {"scheme": "socks5", "host": "proxy.example.com", "port": "1080",
                                       "username": "bob", "password": "s3cret-proxy"}, VAULT)
    assert "s3cret-proxy" not in str(account.proxy)
    assert VAULT.open(account.proxy["sealed_password"]) == "s3cret-proxy"
    shown = service.proxy_public(account.proxy)
    assert shown == {"scheme": "socks5", "host": "proxy.example.com", "port": 1080, "username": "bob",
                     "has_password": True}
    service.set_proxy(owner, account, {"scheme": "socks5", "host": "proxy.example.com", "port": 1081}, VAULT)
    assert VAULT.open(account.proxy["sealed_password"]) == "s3cret-proxy"  # a blank password keeps it
    service.set_proxy(owner, account, {"host": ""}, VAULT)
    assert account.proxy is None


def test_a_bad_proxy_names_its_fields(owner):
    account = make_account(owner.organization)
    with pytest.raises(DomainError) as caught:
        service.set_proxy(owner, account, {"scheme": "ftp", "host": "bad host!", "port": "99999"}, VAULT)
    assert set(caught.value.fields) == {"proxy_scheme", "proxy_host", "proxy_port"}


def test_settings_are_validated_and_only_differences_stored(owner):
    account = make_account(owner.organization)
    effective = service.update_config(owner, account, {"new_chats_per_day": 10})
    assert effective["new_chats_per_day"] == 10 and effective["messages_per_hour"] == 200
    assert account.config == {"new_chats_per_day": 10}
    with pytest.raises(DomainError) as caught:
        service.update_config(owner, account, {"messages_per_hour": 0, "colour": 3})
    assert set(caught.value.fields) == {"messages_per_hour", "colour"}


def test_agents_are_members_of_the_organization(owner):
    account = make_account(owner.organization)
    agent = add_member(owner.organization, role=Role.AGENT)
    stranger = make_member(Role.AGENT)
    assert service.set_agents(owner, account, [agent.user_id]) == [agent.user_id]
    with pytest.raises(DomainError):
        service.set_agents(owner, account, [stranger.user_id])
    assert service.set_agents(owner, account, []) == []
    assert db.session.scalar(select(func.count()).select_from(bd_account_agent)) == 0


def test_removing_an_account_deletes_its_chats_and_messages_even_when_telegram_is_away(owner):
    account = make_account(owner.organization, sealed_session="sealed")
    make_message(make_chat(account))
    calls = []

    def away(op, **kwargs):
        calls.append(op)
        raise Unavailable()

    service.remove_account(owner, account, away)
    db.session.commit()
    assert calls == ["account.disconnect"]
    assert db.session.scalar(select(func.count()).select_from(BDAccount)) == 0
    assert db.session.scalar(select(func.count()).select_from(Chat)) == 0
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_disconnecting_forgets_the_session_and_asks_for_a_new_login(owner):
    account = make_account(owner.organization, sealed_session="sealed")
    calls = []
    assert service.disconnect(owner, account, lambda op, **kw: calls.append((op, kw)) or {}) is True
    assert calls == [("account.disconnect", {"account_id": account.id})]
    assert account.sealed_session is None and account.status == "needs_login"


def test_a_telegram_refusal_names_its_field_and_status(owner):
    account = make_account(owner.organization, status="connecting")

    def refuse(code):
        def ask(op, **kwargs):
            raise ControlError(code, "Telegram says no.")
        return ask

    with pytest.raises(service.TelegramRefused) as caught:
        service.submit_code(owner, account, "12345", refuse("code_invalid"))
    assert (caught.value.status, caught.value.code, caught.value.fields) == (
        422, "code_invalid", {"code": "Telegram says no."})
    with pytest.raises(service.TelegramRefused) as caught:
        service.start_login(owner, account, refuse("flood_wait"))
    assert (caught.value.status, caught.value.fields) == (429, {})
    with pytest.raises(DomainError):
        service.submit_code(owner, account, "abc", never_called)  # checked before asking anyone


def test_an_online_account_is_not_signed_in_again(owner):
    account = make_account(owner.organization, status="online")
    with pytest.raises(DomainError):
        service.start_login(owner, account, never_called)


# -- input that is not text ----------------------------------------------------------------------

@pytest.mark.parametrize("raw", [[None], 447700900123, {"number": "+447700900123"}, True])
def test_a_phone_that_is_not_text_is_a_phone_field_error(raw):
    with pytest.raises(DomainError) as caught:
        service.normalize_phone(raw)
    assert caught.value.status == 422 and set(caught.value.fields) == {"phone"}


def test_a_code_or_password_that_is_not_text_is_refused_before_asking_telegram(owner):
    account = make_account(owner.organization, status="connecting")
    for code in ([1, 2, 3], {"code": "12345"}, None):
        with pytest.raises(DomainError) as caught:
            service.submit_code(owner, account, code, never_called)
        assert set(caught.value.fields) == {"code"}
    for password in (["pw"], 12345, {"a": 1}):
        with pytest.raises(DomainError) as caught:
            service.submit_password(owner, account, password, never_called)
        assert caught.value.fields == {"password": "Send the password as text."}


# After a refusal the tests commit, as a caller that went on would: a refused change the service had
# made anyway (flushed or only set on the row) would then be written, and the re-read would show it.
# (A rollback before the re-read would hide it.)

def committed_proxy(account: BDAccount) -> dict | None:
    db.session.commit()
    return db.session.get(BDAccount, account.id).proxy  # expired by the commit: read from the database


def committed_accounts() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(BDAccount))


@pytest.mark.parametrize("field", ["scheme", "host", "username", "password"])
def test_proxy_fields_that_are_not_text_are_refused_and_the_proxy_kept(owner, field):
    account = make_account(owner.organization)
    service.set_proxy(owner, account, {"host": "proxy.example.com", "port": 1080}, VAULT)
    db.session.commit()
    kept = dict(account.proxy)
    with pytest.raises(DomainError) as caught:
        service.set_proxy(owner, account, {"host": "proxy.example.com", "port": 1080, field: {"a": 1}}, VAULT)
    assert caught.value.fields == {f"proxy_{field}": "Must be text."}
    assert committed_proxy(account) == kept


# -- proxies on internal hosts -------------------------------------------------------------------

INTERNAL_HOSTS = [
    "127.0.0.1", "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433",  # loopback, as resolvers read it
    "10.0.0.5", "172.16.4.1", "192.168.1.10", "100.64.0.1",  # private and shared address space
    "169.254.169.254", "0.0.0.0",  # noqa: S104 - link-local, unspecified: refused, not bound
    "224.0.0.1", "240.0.0.1", "255.255.255.255",  # multicast, reserved, broadcast
    "::1", "[::1]", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "[::ffff:a00:5]",
    "localhost", "LOCALHOST.", "api.localhost", "printer.local", "db.internal",
]


@pytest.mark.parametrize("host", INTERNAL_HOSTS)
def test_a_proxy_on_an_internal_host_is_refused_on_its_host_field_and_the_proxy_kept(owner, host):
    account = make_account(owner.organization)
    service.set_proxy(owner, account, {"host": "proxy.example.com", "port": 1080}, VAULT)
    db.session.commit()
    kept = dict(account.proxy)
    with pytest.raises(DomainError) as caught:
        service.set_proxy(owner, account, {"host": host, "port": 1080}, VAULT)
    assert set(caught.value.fields) == {"proxy_host"} and "public internet" in caught.value.fields["proxy_host"]
    assert committed_proxy(account) == kept


@pytest.mark.parametrize("host", ["8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "proxy.example.com"])
def test_a_proxy_on_a_public_host_is_kept(owner, host):
    account = make_account(owner.organization)
    service.set_proxy(owner, account, {"host": host, "port": 1080}, VAULT)
    assert account.proxy["host"] == host


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.5", "localhost", "squid.internal"])
def test_the_operator_may_allow_internal_proxies(owner, host):
    account = make_account(owner.organization)
    service.set_proxy(owner, account, {"host": host, "port": 3128}, VAULT, allow_private=True)
    assert account.proxy["host"] == host


def test_a_new_account_with_an_internal_proxy_is_not_created(owner):
    with pytest.raises(DomainError) as caught:
        service.create_account(owner, "+447700900123", VAULT, {"host": "127.1", "port": 6379})
    assert set(caught.value.fields) == {"proxy_host"}
    assert committed_accounts() == 0
    with pytest.raises(DomainError) as caught:
        service.create_qr_account(owner, VAULT, {"host": "localhost", "port": 6379})
    assert set(caught.value.fields) == {"proxy_host"}
    assert committed_accounts() == 0


def test_a_proxy_the_telegram_process_refuses_is_shown_on_the_proxy_host_field(owner):
    account = make_account(owner.organization, status="connecting")

    def refuse(op, **kwargs):
        raise ControlError("proxy_refused", "The account's proxy is refused.")

    with pytest.raises(service.TelegramRefused) as caught:
        service.start_login(owner, account, refuse)
    assert (caught.value.status, caught.value.fields) == (422, {"proxy_host": "The account's proxy is refused."})


def test_renaming_trims_clears_refuses_what_is_too_long_and_is_audited(owner):
    from app.audit import AuditEvent

    account = make_account(owner.organization, display_name="Ann Telegram")
    service.rename_account(owner, account, "  Sales NL ")
    assert account.label == "Sales NL" and service.account_name(account) == "Sales NL"
    with pytest.raises(DomainError) as caught:
        service.rename_account(owner, account, "x" * (service.LABEL_MAX + 1))
    assert "label" in caught.value.fields and account.label == "Sales NL"
    service.rename_account(owner, account, "")
    assert account.label is None and service.account_name(account) == "Ann Telegram"
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account.renamed")
                              .order_by(AuditEvent.id)).all()
    assert [(r.detail["old"], r.detail["new"], r.target_id) for r in rows] == [
        (None, "Sales NL", account.id), ("Sales NL", None, account.id)]
    with pytest.raises(Forbidden):
        service.rename_account(add_member(owner.organization, role=Role.MANAGER), account, "Nope")


def test_an_account_is_named_by_its_label_then_telegram_name_then_username_then_number(owner):
    account = make_account(owner.organization, phone="+447700900123", display_name=None)
    assert service.account_name(account) == "+447700900123"
    account.username = "sales_nl"
    assert service.account_name(account) == "@sales_nl"
    account.display_name = "Ann Telegram"
    assert service.account_name(account) == "Ann Telegram"
    account.label = "Sales NL"
    assert service.account_name(account) == "Sales NL"
    qr = make_account(owner.organization, phone="qr:abc123", display_name=None)
    assert service.account_name(qr) == "QR sign-in"


def test_what_telegram_syncs_never_overwrites_the_teams_name(owner):
    from app.blueprints.accounts import store

    account = make_account(owner.organization, status="connecting", display_name=None, label="Sales NL")
    assert store.save_login(account.id, "sealed", telegram_user_id=42, username="ann", display_name="Ann T")
    assert store.set_status(account.id, "online", display_name="Ann Renamed In Telegram", username="ann2")
    db.session.commit()
    db.session.expire_all()
    synced = db.session.get(BDAccount, account.id)
    assert (synced.label, synced.display_name) == ("Sales NL", "Ann Renamed In Telegram")
    assert service.account_name(synced) == "Sales NL"

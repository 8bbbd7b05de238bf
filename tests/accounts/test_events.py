"""The accounts domain's events (a status that changed, a finished sync) and the doorbells they
ring: raised where the change happens, delivered after the commit, nothing on rollback."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest

from app.blueprints.accounts import service, store
from app.blueprints.accounts.events import AccountEvent, AccountStatusChanged, AccountSynced
from app.db_types import utcnow
from app.events import bus, event_from_json, event_to_json
from app.extensions import db
from app.unit_of_work import unit_of_work
from tests.factories import make_account

VOLATILE = ("event_id", "occurred_at")


@pytest.fixture
def heard():
    got: list[AccountEvent] = []
    bus.subscribe(AccountEvent, got.append)
    yield got
    bus.unsubscribe(got.append)


def shapes(events: list[AccountEvent]) -> list[tuple]:
    for event in events:
        assert event_from_json(event_to_json(event)) == event  # they travel as JSON
    return [(e.name, {k: v for k, v in vars(e).items() if k not in VOLATILE}) for e in events]


def telegram_unit(app, fn, *args, **kwargs):
    """What the telegram process does with a store function: one unit of work of its own."""
    with unit_of_work(app):
        return fn(*args, **kwargs)


def test_status_changes_in_the_telegram_process_raise_old_and_new_after_the_commit(app, owner, heard):
    account = make_account(owner.organization, status="offline")
    telegram_unit(app, store.set_status, account.id, "connecting")
    telegram_unit(app, store.set_status, account.id, "connecting")  # no change: no event
    telegram_unit(app, store.set_status, account.id, "online")
    telegram_unit(app, store.set_status, account.id, "limited", detail="PeerFlood",
                  limited_until=utcnow() + timedelta(hours=1))
    telegram_unit(app, store.set_status, account.id, "limited", detail="PeerFlood, again")  # detail only
    telegram_unit(app, store.end_session, account.id, "banned", "Telegram banned the number")
    ids = {"org_id": owner.org_id, "actor_id": None, "account_id": account.id}
    assert shapes(heard) == [
        ("AccountStatusChanged", {**ids, "old_status": "offline", "new_status": "connecting"}),
        ("AccountStatusChanged", {**ids, "old_status": "connecting", "new_status": "online"}),
        ("AccountStatusChanged", {**ids, "old_status": "online", "new_status": "limited"}),
        ("AccountStatusChanged", {**ids, "old_status": "limited", "new_status": "limited"}),
        ("AccountStatusChanged", {**ids, "old_status": "limited", "new_status": "banned"})]


def test_a_finished_sync_raises_account_synced(app, owner, heard):
    account = make_account(owner.organization)
    telegram_unit(app, store.mark_synced, account.id)
    telegram_unit(app, store.mark_synced, account.id + 1000)  # gone: nothing
    assert shapes(heard) == [("AccountSynced", {"org_id": owner.org_id, "actor_id": None,
                                                "account_id": account.id})]


def test_a_member_disconnecting_raises_the_change_with_who_did_it_and_nothing_on_rollback(owner, heard):
    account = make_account(owner.organization, status="online", sealed_session="sealed")
    service.disconnect(owner, account, lambda op, **kwargs: {})
    assert heard == []
    db.session.rollback()
    assert heard == []
    service.disconnect(owner, account, lambda op, **kwargs: {})
    db.session.commit()
    assert shapes(heard) == [("AccountStatusChanged", {
        "org_id": owner.org_id, "actor_id": owner.user_id, "account_id": account.id,
        "old_status": "online", "new_status": "needs_login"})]


def test_a_telegram_unit_that_fails_raises_nothing(app, owner, heard):
    account = make_account(owner.organization, status="offline")

    def half_done():
        store.set_status(account.id, "online")
        store.mark_synced(account.id)
        raise RuntimeError("the connection dropped")

    with pytest.raises(RuntimeError):
        telegram_unit(app, half_done)
    assert heard == []


def test_the_events_ring_todays_doorbells(app, owner, doorbells):
    account = make_account(owner.organization, status="offline", sealed_session="sealed")
    telegram_unit(app, store.set_status, account.id, "online")
    telegram_unit(app, store.mark_synced, account.id)
    assert doorbells() == [("account.status", {"account_id": account.id, "status": "online"}),
                           ("inbox.synced", {"account_id": account.id})]
    db.session.expire_all()
    service.disconnect(owner, account, lambda op, **kwargs: {})
    assert doorbells() == []
    db.session.commit()
    assert doorbells() == [("account.status", {"account_id": account.id, "status": "needs_login"})]


def test_disconnecting_from_the_page_rings_the_status_once(owner, owner_client, csrf, doorbells, peer):
    peer.on("account.disconnect", {})
    account = make_account(owner.organization, status="online", sealed_session="sealed")
    token = csrf("/accounts/")
    response = owner_client.post(f"/accounts/{account.id}/disconnect",
                                 headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 302
    assert doorbells() == [("account.status", {"account_id": account.id, "status": "needs_login"})]


def test_every_account_event_says_when_it_is_raised():
    for event_type in (AccountStatusChanged, AccountSynced):
        assert issubclass(event_type, AccountEvent) and event_type.__doc__
        assert event_type.__dataclass_params__.frozen and all(f.kw_only for f in fields(event_type))

"""The telegram process as a whole: leases between processes, takeover, endings, removal, reads, media."""

from __future__ import annotations

import time

import pytest

from app.blueprints.messaging.models import Chat, MessageFile
from app.extensions import db, redis_store
from app.integrations.telegram import control, dispatch, leases
from app.integrations.telegram.runtime.process import Runtime
from tests.factories import make_org
from tests.integrations.telegram.conftest import PHONE
from tests.integrations.telegram.runtime_kit import (
    Doorbell,
    account_row,
    chat_with,
    eventually,
    make_account,
    messages_of,
    online,
)

PHONES = [f"99966200{n:02d}" for n in range(1, 7)]


def most_connections_per_session(world) -> int:
    with world.lock:
        return max((len(s.senders) for s in world.sessions.values() if s.account is not None), default=0)


def test_two_processes_never_hold_the_same_account_and_one_takes_over_when_the_other_dies(runtime, world):
    org = make_org()
    for phone in PHONES:
        world.add_account(phone)
    accounts = [make_account(org, world, phone) for phone in PHONES]
    ids = {a.id for a in accounts}
    a, b = runtime(), runtime()
    most = 0

    def all_online_and_sampled() -> bool:
        nonlocal most
        most = max(most, most_connections_per_session(world))
        return all(online(i) for i in ids)
    eventually(all_online_and_sampled, what="every account online")

    assert not set(a.connections) & set(b.connections)
    assert set(a.connections) | set(b.connections) == ids
    for runtime_ in (a, b):
        for account_id in runtime_.connections:
            assert leases.holder(redis_store.client, account_id) == runtime_.worker_id

    a_held = set(a.connections)
    a.kill()  # no goodbye: its leases run out
    eventually(lambda: all_online_and_sampled() and set(b.connections) == ids, timeout=15,
               what="the survivor holding every account")
    assert most == 1
    assert a_held <= set(b.connections)


def test_a_process_holds_no_more_accounts_than_its_cap(runtime, world):
    org = make_org()
    for phone in PHONES[:3]:
        world.add_account(phone)
    accounts = [make_account(org, world, phone) for phone in PHONES[:3]]
    rt = runtime(max_accounts=2)

    eventually(lambda: sum(online(a.id) for a in accounts) == 2, what="two accounts online")
    time.sleep(0.5)  # a few supervisor rounds: still two
    assert len(rt.connections) == 2
    left = next(a for a in accounts if a.id not in rt.connections)
    assert account_row(left.id).status == "offline"


def test_a_session_ended_on_telegram_marks_the_account_for_a_new_login(runtime, world):
    account = make_account(make_org(), world, PHONE)
    first = runtime()
    eventually(lambda: online(account.id), what="online")
    first.stop()
    with world.lock:  # signed out from the phone's settings while nobody was connected
        for session in world.sessions.values():
            session.account = None

    rt = runtime()

    row = eventually(lambda: (r := account_row(account.id)).status == "needs_login" and r, what="needs_login")
    assert row.sealed_session is None and "Sign in again" in row.status_detail
    eventually(lambda: account.id not in rt.connections and leases.holder(redis_store.client, account.id)
               is None, what="the account let go")


def test_a_banned_account_shows_banned_and_its_message_fails(runtime, world, ann):
    from tests.integrations.telegram.runtime_kit import message_row, queue_message

    account = make_account(make_org(), world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="online")
    world.ban(PHONE)

    message = queue_message(account, world, ann.profile.id, "hello?")

    eventually(lambda: account_row(account.id).status == "banned", what="banned")
    assert (message_row(message.id).status, message_row(message.id).error) == (
        "failed", "Telegram has banned this account.")


def test_an_account_removed_in_the_app_is_let_go(runtime, world):
    account = make_account(make_org(), world, PHONE)
    rt = runtime(supervise_seconds=30)  # only the nudge makes it look sooner
    eventually(lambda: online(account.id), what="online")

    db.session.delete(account_row(account.id))
    db.session.commit()
    control.nudge(redis_store.client)

    eventually(lambda: account.id not in rt.connections and most_connections_per_session(world) == 0
               and leases.holder(redis_store.client, account.id) is None, what="the client dropped")


def test_a_failed_connect_is_retried_and_the_status_says_so(runtime, world, monkeypatch):
    account = make_account(make_org(), world, PHONE)
    doorbell = Doorbell(account.org_id)
    real = Runtime.new_client
    failures = []

    def flaky(self, session, **kwargs):
        if not failures:
            failures.append(1)
            raise ConnectionError("network unreachable")
        return real(self, session, **kwargs)
    monkeypatch.setattr(Runtime, "new_client", flaky)

    runtime()

    eventually(lambda: online(account.id), what="online after a retry")
    assert failures == [1]
    assert doorbell.heard("account.status", account_id=account.id, status="connecting")
    doorbell.close()


def test_reading_a_chat_in_the_app_marks_it_read_on_telegram(runtime, world, ann):
    world.person_writes(ann.profile.id, PHONE, "one")
    last = world.person_writes(ann.profile.id, PHONE, "two")
    account = make_account(make_org(), world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="online")

    chat = db.session.get(Chat, chat_with(account.id, ann.profile.id).id)
    chat.read_inbox_max_id, chat.unread_count = last.id, 0  # what the web does when an agent reads
    db.session.commit()
    assert dispatch.read_soon(account.id, chat.id)

    eventually(lambda: world.account(PHONE).mailbox.dialogs[ann.profile.id].read_inbox_max_id == last.id,
               what="the read mark on Telegram")


def test_a_read_mark_made_while_disconnected_reaches_telegram_on_reconnect(runtime, world, ann):
    last = world.person_writes(ann.profile.id, PHONE, "hi")
    account = make_account(make_org(), world, PHONE)
    first = runtime()
    eventually(lambda: online(account.id), what="online")
    first.stop()
    chat = db.session.get(Chat, chat_with(account.id, ann.profile.id).id)
    chat.read_inbox_max_id, chat.unread_count = last.id, 0
    db.session.commit()

    runtime()

    eventually(lambda: world.account(PHONE).mailbox.dialogs[ann.profile.id].read_inbox_max_id == last.id,
               what="the read mark on Telegram")
    assert chat_with(account.id, ann.profile.id).unread_count == 0


def test_media_is_described_on_arrival_and_fetched_on_demand(runtime, world, ann):
    account = make_account(make_org(), world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="online")

    world.person_sends_photo(ann.profile.id, PHONE, b"\xff\xd8jpeg-bytes", width=800, height=600,
                             caption="our office")
    world.person_sends_document(ann.profile.id, PHONE, b"name,email\n", file_name="leads.csv",
                                mime_type="text/csv")

    photo, document = eventually(lambda: len(messages_of(account.id)) == 2 and messages_of(account.id),
                                 what="both messages")
    assert (photo.text, photo.media) == ("our office", {
        "kind": "photo", "mime_type": "image/jpeg", "size": 12, "width": 800, "height": 600})
    assert document.media == {"kind": "document", "mime_type": "text/csv", "size": 11,
                              "file_name": "leads.csv"}
    assert chat_with(account.id, ann.profile.id).last_message_preview == "[File]"

    result = control.call(redis_store.client, "media.fetch", account_id=account.id, message_id=photo.id)

    assert result == {"stored": True, "size": 12}
    assert db.session.get(MessageFile, photo.id).data == b"\xff\xd8jpeg-bytes"
    assert control.call(redis_store.client, "media.fetch", account_id=account.id,
                        message_id=photo.id) == {"stored": True}


def test_opening_a_chat_finds_the_person_on_telegram_and_links_the_contact(runtime, world, ann):
    from tests.factories import make_contact, make_member
    from tests.integrations.telegram.runtime_kit import message_row, queue_message

    owner = make_member()
    contact = make_contact(owner, first_name="Annie", telegram_username="ann_lee")
    account = make_account(owner.organization, world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="online")
    ben = world.add_person("Ben", "Okafor", phone="+447700900123")

    by_username = control.call(redis_store.client, "chat.open", account_id=account.id, username="@ann_lee",
                               contact_id=contact.id)
    by_phone = control.call(redis_store.client, "chat.open", account_id=account.id, phone="+44 7700 900123")
    with pytest.raises(control.ControlError) as nobody:
        control.call(redis_store.client, "chat.open", account_id=account.id, username="nobody_here")

    chat = db.session.get(Chat, by_username["chat_id"])
    assert (chat.peer_id, chat.contact_id, chat.peer_access_hash is not None) == (ann.profile.id, contact.id, True)
    assert db.session.get(Chat, by_phone["chat_id"]).peer_id == ben.profile.id
    assert nobody.value.code == "not_found"
    message = queue_message(account, world, ann.profile.id, "Hi Ann!")
    eventually(lambda: message_row(message.id).status == "sent", what="sent through the opened chat")

"""The telegram runtime mirrors accounts: dialog import, live messages, reconcile after outages."""

from __future__ import annotations

import pytest

from app.blueprints.crm.models import Contact
from app.blueprints.messaging.events import MessageReceived
from app.events import bus
from app.extensions import db
from tests.factories import make_contact, make_member, make_org
from tests.integrations.telegram.conftest import PHONE
from tests.integrations.telegram.runtime_kit import (
    Doorbell,
    account_row,
    chat_with,
    eventually,
    from_phone,
    make_account,
    messages_of,
    online,
)


def test_first_connect_imports_recent_dialogs_with_their_messages(runtime, world, ann):
    world.person_writes(ann.profile.id, PHONE, "Hi, is this the BD team?")
    world.seed_outgoing(PHONE, ann.profile.id, "Yes! How can we help?")
    world.person_writes(ann.profile.id, PHONE, "Pricing, please")
    org = make_org()
    account = make_account(org, world, PHONE)

    runtime()
    eventually(lambda: online(account.id), what="the account online")

    chat = chat_with(account.id, ann.profile.id)
    assert (chat.title, chat.username, chat.has_inbound) == ("Ann Lee", "ann_lee", True)
    assert [(m.text, m.out) for m in messages_of(account.id)] == [
        ("Hi, is this the BD team?", False), ("Yes! How can we help?", True), ("Pricing, please", False)]
    contact = db.session.get(Contact, chat.contact_id)
    assert (contact.first_name, contact.telegram_user_id, contact.source) == ("Ann", ann.profile.id, "telegram")


@pytest.fixture
def heard():
    got: list[MessageReceived] = []
    bus.subscribe(MessageReceived, got.append)
    yield got
    bus.unsubscribe(got.append)


def test_an_inbound_message_is_stored_announced_and_rung_to_open_inboxes(runtime, world, ann, heard):
    org = make_org()
    account = make_account(org, world, PHONE)
    doorbell = Doorbell(org.id)
    runtime()
    eventually(lambda: online(account.id), what="the account online")

    world.person_writes(ann.profile.id, PHONE, "Hello from Ann")

    stored = eventually(lambda: [m for m in messages_of(account.id) if m.text == "Hello from Ann"],
                        what="the message stored")[0]
    chat = chat_with(account.id, ann.profile.id)
    assert (stored.out, stored.status, stored.chat_id) == (False, "received", chat.id)
    assert (chat.unread_count, chat.last_message_preview, chat.has_inbound) == (1, "Hello from Ann", True)
    eventually(lambda: doorbell.heard("inbox.message", chat_id=chat.id, message_id=stored.id, new=True),
               what="the inbox doorbell")
    eventually(lambda: [(e.message_id, e.chat_id, e.contact_id) for e in heard]
               == [(stored.id, chat.id, chat.contact_id)], what="MessageReceived")
    doorbell.close()


def test_a_person_links_to_the_contact_with_their_telegram_id_before_username_or_phone(runtime, world, ann):
    owner = make_member()
    by_phone = make_contact(owner, first_name="Phone", phone="+15550001")
    by_username = make_contact(owner, first_name="Handle", telegram_username="ann_lee")
    by_id = make_contact(owner, first_name="Id", telegram_user_id=str(ann.profile.id))
    ben = world.add_person("Ben", "Okafor", username="ben_o", phone="+447700900123")
    known_ben = make_contact(owner, first_name="Benjamin", phone="+447700900123")
    world.person_writes(ann.profile.id, PHONE, "hi")
    world.person_writes(ben.profile.id, PHONE, "hello")
    account = make_account(owner.organization, world, PHONE)

    runtime()
    eventually(lambda: online(account.id), what="the account online")

    assert chat_with(account.id, ann.profile.id).contact_id == by_id.id
    assert chat_with(account.id, ben.profile.id).contact_id == known_ben.id
    linked = db.session.get(Contact, known_ben.id)
    assert (linked.telegram_user_id, linked.telegram_username) == (ben.profile.id, "ben_o")
    assert "ben_o" in linked.search_text
    assert {by_phone.id, by_username.id}.isdisjoint(
        {chat_with(account.id, p).contact_id for p in (ann.profile.id, ben.profile.id)})


def test_a_username_match_wins_over_a_phone_match(runtime, world, ann):
    owner = make_member()
    make_contact(owner, first_name="Phone", phone="+15550001")
    handle = make_contact(owner, first_name="Handle", telegram_username="ann_lee")
    world.person_writes(ann.profile.id, PHONE, "hi")
    account = make_account(owner.organization, world, PHONE)

    runtime()
    eventually(lambda: online(account.id), what="the account online")

    assert chat_with(account.id, ann.profile.id).contact_id == handle.id


def test_what_the_phone_does_reaches_the_database(runtime, world, ann):
    """Written, edited and deleted on the account's own phone; their messages read there."""
    org = make_org()
    account = make_account(org, world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="the account online")
    first = world.person_writes(ann.profile.id, PHONE, "are you there?")
    second = world.person_writes(ann.profile.id, PHONE, "hello?")
    eventually(lambda: len(messages_of(account.id)) == 2, what="both messages")

    async def on_the_phone(client):
        mine = await client.send_message("ann_lee", "Yes, sorry! One moment")
        await client.edit_message("ann_lee", mine.id, "Yes! One moment")
        await client.delete_messages("ann_lee", [second.id])
        await client.send_read_acknowledge("ann_lee", max_id=first.id)
        return mine.id
    mine = from_phone(world, PHONE, on_the_phone)

    chat = eventually(lambda: (c := chat_with(account.id, ann.profile.id)) and c.read_inbox_max_id == first.id
                      and c, what="the read mark")
    by_id = {m.telegram_id: m for m in messages_of(account.id)}
    assert (by_id[mine].text, by_id[mine].out, by_id[mine].status) == ("Yes! One moment", True, "sent")
    assert by_id[mine].edited_at is not None
    assert by_id[second.id].deleted_at is not None and by_id[first.id].deleted_at is None
    assert chat.unread_count == 0


def test_messages_sent_while_no_process_ran_appear_when_one_connects_again(runtime, world, ann, heard):
    world.person_writes(ann.profile.id, PHONE, "before")
    org = make_org()
    account = make_account(org, world, PHONE)
    first = runtime()
    eventually(lambda: online(account.id), what="the account online")
    first.stop()
    db.session.rollback()
    assert account_row(account.id).status == "offline"
    ben = world.add_person("Ben", "Okafor", username="ben_o")

    world.person_writes(ann.profile.id, PHONE, "while you were away")
    world.person_writes(ben.profile.id, PHONE, "new here, hi")
    runtime()

    eventually(lambda: len(messages_of(account.id)) == 3, what="the missed messages")
    assert [m.text for m in messages_of(account.id)] == ["before", "while you were away", "new here, hi"]
    # Events go out after the commit, a moment after the rows are visible.
    eventually(lambda: sorted(e.message_id for e in heard) == sorted(m.id for m in messages_of(account.id)[1:]),
               what="MessageReceived for both")
    assert chat_with(account.id, ann.profile.id).unread_count == 2


def test_messages_sent_while_the_network_was_down_appear_after_it_returns(runtime, world, ann):
    org = make_org()
    account = make_account(org, world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="the account online")

    world.drop_connections(PHONE)
    world.person_writes(ann.profile.id, PHONE, "anyone?")
    world.person_writes(ann.profile.id, PHONE, "hello??")
    world.restore_connections(PHONE)

    eventually(lambda: [m.text for m in messages_of(account.id)] == ["anyone?", "hello??"],
               what="the missed messages")


def test_after_a_sandbox_restart_new_messages_are_numbered_after_the_stored_ones(runtime, world, ann, app):
    from app.integrations.telegram.sandbox import World, new_session_string

    stored = new_session_string()
    world.adopt_session(stored, PHONE)
    for text in ("one", "two", "three"):
        world.person_writes(ann.profile.id, PHONE, text)
    account = make_account(make_org(), world, PHONE, session=stored)
    first = runtime()
    eventually(lambda: online(account.id), what="online")
    first.stop()
    reborn = World(reply_delay=None, secret=world.secret)  # the process restarted: memory is gone
    reborn.add_account(PHONE)
    again = reborn.add_person("Ann", "Lee", username="ann_lee")
    assert again.profile.id == ann.profile.id

    runtime(world_=reborn)
    eventually(lambda: online(account.id), what="online again")
    reborn.person_writes(ann.profile.id, PHONE, "after the restart")

    eventually(lambda: [m.text for m in messages_of(account.id)] == ["one", "two", "three", "after the restart"],
               what="the new message stored")

"""The outbox for other domains: outreach messages into a chat or to someone without one yet,
how they end (``OutboxSettled``, once), withdrawal before they go, and the "they wrote first" rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.blueprints.messaging import service, store
from app.blueprints.messaging.events import MessageFailed, MessageQueued, OutboxSettled
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.messaging.store import Peer
from app.db_types import utcnow
from app.events import bus
from app.extensions import db
from tests.factories import make_account, make_chat, make_contact, make_member, make_message


@pytest.fixture
def heard():
    got: list = []
    bus.subscribe((OutboxSettled, MessageQueued, MessageFailed), got.append)
    yield got
    bus.unsubscribe(got.append)


@pytest.fixture
def setting():
    member = make_member()
    account = make_account(member.organization)
    contact = make_contact(member, telegram_username="olga_p")
    return member, account, contact


def outreach(account, **fields) -> Message:
    message = service.queue_outreach(org_id=account.org_id, account_id=account.id, origin="campaign",
                                     text="Hello", **fields)
    db.session.commit()
    return message


def settled(heard) -> list[tuple[int, str]]:
    return [(e.message_id, e.outcome) for e in heard if isinstance(e, OutboxSettled)]


def test_a_message_to_someone_without_a_chat_waits_for_the_telegram_process_to_find_them(setting, heard):
    _, account, contact = setting
    message = outreach(account, recipient={"contact_id": contact.id, "username": "olga_p", "phone": None})

    row = db.session.get(Message, message.id)
    assert (row.chat_id, row.status, row.origin, row.cancel_on_reply) == (None, "queued", "campaign", True)
    assert row.recipient["username"] == "olga_p" and row.random_id
    assert not [e for e in heard if isinstance(e, MessageQueued)]  # no chat shows it yet
    plan = store.send_plan(message.id)
    assert (plan.peer_id, plan.first_contact, plan.contact_id) == (None, True, contact.id)


def test_finding_the_recipient_joins_the_message_to_a_chat_linked_to_their_contact(setting):
    _, account, contact = setting
    message = outreach(account, recipient={"contact_id": contact.id, "username": "olga_p", "phone": None})

    plan = store.bind_recipient(message.id, Peer(user_id=424242, access_hash=77, first_name="Olga",
                                                 last_name="P", username="olga_p", phone=None))
    db.session.commit()
    chat = db.session.get(Chat, plan.chat_id)
    assert (chat.peer_id, chat.contact_id, plan.peer_id, plan.access_hash) == (424242, contact.id, 424242, 77)
    assert db.session.get(Message, message.id).chat_id == chat.id


def test_a_message_into_a_chat_is_queued_there_and_settles_once_when_sent(setting, heard):
    _, account, contact = setting
    chat = make_chat(account, contact_id=contact.id)
    message = outreach(account, chat_id=chat.id)
    assert [e.message_id for e in heard if isinstance(e, MessageQueued)] == [message.id]

    store.record_sent(message.id, 9001, utcnow())
    db.session.commit()
    store.record_sent(message.id, 9001, utcnow())  # the same answer recorded again after a crash
    db.session.commit()
    assert settled(heard) == [(message.id, "sent")]
    assert [e.contact_id for e in heard if isinstance(e, OutboxSettled)] == [contact.id]


def test_a_queued_message_can_be_withdrawn_and_then_never_goes(setting, heard):
    _, account, contact = setting
    chat = make_chat(account, contact_id=contact.id)
    message = outreach(account, chat_id=chat.id)

    assert store.withdraw(message.id, "stopped")
    db.session.commit()
    assert db.session.get(Message, message.id).status == "cancelled"
    assert not store.start_sending(message.id)
    assert not store.withdraw(message.id, "again")
    assert settled(heard) == [(message.id, "cancelled")]


def test_a_message_already_with_telegram_cannot_be_withdrawn(setting, heard):
    _, account, contact = setting
    chat = make_chat(account, contact_id=contact.id)
    message = outreach(account, chat_id=chat.id)
    assert store.start_sending(message.id)
    db.session.commit()

    assert not store.withdraw(message.id, "too late")
    db.session.commit()
    assert db.session.get(Message, message.id).status == "sending"
    assert settled(heard) == []


def test_a_recipient_nobody_has_fails_without_a_chat_and_says_so_once(setting, heard):
    _, account, contact = setting
    message = outreach(account, recipient={"contact_id": contact.id, "username": "olga_p", "phone": None})

    store.fail(message.id, "not found")
    store.fail(message.id, "not found")
    db.session.commit()
    assert db.session.get(Message, message.id).status == "failed"
    assert settled(heard) == [(message.id, "failed")]
    assert not [e for e in heard if isinstance(e, MessageFailed)]


def test_a_message_from_the_person_on_any_account_after_queueing_counts_as_written_first(setting):
    member, account, contact = setting
    other = make_account(member.organization)
    mine = make_chat(account, contact_id=contact.id)
    theirs = make_chat(other, contact_id=contact.id)
    make_message(theirs, "an old message", created_at=utcnow() - timedelta(days=1))
    message = outreach(account, chat_id=mine.id)
    assert not store.replied_since(store.send_plan(message.id))

    make_message(theirs, "Hi, saw your note")
    assert store.replied_since(store.send_plan(message.id))


def test_the_inbox_s_own_messages_settle_silently(setting, heard):
    member, account, contact = setting
    chat = make_chat(account, contact_id=contact.id)
    message = service.queue_message(member, chat, "Typed by a member")
    db.session.commit()
    store.record_sent(message.id, 777, utcnow())
    db.session.commit()
    assert settled(heard) == []
    assert db.session.scalar(select(Message.origin).where(Message.id == message.id)) is None

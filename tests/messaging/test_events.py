"""The inbox's events: each change raises its event where it happens, delivered after the commit
(and as JSON, as queued subscribers get it), nothing on rollback; the web's services and the
telegram process's store alike."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.blueprints.messaging import service, store
from app.blueprints.messaging.events import (
    ChatAssigned,
    ChatCreated,
    ChatEvent,
    ChatImported,
    ChatUpdated,
    MessageDeferred,
    MessageDeleted,
    MessageEdited,
    MessageFailed,
    MessageFileStored,
    MessageQueued,
    MessageReceived,
    MessageSending,
    MessageSent,
    MessagesRead,
    MessagesReadByPeer,
)
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.events import bus, event_from_json, event_to_json
from app.extensions import db
from app.unit_of_work import unit_of_work
from tests.factories import add_member, make_account, make_chat, make_contact, make_message

VOLATILE = ("event_id", "occurred_at")


@pytest.fixture
def heard():
    """The inbox's events, as an after-commit subscriber hears them."""
    got: list[ChatEvent] = []
    bus.subscribe(ChatEvent, got.append)
    yield got
    bus.unsubscribe(got.append)


def shapes(events: list[ChatEvent]) -> list[tuple]:
    """(class name, fields without the event id and time), and each event survives JSON."""
    for event in events:
        assert event_from_json(event_to_json(event)) == event
    return [(e.name, {k: v for k, v in vars(e).items() if k not in VOLATILE}) for e in events]


def telegram_unit(app, fn, *args, **kwargs):
    """What the telegram process does with a store function: one unit of work of its own."""
    with unit_of_work(app):
        return fn(*args, **kwargs)


PEER = store.Peer(user_id=4242, access_hash=77, first_name="Ann", last_name="Lee", username="ann_lee")


def item(telegram_id: int, text: str = "Hello", out: bool = False) -> store.Item:
    return store.Item(telegram_id=telegram_id, out=out, text=text, date=utcnow())


def chat_of(account, peer_id: int = PEER.user_id) -> Chat:
    db.session.rollback()
    return db.session.scalar(select(Chat).where(Chat.account_id == account.id, Chat.peer_id == peer_id))


def base(chat, **more) -> dict:
    return {"org_id": chat.org_id, "chat_id": chat.id, "account_id": chat.account_id, **more}


# -- what members do ------------------------------------------------------------------------------

def test_queueing_and_retrying_raise_message_queued_after_the_commit(owner, heard):
    chat = make_chat(make_account(owner.organization))
    message = service.queue_message(owner, chat, "Hi")
    assert heard == []
    db.session.commit()
    message.status, message.error = "failed", "FLOOD"
    db.session.commit()
    service.retry_message(owner, message)
    db.session.commit()
    ids = base(chat, actor_id=owner.user_id, message_id=message.id)
    assert shapes(heard) == [("MessageQueued", {**ids, "retry": False}),
                             ("MessageQueued", {**ids, "retry": True})]


def test_reading_raises_messages_read_up_to_the_newest_of_theirs(owner, heard):
    account = make_account(owner.organization)
    first, second = make_chat(account, unread_count=2), make_chat(account, unread_count=1)
    make_message(first, telegram_id=5)
    make_message(first, telegram_id=9)
    make_message(second, telegram_id=4)
    make_message(first, out=True, telegram_id=11)  # ours: not read by us
    assert service.mark_read(owner, first) is True
    db.session.commit()
    assert service.mark_read(owner, first) is False  # nothing changed, nothing raised
    db.session.commit()
    assert shapes(heard) == [("MessagesRead", {**base(first, actor_id=owner.user_id), "up_to": 9,
                                               "unread_count": 0})]
    heard.clear()
    third = make_chat(account, unread_count=1, read_inbox_max_id=2)
    make_message(third, telegram_id=3)
    make_message(third, telegram_id=6)
    service.mark_read_up_to(owner, db.session.scalars(select(Message).where(
        Message.chat_id == third.id, Message.telegram_id == 3)).one())
    db.session.commit()
    assert shapes(heard) == [("MessagesRead", {**base(third, actor_id=owner.user_id), "up_to": 3,
                                               "unread_count": 1})]
    heard.clear()
    assert service.mark_all_read(owner) == 2
    db.session.commit()
    assert sorted(shapes(heard), key=lambda s: s[1]["chat_id"]) == [
        ("MessagesRead", {**base(second, actor_id=owner.user_id), "up_to": 4, "unread_count": 0}),
        ("MessagesRead", {**base(third, actor_id=owner.user_id), "up_to": 6, "unread_count": 0})]


def test_assigning_raises_who_from_who_to_and_by_whom(owner, heard):
    chat = make_chat(make_account(owner.organization))
    agent = add_member(owner.organization, role=Role.AGENT)
    other = add_member(owner.organization, role=Role.AGENT)
    service.assign(owner, chat, agent.user_id)
    service.assign(owner, chat, agent.user_id)  # no change, no event
    db.session.commit()
    service.assign(owner, chat, other.user_id)
    service.assign(owner, chat, None)
    db.session.commit()
    who = base(chat, actor_id=owner.user_id)
    assert shapes(heard) == [
        ("ChatAssigned", {**who, "from_user_id": None, "to_user_id": agent.user_id}),
        ("ChatAssigned", {**who, "from_user_id": agent.user_id, "to_user_id": other.user_id}),
        ("ChatAssigned", {**who, "from_user_id": other.user_id, "to_user_id": None})]


def test_a_contact_and_a_deal_from_a_chat_raise_chat_updated(owner, heard):
    chat = make_chat(make_account(owner.organization), title="Leo Park")
    service.create_deal_from_chat(owner, chat, "Leo pilot")
    db.session.commit()
    who = base(chat, actor_id=owner.user_id)
    assert shapes(heard) == [("ChatUpdated", {**who, "change": "contact"}),
                             ("ChatUpdated", {**who, "change": "deal"})]


def test_nothing_is_heard_of_work_that_rolls_back(owner, heard):
    chat = make_chat(make_account(owner.organization), unread_count=1)
    make_message(chat, telegram_id=3)
    agent = add_member(owner.organization, role=Role.AGENT)
    service.queue_message(owner, chat, "Hi")
    service.mark_read(owner, chat)
    db.session.rollback()
    savepoint = db.session.begin_nested()
    service.assign(owner, chat, agent.user_id)
    savepoint.rollback()
    db.session.commit()
    assert heard == []
    service.assign(owner, chat, agent.user_id)
    db.session.commit()
    assert [e.name for e in heard] == ["ChatAssigned"]


# -- what the telegram process writes -------------------------------------------------------------

def test_a_message_heard_live_raises_received_or_sent_and_a_new_chat_created(app, owner, heard):
    account = make_account(owner.organization)
    theirs = telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(10, "Hi"))
    ours = telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(11, "Hey", out=True))
    telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(11, "Hey", out=True))  # again
    chat = chat_of(account)
    ids = base(chat, actor_id=None)
    assert shapes(heard) == [
        ("ChatCreated", {**ids, "peer_id": PEER.user_id, "contact_id": chat.contact_id}),
        ("MessageReceived", {**ids, "message_id": theirs.new_ids[0], "contact_id": chat.contact_id}),
        ("MessageSent", {**ids, "message_id": ours.new_ids[0], "via_app": False, "telegram_id": 11,
                         "contact_id": chat.contact_id})]


def test_the_first_import_raises_chat_imported_and_a_reconcile_the_read_marks_that_moved(app, owner, heard):
    account = make_account(owner.organization)
    marks = store.Marks(unread_count=1, read_inbox_max_id=1, read_outbox_max_id=0)
    telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER, marks,
                  [item(1), item(2, out=True), item(3)], announce=False)
    chat = chat_of(account)
    ids = base(chat, actor_id=None)
    assert [s[0] for s in shapes(heard)] == ["ChatCreated", "ChatImported"]
    assert shapes(heard)[1] == ("ChatImported", {**ids, "messages": 3})
    heard.clear()
    telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER, marks, [], announce=True)
    assert heard == []  # nothing moved
    telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER,
                  store.Marks(unread_count=0, read_inbox_max_id=3, read_outbox_max_id=2), [], announce=True)
    assert shapes(heard) == [("MessagesRead", {**ids, "up_to": 3, "unread_count": 0}),
                             ("MessagesReadByPeer", {**ids, "up_to": 2})]
    heard.clear()
    telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER,
                  store.Marks(unread_count=2, read_inbox_max_id=3, read_outbox_max_id=2), [], announce=True)
    assert shapes(heard) == [("ChatUpdated", {**ids, "change": "unread"})]


def test_edits_deletions_read_receipts_and_files_raise_their_events(app, owner, heard):
    account = make_account(owner.organization)
    saved = telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(20, "Helo"))
    [message_id] = saved.new_ids
    heard.clear()
    telegram_unit(app, store.edit, account.id, owner.org_id, PEER, replace(item(20, "Hello"), edited_at=utcnow()))
    telegram_unit(app, store.read, account.id, PEER.user_id, inbox=True, max_id=20, still_unread=0)
    telegram_unit(app, store.read, account.id, PEER.user_id, inbox=True, max_id=20)  # not ahead: nothing
    telegram_unit(app, store.read, account.id, PEER.user_id, inbox=False, max_id=19)
    telegram_unit(app, store.store_file, message_id, b"data", "image/png", "a.png")
    telegram_unit(app, store.delete, account.id, [20, 999])
    ids = base(chat_of(account), actor_id=None)
    assert shapes(heard) == [("MessageEdited", {**ids, "message_id": message_id}),
                             ("MessagesRead", {**ids, "up_to": 20, "unread_count": 0}),
                             ("MessagesReadByPeer", {**ids, "up_to": 19}),
                             ("MessageFileStored", {**ids, "message_id": message_id}),
                             ("MessageDeleted", {**ids, "message_id": message_id})]


def test_a_send_that_fails_for_good_or_went_out_before_raises_failed_or_sent(app, owner, heard):
    chat = make_chat(make_account(owner.organization))
    refused = service.queue_message(owner, chat, "Again")
    gone = service.queue_message(owner, chat, "Lost")
    db.session.commit()
    heard.clear()
    telegram_unit(app, store.fail, refused.id, "Telegram refused it")
    telegram_unit(app, store.sent_then_deleted, gone.id)
    ids = base(chat, actor_id=None)
    assert shapes(heard) == [
        ("MessageFailed", {**ids, "message_id": refused.id, "reason": "Telegram refused it"}),
        ("MessageSent", {**ids, "message_id": gone.id, "via_app": True, "telegram_id": None,
                         "contact_id": None})]


def test_a_send_goes_through_sending_deferred_and_sent(app, owner, heard):
    chat = make_chat(make_account(owner.organization))
    message = service.queue_message(owner, chat, "Hi")
    db.session.commit()
    heard.clear()
    later = (utcnow() + timedelta(minutes=5)).replace(microsecond=0)
    telegram_unit(app, store.start_sending, message.id)
    telegram_unit(app, store.requeue, message.id, later)
    telegram_unit(app, store.start_sending, message.id)
    telegram_unit(app, store.record_sent, message.id, 555, utcnow())
    assert telegram_unit(app, store.start_sending, message.id) is False  # sent: may not go again
    ids = base(chat, actor_id=None, message_id=message.id)
    assert shapes(heard) == [("MessageSending", {**ids, "attempt": 1}),
                             ("MessageDeferred", {**ids, "send_after": later}),
                             ("MessageSending", {**ids, "attempt": 2}),
                             ("MessageSent", {**ids, "via_app": True, "telegram_id": 555, "contact_id": None})]


def test_a_copy_folded_into_its_outbox_row_raises_chat_updated_before_sent(app, owner, heard):
    account = make_account(owner.organization)
    telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(1))
    chat = chat_of(account)
    message = service.queue_message(owner, chat, "Hi")
    db.session.commit()
    telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(2, "Hi", out=True))  # the copy
    heard.clear()
    telegram_unit(app, store.record_sent, message.id, 2, utcnow())
    ids = base(chat, actor_id=None)
    assert shapes(heard) == [("ChatUpdated", {**ids, "change": "folded"}),
                             ("MessageSent", {**ids, "message_id": message.id, "via_app": True,
                                              "telegram_id": 2, "contact_id": chat.contact_id})]


def test_opening_a_conversation_raises_chat_updated_and_created_when_new(app, owner, heard):
    account = make_account(owner.organization)
    contact = make_contact(owner, first_name="Leo")
    chat_id = telegram_unit(app, store.open_chat, account.id, owner.org_id, PEER, contact.id)
    telegram_unit(app, store.open_chat, account.id, owner.org_id, PEER, contact.id)
    ids = base(chat_of(account), actor_id=None)
    assert ids["chat_id"] == chat_id
    assert shapes(heard) == [("ChatCreated", {**ids, "peer_id": PEER.user_id, "contact_id": contact.id}),
                             ("ChatUpdated", {**ids, "change": "opened"}),
                             ("ChatUpdated", {**ids, "change": "opened"})]


def test_a_telegram_unit_that_fails_raises_nothing(app, owner, heard):
    account = make_account(owner.organization)

    def half_done():
        store.receive(account.id, owner.org_id, PEER, item(30))
        raise RuntimeError("the connection dropped")

    with pytest.raises(RuntimeError):
        telegram_unit(app, half_done)
    assert heard == [] and chat_of(account) is None


def test_every_inbox_event_says_when_it_is_raised():
    for event_type in (ChatAssigned, ChatCreated, ChatImported, ChatUpdated, MessageDeferred,
                       MessageDeleted, MessageEdited, MessageFailed, MessageFileStored, MessageQueued,
                       MessageReceived, MessageSending, MessageSent, MessagesRead, MessagesReadByPeer):
        assert issubclass(event_type, ChatEvent) and event_type.__doc__
        assert event_type.__dataclass_params__.frozen and all(f.kw_only for f in fields(event_type))

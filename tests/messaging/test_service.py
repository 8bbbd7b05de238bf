"""The inbox's operations: sight per role, filters, search, pages, the outbox, reads, assignment, deals."""

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select

from app.blueprints.crm.models import Contact, Deal
from app.blueprints.messaging import service
from app.blueprints.messaging.models import Chat, Message, MessageFile
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db, redis_store
from app.integrations.telegram import dispatch, leases
from app.integrations.telegram.control import send_queue_name
from tests.factories import (
    add_member,
    give_account,
    make_account,
    make_chat,
    make_contact,
    make_deal,
    make_member,
    make_message,
)

WORKER = "tg-worker-1"
EVERYTHING = service.InboxFilter()


def ids(rows) -> list[int]:
    return [r.chat.id for r in rows]


def holder_jobs() -> list[tuple[str, tuple]]:
    """(function, args) of the jobs waiting on the telegram process's own queue."""
    queue = Queue(send_queue_name(WORKER), connection=redis_store.client)
    return [(job.func_name, tuple(job.args)) for job in queue.jobs]


@pytest.fixture
def account(owner):
    found = make_account(owner.organization)
    leases.acquire(redis_store.client, found.id, WORKER)  # a telegram process holds the account
    return found


# -- sight ---------------------------------------------------------------------------------------

def test_managers_see_every_chat_and_agents_their_accounts_and_assigned_chats(owner, account):
    other_account = make_account(owner.organization)
    agent = add_member(owner.organization, role=Role.AGENT)
    manager = add_member(owner.organization, role=Role.MANAGER)
    give_account(account, agent)
    mine, elsewhere = make_chat(account), make_chat(other_account)
    assigned = make_chat(other_account, assignee_id=agent.user_id)
    assert set(ids(service.list_chats(manager, EVERYTHING)[0])) == {mine.id, elsewhere.id, assigned.id}
    assert set(ids(service.list_chats(agent, EVERYTHING)[0])) == {mine.id, assigned.id}
    with pytest.raises(NotFound):
        service.get_chat(agent, elsewhere.id)
    message = make_message(elsewhere)
    with pytest.raises(NotFound):
        service.get_message(agent, message.id)
    with pytest.raises(NotFound):
        service.get_chat(make_member(Role.OWNER), mine.id)  # another organization


# -- the list ------------------------------------------------------------------------------------

def test_filters_narrow_the_list(owner, account):
    other_account = make_account(owner.organization)
    agent = add_member(owner.organization, role=Role.AGENT)
    contact = make_contact(owner)
    make_deal(owner, contact=contact.id)
    unread = make_chat(account, unread_count=2)
    assigned = make_chat(account, assignee_id=agent.user_id)
    dealing = make_chat(other_account, contact_id=contact.id)
    mine = make_chat(other_account, assignee_id=owner.user_id)

    def listed(**kwargs):
        return set(ids(service.list_chats(owner, service.InboxFilter(**kwargs))[0]))

    assert listed(account_id=account.id) == {unread.id, assigned.id}
    assert listed(unread=True) == {unread.id}
    assert listed(assignee=str(agent.user_id)) == {assigned.id}
    assert listed(assignee="me") == {mine.id}
    assert listed(assignee="none") == {unread.id, dealing.id}
    assert listed(has_deal=True) == {dealing.id}


def test_a_won_or_deleted_deal_does_not_count_as_an_open_one(owner, account):
    contact = make_contact(owner)
    deal = make_deal(owner, contact=contact.id)
    chat = make_chat(account, contact_id=contact.id)
    assert ids(service.list_chats(owner, service.InboxFilter(has_deal=True))[0]) == [chat.id]
    deal.status = "won"
    db.session.commit()
    assert service.list_chats(owner, service.InboxFilter(has_deal=True))[0] == []


def test_search_looks_at_names_usernames_phones_and_message_text(owner, account):
    by_title = make_chat(account, title="Maria Gonzalez", username="mg")
    by_username = make_chat(account, title="X", username="cryptoking")
    by_phone = make_chat(account, title="Y", username="y1", phone="447700900321")
    by_text = make_chat(account, title="Z", username="z1")
    make_message(by_text, "Could you send the PRICING deck?")
    make_chat(account, title="Nobody", username="n1")

    def found(q):
        return set(ids(service.list_chats(owner, service.InboxFilter(q=q))[0]))

    assert found("maria") == {by_title.id}
    assert found("@CryptoKing") == {by_username.id}
    assert found("+44 7700 900 321") == {by_phone.id}
    assert found("pricing deck") == {by_text.id}
    assert found("100%") == set()  # LIKE wildcards are taken literally


def test_pages_follow_each_other_without_gaps_or_repeats(owner, account):
    same_moment = utcnow()
    chats = [make_chat(account, last_message_at=same_moment - timedelta(minutes=i // 3)) for i in range(35)]
    first, cursor = service.list_chats(owner, EVERYTHING, limit=30)
    second, end = service.list_chats(owner, EVERYTHING, cursor, limit=30)
    assert len(first) == 30 and len(second) == 5 and end is None
    assert sorted(ids(first) + ids(second)) == sorted(c.id for c in chats)
    newest_first = [r.chat for r in first + second]
    assert newest_first == sorted(newest_first, key=lambda c: (c.last_message_at, c.id), reverse=True)
    with pytest.raises(DomainError):
        service.list_chats(owner, EVERYTHING, "not-a-cursor")


def test_a_thread_pages_back_through_history(owner, account):
    chat = make_chat(account)
    start = utcnow() - timedelta(hours=1)
    messages = [make_message(chat, f"m{i}", date=start + timedelta(seconds=i)) for i in range(95)]
    page, older = service.thread(chat, limit=40)
    assert [m.text for m in page] == [f"m{i}" for i in range(55, 95)]
    page, older = service.thread(chat, older, limit=40)
    assert [m.text for m in page] == [f"m{i}" for i in range(15, 55)]
    page, older = service.thread(chat, older, limit=40)
    assert [m.text for m in page] == [f"m{i}" for i in range(15)] and older is None
    assert len(messages) == 95


def test_unread_totals_count_only_visible_chats(owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    make_chat(account, unread_count=3)
    make_chat(account, unread_count=2, assignee_id=agent.user_id)
    assert service.unread_totals(owner) == (2, 5)
    assert service.unread_totals(agent) == (1, 2)


# -- the outbox ------------------------------------------------------------------------------------

def test_sending_writes_one_queued_row_and_nudges_the_holder_after_commit(owner, account):
    chat = make_chat(account)
    message = service.queue_message(owner, chat, "  Hello there  ")
    assert holder_jobs() == []  # nothing before the commit
    db.session.commit()
    rows = list(db.session.scalars(select(Message)))
    assert len(rows) == 1
    sent = rows[0]
    assert (sent.out, sent.status, sent.text, sent.author_id) == (True, "queued", "Hello there", owner.user_id)
    assert sent.random_id and -2**63 <= sent.random_id < 2**63
    assert sent.telegram_id is None
    assert holder_jobs() == [(dispatch.SEND_JOB, (message.id, message.account_id))]
    db.session.refresh(chat)
    assert chat.last_message_preview == "Hello there" and chat.last_message_out is True


def test_a_rolled_back_send_nudges_nobody(owner, account):
    service.queue_message(owner, make_chat(account), "Never")
    db.session.rollback()
    db.session.commit()
    assert holder_jobs() == []
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_messages_have_limits(owner, account):
    chat = make_chat(account)
    with pytest.raises(DomainError) as caught:
        service.queue_message(owner, chat, "   ")
    assert "text" in caught.value.fields
    with pytest.raises(DomainError) as caught:
        service.queue_message(owner, chat, "x" * 4097)
    assert "4,096" in caught.value.fields["text"]
    service.queue_message(owner, chat, "x" * 4096)
    big = service.Attachment("big.bin", "application/octet-stream", b"0" * (10 * 1024 * 1024 + 1))
    with pytest.raises(DomainError) as caught:
        service.queue_message(owner, chat, "", big)
    assert "10 MB" in caught.value.fields["file"]
    with pytest.raises(DomainError) as caught:
        service.queue_message(owner, chat, "y" * 1025, service.Attachment("a.png", "image/png", b"png"))
    assert "1,024" in caught.value.fields["text"]


def test_an_attachment_is_stored_with_the_message(owner, account):
    chat = make_chat(account)
    message = service.queue_message(owner, chat, "", service.Attachment("shot.png", "image/png", b"\x89PNG"))
    db.session.commit()
    stored = db.session.get(MessageFile, message.id)
    assert stored.data == b"\x89PNG" and stored.mime_type == "image/png"
    assert message.media == {"kind": "photo", "mime_type": "image/png", "size": 4, "file_name": "shot.png"}
    assert chat.last_message_preview == "📎 shot.png"


def test_a_banned_account_cannot_send(owner):
    chat = make_chat(make_account(owner.organization, status="banned"))
    with pytest.raises(DomainError, match="banned"):
        service.queue_message(owner, chat, "Hi")


def test_a_retry_sends_the_same_row_with_the_same_random_id(owner, account):
    chat = make_chat(account)
    message = service.queue_message(owner, chat, "Hi")
    db.session.commit()
    random_id = message.random_id
    with pytest.raises(DomainError):
        service.retry_message(owner, message)  # it has not failed
    message.status, message.error = "failed", "PEER_FLOOD"
    db.session.commit()
    redis_store.client.delete(f"rq:queue:{send_queue_name(WORKER)}")
    service.retry_message(owner, message)
    db.session.commit()
    assert (message.status, message.error, message.random_id) == ("queued", None, random_id)
    assert db.session.scalar(select(func.count()).select_from(Message)) == 1
    assert holder_jobs() == [(dispatch.SEND_JOB, (message.id, message.account_id))]


def test_with_no_process_holding_the_account_the_row_waits(owner):
    chat = make_chat(make_account(owner.organization))
    service.queue_message(owner, chat, "Hi")
    db.session.commit()
    assert db.session.scalar(select(Message.status)) == "queued"


# -- reading -------------------------------------------------------------------------------------

def test_reading_a_chat_marks_the_newest_inbound_message_and_tells_telegram(owner, account):
    chat = make_chat(account, unread_count=2)
    make_message(chat, telegram_id=10)
    make_message(chat, telegram_id=11)
    make_message(chat, out=True, telegram_id=12)
    assert service.mark_read(owner, chat) is True
    db.session.commit()
    assert (chat.unread_count, chat.read_inbox_max_id) == (0, 11)
    assert holder_jobs() == [(dispatch.READ_JOB, (chat.id,))]
    assert service.mark_read(owner, chat) is False  # nothing new: Telegram is not asked again


def test_reading_up_to_a_message_leaves_the_later_ones_unread(owner, account):
    chat = make_chat(account, unread_count=3)
    first = make_message(chat, telegram_id=20)
    make_message(chat, telegram_id=21)
    make_message(chat, telegram_id=22)
    service.mark_read_up_to(owner, first)
    assert (chat.read_inbox_max_id, chat.unread_count) == (20, 2)


def test_mark_all_read_reads_only_what_the_reader_sees(owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    give_account(account, agent)
    mine = make_chat(account, unread_count=2)
    make_message(mine, telegram_id=5)
    hidden = make_chat(make_account(owner.organization), unread_count=4)
    assert service.mark_all_read(agent) == 1
    db.session.commit()
    assert (db.session.get(Chat, mine.id).unread_count, db.session.get(Chat, mine.id).read_inbox_max_id) == (0, 5)
    assert db.session.get(Chat, hidden.id).unread_count == 4
    assert holder_jobs() == [(dispatch.READ_JOB, (mine.id,))]


# -- assignment ----------------------------------------------------------------------------------

def test_managers_assign_chats_to_members(owner, account):
    chat = make_chat(account)
    agent = add_member(owner.organization, role=Role.AGENT)
    service.assign(owner, chat, agent.user_id)
    assert chat.assignee_id == agent.user_id
    with pytest.raises(DomainError):
        service.assign(owner, chat, make_member(Role.AGENT).user_id)  # not in this organization
    with pytest.raises(Forbidden):
        service.assign(agent, chat, None)
    service.assign(owner, chat, None)
    assert chat.assignee_id is None


# -- the CRM side --------------------------------------------------------------------------------

def test_a_deal_from_a_chat_without_a_contact_makes_the_contact_first(owner, account):
    chat = make_chat(account, title="Ivy Meyer", username="ivy_m", peer_id=555001, phone="447700900444")
    twin = make_chat(make_account(owner.organization), title="Ivy", peer_id=555001)
    deal = service.create_deal_from_chat(owner, chat, "")
    db.session.commit()
    contact = db.session.get(Contact, deal.contact_id)
    assert (contact.first_name, contact.last_name, contact.telegram_username, contact.telegram_user_id,
            contact.phone, contact.source) == ("Ivy", "Meyer", "ivy_m", 555001, "+447700900444", "Telegram")
    assert deal.title == "Ivy Meyer (Telegram)" and deal.status == "open"
    assert chat.contact_id == contact.id and db.session.get(Chat, twin.id).contact_id == contact.id


def test_a_chat_finds_the_contact_it_already_is(owner, account):
    contact = make_contact(owner, telegram_username="known_one")
    chat = make_chat(account, username="known_one")
    assert service.contact_for_chat(owner, chat).id == contact.id
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 1


def test_merging_contacts_carries_their_chats_to_the_survivor(owner, account):
    from app.blueprints.crm.records import service as crm

    keep, dupe = make_contact(owner, email="keep@example.com"), make_contact(owner, telegram_username="dupe")
    chat, unrelated = make_chat(account, contact_id=dupe.id), make_chat(account)
    crm.merge_contacts(owner, keep.id, [dupe.id])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Chat, chat.id).contact_id == keep.id
    assert db.session.get(Chat, unrelated.id).contact_id is None


def test_a_contacts_conversation_is_what_the_viewer_may_see_of_it(owner, account):
    contact = make_contact(owner, first_name="Ivy")
    agent = add_member(owner.organization, role=Role.AGENT)
    give_account(account, agent)
    seen = make_chat(account, contact_id=contact.id)
    hidden = make_chat(make_account(owner.organization), contact_id=contact.id)
    make_chat(account)  # someone else's chat
    old = make_message(seen, "First", date=utcnow() - timedelta(hours=2))
    reply = make_message(seen, "Our answer", out=True, author_id=owner.user_id, date=utcnow() - timedelta(hours=1))
    make_message(seen, "Gone", deleted_at=utcnow())
    secret = make_message(hidden, "Elsewhere")
    assert {c.id for c in service.contact_chats(owner, contact.id)} == {seen.id, hidden.id}
    assert [c.id for c in service.contact_chats(agent, contact.id)] == [seen.id]
    entries = service.contact_messages(service.contact_chats(agent, contact.id))
    assert [e.message.id for e in entries] == [reply.id, old.id]  # newest first, deleted left out
    assert entries[0].actor.id == owner.user_id and entries[1].actor is None
    assert entries[0].created_at == reply.date and entries[0].chat.id == seen.id
    everything = service.contact_chats(owner, contact.id)
    assert [e.message.id for e in service.contact_messages(everything, limit=1)] == [secret.id]
    assert service.contact_messages([]) == []


def test_a_deal_goes_to_the_chosen_stage(owner, account):
    from app.blueprints.pipeline.service import default_pipeline

    stage = default_pipeline(owner.org_id).stages[2]
    deal = service.create_deal_from_chat(owner, make_chat(account), "Pilot", stage.id, "1200")
    assert (deal.stage_id, str(deal.value)) == (stage.id, "1200.00")
    assert service.open_deals(deal.org_id, deal.contact_id) == [deal]
    with pytest.raises(DomainError):
        service.create_deal_from_chat(owner, make_chat(account), "Bad", None, "lots")
    assert db.session.scalar(select(func.count()).select_from(Deal)) >= 1


# -- figures -------------------------------------------------------------------------------------

def test_stats_count_chats_unread_and_messages_by_direction(owner, account):
    chat = make_chat(account, unread_count=1)
    make_message(chat, date=utcnow())
    make_message(chat, out=True, date=utcnow())
    make_message(chat, date=utcnow() - timedelta(days=3))
    make_message(chat, date=utcnow() - timedelta(days=9))
    figures = service.stats(owner)
    assert {k: figures[k] for k in ("chats", "unread_chats", "unread_messages", "in_today", "out_today",
                                    "in_7d", "out_7d")} == {
        "chats": 1, "unread_chats": 1, "unread_messages": 1, "in_today": 1, "out_today": 1, "in_7d": 2,
        "out_7d": 1}
    assert figures["accounts"][0]["account_id"] == account.id


def test_search_folds_cyrillic_case_and_yo_in_titles_and_message_text(owner, account):
    by_title = make_chat(account, title="Ёжик в тумане", username="hedgehog")
    by_text = make_chat(account, title="Медведь", username="bear")
    make_message(by_text, "Где мой ЁЖИК?")
    plain = make_chat(account, title="Ежиков Пётр", username="petr")
    make_chat(account, title="Заяц", username="hare")
    make_message(make_chat(account, title="Star"), "price: 100*2? [ok]")

    def found(q):
        return set(ids(service.list_chats(owner, service.InboxFilter(q=q))[0]))

    assert found("Ежик") == {by_title.id, by_text.id, plain.id}
    assert found("ЁЖИК") == {by_title.id, by_text.id, plain.id}
    assert found("петр") == {plain.id}
    assert found("в тумане") == {by_title.id}
    assert found("мой ёж") == {by_text.id}
    assert found("ж*к") == set()  # GLOB and regex characters are taken literally
    assert found("ёж?") == set()


def test_a_number_written_as_the_team_writes_it_finds_the_chat(owner, account):
    owner.organization.default_country = "RU"
    db.session.commit()
    by_phone = make_chat(account, title="Ivan", username="ivan", phone="79161112233")
    make_chat(account, title="Olga", username="olga", phone="79031234567")

    def found(q):
        return set(ids(service.list_chats(owner, service.InboxFilter(q=q))[0]))

    assert found("8 916 111-22-33") == {by_phone.id}
    assert found("+7 916 111 22 33") == {by_phone.id}
    assert found("111-22-33") == {by_phone.id}

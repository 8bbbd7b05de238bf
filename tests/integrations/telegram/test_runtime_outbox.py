"""The outbox through the runtime: exactly-once sends, floods, budgets, refusals, read marks."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from app.db_types import utcnow
from app.extensions import db, redis_store
from app.integrations.telegram.runtime import outbox
from tests.factories import make_org
from tests.integrations.telegram.conftest import PHONE
from tests.integrations.telegram.runtime_kit import (
    Doorbell,
    account_row,
    chat_with,
    eventually,
    make_account,
    message_row,
    on_loop,
    online,
    queue_message,
)


@pytest.fixture
def connected(runtime, world):
    """An account held and online in a running runtime: (account, runtime)."""
    account = make_account(make_org(), world, PHONE)
    rt = runtime()
    eventually(lambda: online(account.id), what="the account online")
    return account, rt


def sent(message_id: int):
    row = message_row(message_id)
    return row if row.status == "sent" else None


def test_a_queued_message_goes_out_with_its_random_id_and_is_recorded(connected, world, ann):
    account, _ = connected
    doorbell = Doorbell(account.org_id)

    message = queue_message(account, world, ann.profile.id, "Hi Ann, following up")

    row = eventually(lambda: sent(message.id), what="the message sent")
    [delivered] = world.messages(PHONE, ann.profile.id)
    assert (delivered.text, delivered.random_id) == ("Hi Ann, following up", message.random_id)
    assert (row.telegram_id, row.attempts, row.error) == (delivered.id, 1, None)
    eventually(lambda: doorbell.heard("inbox.message", message_id=message.id, new=False),
               what="the doorbell")
    doorbell.close()


def test_a_worker_killed_between_sending_and_recording_sends_exactly_once(runtime, world, ann, monkeypatch):
    account = make_account(make_org(), world, PHONE)
    handed_over = threading.Event()
    record = outbox.record

    async def die_before_recording(*args, **kwargs):
        handed_over.set()
        await threading_never()
    monkeypatch.setattr(outbox, "record", die_before_recording)
    first = runtime()
    eventually(lambda: online(account.id), what="the account online")
    message = queue_message(account, world, ann.profile.id, "Only once, please")
    assert handed_over.wait(10)
    first.kill()  # its lease expires; the row stays in "sending"
    assert message_row(message.id).status == "sending"
    assert len(world.messages(PHONE, ann.profile.id)) == 1

    monkeypatch.setattr(outbox, "record", record)
    runtime()

    row = eventually(lambda: sent(message.id), timeout=15, what="the retry recorded")
    [delivered] = world.messages(PHONE, ann.profile.id)
    assert (row.telegram_id, row.attempts) == (delivered.id, 2)
    assert world.requests_made(PHONE).count("messages.SendMessageRequest") == 2


async def threading_never():
    import asyncio

    await asyncio.Event().wait()


def test_a_flood_wait_reschedules_the_message_after_the_wait(connected, world, ann):
    account, _ = connected
    world.flood_next(PHONE, 30)
    before = utcnow()

    message = queue_message(account, world, ann.profile.id, "too fast")

    row = eventually(lambda: (r := message_row(message.id)).attempts == 1 and r.status == "queued" and r,
                     what="the message back in the queue")
    assert row.send_after >= before + timedelta(seconds=30)
    assert world.messages(PHONE, ann.profile.id) == []
    assert account_row(account.id).status == "online"  # a short wait is not a limit


def test_a_long_flood_wait_shows_the_account_limited_until_it_ends(connected, world, ann):
    account, _ = connected
    world.flood_next(PHONE, 4000)

    message = queue_message(account, world, ann.profile.id, "too fast")

    row = eventually(lambda: (r := account_row(account.id)).status == "limited" and r, what="limited")
    assert row.limited_until >= utcnow() + timedelta(seconds=3900)
    assert message_row(message.id).status == "queued"


def test_peer_flood_limits_the_account_for_a_day_and_holds_its_queue(connected, world, ann):
    account, rt = connected
    ben = world.add_person("Ben", "Okafor", username="ben_o")
    world.peer_flood(PHONE)
    doorbell = Doorbell(account.org_id)

    cold = queue_message(account, world, ann.profile.id, "cold hello")
    row = eventually(lambda: (r := account_row(account.id)).status == "limited" and r, what="limited")
    later = queue_message(account, world, ben.profile.id, "another cold hello", nudge=False)
    on_loop(rt, rt.connections[account.id].wake)  # a sweep of the outbox: nothing may go

    assert utcnow() + timedelta(hours=23) < row.limited_until <= utcnow() + timedelta(hours=24)
    assert "PeerFlood" in row.status_detail
    eventually(lambda: doorbell.heard("account.status", account_id=account.id, status="limited"),
               what="the status doorbell")
    assert (message_row(cold.id).status, message_row(cold.id).account_id) == ("queued", account.id)
    assert (message_row(later.id).status, message_row(later.id).attempts) == ("queued", 0)
    assert world.requests_made(PHONE).count("messages.SendMessageRequest") == 1
    doorbell.close()


def test_first_messages_beyond_the_daily_budget_wait_instead_of_failing(runtime, world, ann):
    account = make_account(make_org(), world, PHONE, config={"new_chats_per_day": 1})
    ben = world.add_person("Ben", "Okafor", username="ben_o")
    rt = runtime()
    eventually(lambda: online(account.id), what="the account online")

    first = queue_message(account, world, ann.profile.id, "Hi Ann")
    eventually(lambda: sent(first.id), what="the first one sent")
    second = queue_message(account, world, ben.profile.id, "Hi Ben")

    row = eventually(lambda: (r := message_row(second.id)).send_after and r, what="the second held")
    assert row.status == "queued" and row.send_after > utcnow() + timedelta(hours=23)
    assert world.messages(PHONE, ben.profile.id) == []
    assert rt.connections[account.id].online


def test_first_messages_are_spaced_but_replies_to_people_who_wrote_are_not(connected, world, ann):
    account, _ = connected
    ben = world.add_person("Ben", "Okafor", username="ben_o")
    cara = world.add_person("Cara", "Lind", username="cara_l")
    world.person_writes(cara.profile.id, PHONE, "Hi, question about pricing")
    eventually(lambda: (c := chat_with(account.id, cara.profile.id)) and c.has_inbound, what="Cara's message")

    first = queue_message(account, world, ann.profile.id, "Hi Ann")
    eventually(lambda: sent(first.id), what="the first outreach sent")
    second = queue_message(account, world, ben.profile.id, "Hi Ben")
    reply = queue_message(account, world, cara.profile.id, "Happy to help!")

    eventually(lambda: sent(reply.id), what="the reply sent")
    held = eventually(lambda: (r := message_row(second.id)).send_after and r, what="the second held")
    assert utcnow() + timedelta(seconds=30) < held.send_after <= utcnow() + timedelta(seconds=90)


def test_a_message_telegram_will_never_take_fails_with_a_reason(connected, world, ann):
    account, _ = connected

    message = queue_message(account, world, ann.profile.id, "x" * 5000)

    row = eventually(lambda: (r := message_row(message.id)).status == "failed" and r, what="failed")
    assert row.error == "The message is longer than Telegram allows (4,096 characters)."


def test_an_attachment_goes_out_as_media(connected, world, ann):
    account, _ = connected

    message = queue_message(account, world, ann.profile.id, "the deck",
                            file=(b"%PDF-1.4 deck", "application/pdf", "deck.pdf"))

    row = eventually(lambda: sent(message.id), what="sent")
    [delivered] = world.messages(PHONE, ann.profile.id)
    assert (delivered.media.data, delivered.media.file_name, delivered.text) == (
        b"%PDF-1.4 deck", "deck.pdf", "the deck")
    assert row.media["kind"] == "document" and row.media["file_name"] == "deck.pdf"


def test_a_limit_outlives_restarts_and_sending_resumes_when_it_ends(runtime, world, ann):
    account = make_account(make_org(), world, PHONE)
    first = runtime()
    eventually(lambda: online(account.id), what="online")
    world.peer_flood(PHONE)
    message = queue_message(account, world, ann.profile.id, "cold hello")
    eventually(lambda: account_row(account.id).status == "limited", what="limited")
    first.stop()
    world.peer_flood(PHONE, on=False)

    second = runtime()
    eventually(lambda: account.id in second.connections and second.connections[account.id].online,
               what="connected again")
    on_loop(second, second.connections[account.id].wake)  # a sweep of the outbox: nothing may go
    row = account_row(account.id)
    assert row.status == "limited" and "PeerFlood" in row.status_detail
    assert message_row(message.id).status == "queued"
    second.stop()

    row = account_row(account.id)
    row.limited_until = utcnow() - timedelta(seconds=1)  # a day later: limit and budgets are over
    db.session.commit()
    redis_store.client.delete(*redis_store.client.keys("tg:budget:*"))
    runtime()

    eventually(lambda: sent(message.id), what="sent once the limit ended")
    assert account_row(account.id).status == "online"
    assert len(world.messages(PHONE, ann.profile.id)) == 1

"""Prospects: people the team writes to first, found by username or phone, reacting as their persona says."""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest
from telethon import events, functions, types

from app.integrations.telegram.sandbox import World, app_world, demo_world, prospects
from app.integrations.telegram.sandbox.demo import demo_prospects
from tests.integrations.telegram.conftest import PHONE, async_test, eventually, signed_in

DELAY = 0.02  # the world's reply_delay: the slowest persona answers within 10 of them
QUIET = 30 * DELAY  # long enough that any answer would have come
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)


@pytest.fixture
def fast() -> World:
    world = World(reply_delay=DELAY, secret=b"prospects-test")
    world.add_account(PHONE, first_name="Dana", last_name="Sales", username="dana_bd")
    return world


def _incoming(client) -> list[tuple[int, str, float]]:
    """(sender id, text, loop time) of each incoming message, as handlers see them."""
    received: list[tuple[int, str, float]] = []

    async def on_message(event):
        received.append((event.sender_id, event.raw_text, asyncio.get_running_loop().time()))
    client.add_event_handler(on_message, events.NewMessage(incoming=True))
    return received


async def _write(client, username: str, text: str = "Hi! We help BD teams work Telegram.") -> float:
    await client.send_message(username, text)
    return asyncio.get_running_loop().time()


@async_test
async def test_a_prospect_is_found_by_username_and_by_phone_and_a_first_message_opens_the_chat(fast):
    olga = fast.add_prospect("Ольга", "Прохорова", username="olga_p", phone="+79165550901", language="ru",
                             persona=prospects.ASKS_QUESTION)
    fast.add_prospect("Grace", "Miller", username="grace_m", phone="+12025550901", persona=prospects.SILENT)
    client = await signed_in(fast)
    received = _incoming(client)
    assert await client.get_dialogs() == []

    by_username = await client.get_entity("olga_p")
    found = await client(functions.contacts.ImportContactsRequest([types.InputPhoneContact(
        client_id=1, phone="79165550901", first_name="Olga", last_name="")]))
    by_phone = await client.get_entity("+79165550901")  # now a contact: Telethon finds it by phone
    grace = await client(functions.contacts.ImportContactsRequest([types.InputPhoneContact(
        client_id=2, phone="+1 202 555 0901", first_name="Grace", last_name="")]))

    assert (by_username.id, by_username.first_name) == (olga.profile.id, "Ольга")
    assert [u.id for u in found.users] == [olga.profile.id] and found.users[0].contact
    assert by_phone.id == olga.profile.id and by_phone.username == "olga_p"
    assert [u.username for u in grace.users] == ["grace_m"]

    peer = types.InputPeerUser(found.users[0].id, found.users[0].access_hash)
    sent = await client.send_message(peer, "Добрый день, Ольга!")
    await eventually(lambda: len(received) == 1)

    assert [(m.out, m.text) for m in fast.messages(PHONE, olga.profile.id)] == [
        (True, "Добрый день, Ольга!"), (False, received[0][1])]
    (dialog,) = await client.get_dialogs()
    assert (dialog.entity.id, dialog.unread_count, dialog.message.text) == (olga.profile.id, 1, received[0][1])
    assert fast.account(PHONE).mailbox.dialogs[olga.profile.id].read_outbox_max_id == sent.id  # she read it


@async_test
async def test_a_silent_prospect_never_answers(fast):
    ru = fast.add_prospect("Павел", "Егоров", username="pavel_e", language="ru", persona=prospects.SILENT)
    en = fast.add_prospect("Henry", "Walker", username="henry_w", persona=prospects.SILENT)
    client = await signed_in(fast)
    received = _incoming(client)

    for username in ("pavel_e", "henry_w", "pavel_e"):
        await _write(client, username)
    await asyncio.sleep(QUIET)

    assert received == []
    assert [m.out for m in fast.messages(PHONE, ru.profile.id)] == [True, True]
    assert [m.out for m in fast.messages(PHONE, en.profile.id)] == [True]
    assert fast.account(PHONE).mailbox.dialogs[ru.profile.id].read_outbox_max_id == 0  # not even read


@async_test
async def test_a_prospect_who_replies_later_answers_in_their_language_after_the_delay_once(fast):
    people = {}
    for i in range(6):
        people[fast.add_prospect("Ирина", "Орлова", username=f"irina_{i}", language="ru",
                                 persona=prospects.REPLIES_LATER).profile.id] = "ru"
        people[fast.add_prospect("Ruby", "Clarke", username=f"ruby_{i}", language="en",
                                 persona=prospects.REPLIES_LATER).profile.id] = "en"
    account = fast.account(PHONE)
    plans = {pid: [text for _, text in prospects.reaction(fast, account, fast.people[pid])] for pid in people}
    client = await signed_in(fast)
    received = _incoming(client)

    sent_at = {pid: await _write(client, fast.profiles[pid].username) for pid in people}
    await eventually(lambda: len(received) == sum(map(len, plans.values())))
    for pid in people:  # a later message meets silence
        await _write(client, fast.profiles[pid].username, "Following up on my message")
    await asyncio.sleep(QUIET)

    by_person: dict[int, list[str]] = {}
    for sender, text, at in received:
        if not by_person.get(sender):
            assert at - sent_at[sender] >= 0.9 * 3 * DELAY  # replies_later waits 3-8 reply delays
        by_person.setdefault(sender, []).append(text)
    assert by_person == plans
    assert {len(texts) for texts in plans.values()} == {1, 2}  # a second line to some, not all
    for pid, language in people.items():
        first, *second = by_person[pid]
        assert first in prospects.LATER_REPLIES[language]
        assert all(line in prospects.LATER_FOLLOW_UPS[language] for line in second)
        assert all(bool(CYRILLIC.search(line)) is (language == "ru") for line in by_person[pid])


@async_test
async def test_a_prospect_who_opts_out_says_so_in_their_language_and_never_writes_again(fast):
    ru = fast.add_prospect("Наталья", "Попова", username="natalya_p", language="ru", persona=prospects.OPTS_OUT)
    en = fast.add_prospect("Jack", "Cooper", username="jack_c", language="en", persona=prospects.OPTS_OUT)
    client = await signed_in(fast)
    received = _incoming(client)

    await _write(client, "natalya_p", "Здравствуйте! Мы помогаем командам продаж в Telegram.")
    await _write(client, "jack_c")
    await eventually(lambda: len(received) == 2)
    await _write(client, "natalya_p", "Может быть, всё же созвонимся?")
    await _write(client, "jack_c", "Just one more thing")
    await asyncio.sleep(QUIET)

    said = {sender: text for sender, text, _ in received}
    assert len(received) == 2
    assert said[ru.profile.id] in prospects.OPT_OUTS["ru"] and CYRILLIC.search(said[ru.profile.id])
    assert said[en.profile.id] in prospects.OPT_OUTS["en"] and not CYRILLIC.search(said[en.profile.id])
    assert "Не пишите мне больше" in prospects.OPT_OUTS["ru"] and "stop" in prospects.OPT_OUTS["en"]


@async_test
async def test_a_prospect_who_asks_a_question_asks_one_in_their_language(fast):
    ru = fast.add_prospect("Максим", "Козлов", username="maxim_k", language="ru", persona=prospects.ASKS_QUESTION)
    en = fast.add_prospect("Lily", "Evans", username="lily_e", language="en", persona=prospects.ASKS_QUESTION)
    client = await signed_in(fast)
    received = _incoming(client)

    await _write(client, "maxim_k")
    await _write(client, "lily_e")
    await eventually(lambda: len(received) == 2)
    await asyncio.sleep(QUIET)

    said = {sender: text for sender, text, _ in received}
    assert len(received) == 2
    assert said[ru.profile.id] in prospects.QUESTIONS["ru"] and CYRILLIC.search(said[ru.profile.id])
    assert said[en.profile.id] in prospects.QUESTIONS["en"] and not CYRILLIC.search(said[en.profile.id])
    assert all(text.endswith("?") for text in said.values())


@async_test
async def test_each_account_gets_the_prospects_first_reaction_of_its_own():
    world = World(reply_delay=DELAY)
    second = "9996631234"
    world.add_account(PHONE)
    world.add_account(second)
    kemi = world.add_prospect("Kemi", "Adams", username="kemi_a", persona=prospects.OPTS_OUT)
    first_client, second_client = await signed_in(world), await signed_in(world, second)
    first_received, second_received = _incoming(first_client), _incoming(second_client)

    await _write(first_client, "kemi_a")
    await eventually(lambda: len(first_received) == 1)
    await _write(second_client, "kemi_a")
    await eventually(lambda: len(second_received) == 1)
    await asyncio.sleep(QUIET)

    assert len(first_received) == 1
    assert [m.out for m in world.messages(PHONE, kemi.profile.id)] == [True, False]
    assert second_received[0][1] in prospects.OPT_OUTS["en"]


def test_personas_are_derived_from_the_world_secret_and_the_person_unless_given():
    def personas(secret: bytes) -> list[str]:
        world = World(reply_delay=None, secret=secret)
        return [world.add_prospect(f"P{i}").persona for i in range(200)]

    assert personas(b"one world") == personas(b"one world")
    assert personas(b"one world") != personas(b"another world")
    assert prospects.assign(b"one world", 7_000_000_001) == prospects.assign(b"one world", 7_000_000_001)
    world = World(reply_delay=None, secret=b"one world")
    given = [world.add_prospect(f"P{i}", persona=prospects.OPTS_OUT).persona for i in range(20)]
    assert given == [prospects.OPTS_OUT] * 20
    with pytest.raises(ValueError, match="persona"):
        world.add_prospect("Nobody", persona="chatty")
    with pytest.raises(ValueError, match="speaks"):
        world.add_prospect("Nobody", language="de")
    assert world.add_person("Conversation").persona is None  # people who write first keep answering


@pytest.mark.parametrize("secret", [b"relay-sandbox-world", b"seed-2", b"seed-3"])
def test_personas_come_in_the_documented_proportions(secret):
    world = World(reply_delay=None, secret=secret)
    counts = Counter(world.add_prospect(f"P{i}").persona for i in range(1000))

    assert set(counts) == set(prospects.PERSONAS)
    assert prospects.SHARES == {prospects.SILENT: 0.6, prospects.REPLIES_LATER: 0.2,
                                prospects.ASKS_QUESTION: 0.1, prospects.OPTS_OUT: 0.1}
    for persona, share in prospects.SHARES.items():
        assert abs(counts[persona] / 1000 - share) <= 0.03, (persona, counts)


@pytest.mark.parametrize("make", [lambda: demo_world(reply_delay=None), lambda: app_world(reply_delay=None)])
def test_the_demo_worlds_have_prospects_in_no_dialog(make):
    world = make()
    newcomer = world.register("9996641111")  # app_world's welcome conversations leave them out too
    listed = demo_prospects(world)

    assert len(listed) == 40
    assert Counter(p.language for p in listed) == {"ru": 20, "en": 20}
    assert Counter(p.persona for p in listed) == {prospects.SILENT: 24, prospects.REPLIES_LATER: 8,
                                                   prospects.ASKS_QUESTION: 4, prospects.OPTS_OUT: 4}
    assert len({p.username for p in listed}) == len({p.phone for p in listed}) == 40
    assert all(re.fullmatch(r"\+\d{11}", p.phone) and re.fullmatch(r"[a-z_]+", p.username) for p in listed)
    assert all(bool(CYRILLIC.search(p.first_name + p.last_name)) is (p.language == "ru") for p in listed)
    ids = {world.by_username(p.username).id for p in listed}
    assert all(not ids & account.mailbox.dialogs.keys() for account in world.accounts.values())
    assert all(a.mailbox.dialogs for a in world.accounts.values() if a is not newcomer)  # the others are


@async_test
async def test_a_demo_campaign_reaches_prospects_of_the_app_world():
    world = app_world(reply_delay=DELAY)
    listed = demo_prospects(world)
    client = await signed_in(world, "9996621234")
    received = _incoming(client)
    before = {d.entity.username for d in await client.get_dialogs()}
    question = next(p for p in listed if p.persona == prospects.ASKS_QUESTION and p.language == "ru")
    quiet = next(p for p in listed if p.persona == prospects.SILENT and p.language == "en")

    assert not before & {p.username for p in listed}
    await _write(client, question.username, "Добрый день! Мы делаем CRM для Telegram.")
    await _write(client, quiet.username)
    await eventually(lambda: len(received) == 1)
    await asyncio.sleep(QUIET)

    assert len(received) == 1 and received[0][1] in prospects.QUESTIONS["ru"]
    after = {d.entity.username for d in await client.get_dialogs()}
    assert after - before == {question.username, quiet.username}


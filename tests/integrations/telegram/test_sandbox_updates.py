"""Updates reach the client through its own pipeline: pushes, gaps, getDifference, reconnects."""

from __future__ import annotations

import asyncio
import threading

from telethon import events

from app.integrations.telegram.sandbox import World
from tests.integrations.telegram.conftest import PHONE, async_test, eventually, signed_in


def _collect(client) -> list[str]:
    texts: list[str] = []

    async def on_message(event):
        texts.append(event.raw_text)
    client.add_event_handler(on_message, events.NewMessage(incoming=True))
    return texts


@async_test
async def test_a_person_replies_after_the_delay_and_handlers_see_it():
    world = World(reply_delay=0.05, replies=["Sounds good", "Tell me more"])
    world.add_account(PHONE)
    ann = world.add_person("Ann", username="ann_lee")
    client = await signed_in(world)
    texts = _collect(client)
    reads = []

    async def on_read(event):
        reads.append(event.max_id)
    client.add_event_handler(on_read, events.MessageRead(inbox=False))

    sent = await client.send_message("ann_lee", "Hi Ann, quick question")
    await eventually(lambda: texts == ["Sounds good"])
    await client.send_message("ann_lee", "Here it is")
    await eventually(lambda: texts == ["Sounds good", "Tell me more"])

    assert reads[0] == sent.id
    assert [m.text for m in world.messages(PHONE, ann.profile.id)] == [
        "Hi Ann, quick question", "Sounds good", "Here it is", "Tell me more"]


@async_test
async def test_pushes_keep_one_pts_sequence_per_account(world, ann):
    client = await signed_in(world)
    texts = _collect(client)
    before = world.requests_made(PHONE).count("updates.GetDifferenceRequest")

    for text in ("one", "two", "three"):
        world.person_writes(ann.profile.id, PHONE, text)
    await client.send_message("ann_lee", "mine")
    world.person_writes(ann.profile.id, PHONE, "four")
    await eventually(lambda: len(texts) == 4)
    await asyncio.sleep(0.7)  # longer than Telethon's gap timeout: no getDifference may follow

    assert texts == ["one", "two", "three", "four"]
    assert world.requests_made(PHONE).count("updates.GetDifferenceRequest") == before


@async_test
async def test_a_lost_push_is_repaired_through_get_difference(world, ann):
    client = await signed_in(world)
    texts = _collect(client)
    before = world.requests_made(PHONE).count("updates.GetDifferenceRequest")

    world.person_writes(ann.profile.id, PHONE, "lost on the way", push=False)
    world.person_writes(ann.profile.id, PHONE, "arrives")  # its pts leaves a gap of one
    await eventually(lambda: len(texts) == 2)

    assert sorted(texts) == ["arrives", "lost on the way"]
    assert world.requests_made(PHONE).count("updates.GetDifferenceRequest") == before + 1


@async_test
async def test_messages_sent_while_disconnected_arrive_after_reconnect(world, ann):
    client = await signed_in(world)
    texts = _collect(client)
    await client.disconnect()

    world.person_writes(ann.profile.id, PHONE, "while you were away")
    world.person_writes(ann.profile.id, PHONE, "still there?")
    await client.connect()

    await eventually(lambda: len(texts) == 2)
    assert texts == ["while you were away", "still there?"]


@async_test
async def test_a_long_absence_is_fetched_in_difference_slices():
    world = World(reply_delay=None, difference_limit=10)
    world.add_account(PHONE)
    ann = world.add_person("Ann", username="ann_lee")
    client = await signed_in(world)
    texts = _collect(client)
    await client.disconnect()

    for i in range(35):
        world.person_writes(ann.profile.id, PHONE, f"m{i}")
    await client.connect()

    await eventually(lambda: len(texts) == 35)
    assert sorted(texts, key=lambda t: int(t[1:])) == [f"m{i}" for i in range(35)]
    assert world.requests_made(PHONE).count("updates.GetDifferenceRequest") >= 4


@async_test
async def test_a_dropped_network_holds_requests_and_catches_up_on_return(world, ann):
    client = await signed_in(world)
    texts = _collect(client)

    world.drop_connections(PHONE)
    world.person_writes(ann.profile.id, PHONE, "during the outage")
    sending = asyncio.create_task(client.send_message("ann_lee", "queued"))
    await asyncio.sleep(0.2)
    assert texts == [] and not sending.done()

    world.restore_connections(PHONE)
    sent = await sending
    await eventually(lambda: texts == ["during the outage"])
    assert world.messages(PHONE, ann.profile.id)[-1].id == sent.id


@async_test
async def test_people_can_write_from_another_thread(world, ann):
    client = await signed_in(world)
    texts = _collect(client)

    writer = threading.Thread(target=world.person_writes, args=(ann.profile.id, PHONE, "from a thread"))
    writer.start()
    writer.join()

    await eventually(lambda: texts == ["from a thread"])


@async_test
async def test_two_sandbox_accounts_talk_to_each_other(world):
    world.add_account("9996637777", first_name="Eve", username="eve_bd")
    dana = await signed_in(world)
    eve = await signed_in(world, "9996637777")
    eve_texts = _collect(eve)
    reads = []

    async def on_read(event):
        reads.append(event.max_id)
    dana.add_event_handler(on_read, events.MessageRead(inbox=False))

    sent = await dana.send_message("eve_bd", "hello colleague")
    await eventually(lambda: eve_texts == ["hello colleague"])
    await eve.send_read_acknowledge("dana_bd")

    await eventually(lambda: reads == [sent.id])


@async_test
async def test_one_world_serves_two_hundred_accounts():
    world = World(reply_delay=None)
    phones = [f"999661{i:04d}" for i in range(200)]
    for phone in phones:
        world.add_account(phone)
    clients = [await signed_in(world, phone) for phone in phones]
    received = [_collect(client) for client in clients]

    for phone in phones:
        world.person_writes(world.add_person("Lead").profile.id, phone, f"hi {phone}")

    await eventually(lambda: all(texts for texts in received), timeout=10)
    assert received == [[f"hi {phone}"] for phone in phones]
    assert {world.account(phone).mailbox.pts for phone in phones} == {2}

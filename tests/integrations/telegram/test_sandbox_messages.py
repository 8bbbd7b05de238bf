"""Dialogs, history, sending (exactly once per random_id), reading, editing, deleting, media."""

from __future__ import annotations

import pytest
from telethon import errors, events, functions, types

from app.integrations.telegram.sandbox import demo_world
from tests.integrations.telegram.conftest import PHONE, async_test, eventually, new_client, signed_in


@async_test
async def test_dialogs_list_newest_first_with_unread_counts(world, ann):
    bob = world.add_person("Bob", username="bob")
    world.person_writes(ann.profile.id, PHONE, "hi from ann")
    world.person_writes(bob.profile.id, PHONE, "hi from bob")
    world.person_writes(bob.profile.id, PHONE, "are you there?")
    client = await signed_in(world)

    dialogs = await client.get_dialogs()

    assert [(d.name, d.message.text, d.unread_count) for d in dialogs] == [
        ("Bob", "are you there?", 2), ("Ann Lee", "hi from ann", 1)]
    assert dialogs[1].entity.username == "ann_lee"
    await client.disconnect()


@async_test
async def test_dialogs_page_past_the_hundred_per_call_limit(world):
    people = [world.add_person(f"P{i}") for i in range(130)]
    for person in people:
        world.person_writes(person.profile.id, PHONE, f"hello {person.profile.first_name}")
    client = await signed_in(world)

    dialogs = await client.get_dialogs()

    assert len(dialogs) == 130
    assert [d.name for d in dialogs] == [f"P{i}" for i in reversed(range(130))]
    assert world.requests_made(PHONE).count("messages.GetDialogsRequest") == 2
    await client.disconnect()


@async_test
async def test_iter_messages_pages_and_honours_offsets(world, ann):
    for i in range(1, 251):
        if i % 2:
            world.person_writes(ann.profile.id, PHONE, f"m{i}")
        else:
            world.seed_outgoing(PHONE, ann.profile.id, f"m{i}")
    client = await signed_in(world)

    # An explicit limit: with limit=None Telethon sleeps a second between chunks of 100.
    newest_first = [m.id async for m in client.iter_messages("ann_lee", limit=1000)]
    oldest_first = [m.text async for m in client.iter_messages("ann_lee", limit=1000, reverse=True)]
    below_100 = [m.id async for m in client.iter_messages("ann_lee", limit=10, offset_id=100)]
    above_240 = [m.id async for m in client.iter_messages("ann_lee", limit=1000, min_id=240)]
    first_ten = [m.id async for m in client.iter_messages("ann_lee", reverse=True, max_id=11)]
    page = await client.get_messages("ann_lee", limit=5)

    assert newest_first == list(range(250, 0, -1))
    assert oldest_first == [f"m{i}" for i in range(1, 251)]
    assert below_100 == list(range(99, 89, -1))
    assert above_240 == list(range(250, 240, -1))
    assert first_ten == list(range(1, 11))
    assert page.total == 250
    assert [m.out for m in page] == [True, False, True, False, True]
    await client.disconnect()


@async_test
async def test_send_message_is_stored_and_listed(world, ann):
    client = await signed_in(world)

    sent = await client.send_message("ann_lee", "Hello **Ann**")

    assert sent.text == "Hello **Ann**" and sent.out
    stored = world.messages(PHONE, ann.profile.id)
    assert [(m.id, m.text, m.out) for m in stored] == [(sent.id, "Hello Ann", True)]
    assert isinstance(stored[0].entities[0], types.MessageEntityBold)
    assert [m.text async for m in client.iter_messages(ann.profile.id)] == ["Hello **Ann**"]
    await client.disconnect()


@async_test
async def test_the_same_random_id_sends_once_and_returns_the_original(world, ann):
    client = await signed_in(world)
    peer = await client.get_input_entity("ann_lee")

    first = await client(functions.messages.SendMessageRequest(peer, "exactly once", random_id=424242))
    retry = await client(functions.messages.SendMessageRequest(peer, "exactly once", random_id=424242))
    other = await client(functions.messages.SendMessageRequest(peer, "exactly once", random_id=434343))

    assert isinstance(first, types.UpdateShortSentMessage)
    assert (retry.id, retry.pts, retry.date) == (first.id, first.pts, first.date)
    assert other.id == first.id + 1
    assert [m.random_id for m in world.messages(PHONE, ann.profile.id)] == [424242, 434343]
    assert await client.get_messages(ann.profile.id, limit=0) is not None
    assert (await client.get_messages(ann.profile.id, limit=0)).total == 2
    await client.disconnect()


@async_test
async def test_read_acknowledge_clears_unread_and_moves_pts(world, ann):
    world.person_writes(ann.profile.id, PHONE, "one")
    last = world.person_writes(ann.profile.id, PHONE, "two")
    client = await signed_in(world)
    pts_before = world.account(PHONE).mailbox.pts

    assert await client.send_read_acknowledge("ann_lee")

    mailbox = world.account(PHONE).mailbox
    assert mailbox.dialogs[ann.profile.id].read_inbox_max_id == last.id
    assert mailbox.pts == pts_before + 1
    assert (await client.get_dialogs())[0].unread_count == 0
    await client.disconnect()


@async_test
async def test_edit_and_delete_change_the_stored_conversation(world, ann):
    client = await signed_in(world)
    keep = await client.send_message("ann_lee", "keep me")
    typo = await client.send_message("ann_lee", "teh typo")

    await typo.edit("the typo")
    assert [m.text for m in world.messages(PHONE, ann.profile.id)] == ["keep me", "the typo"]
    with pytest.raises(errors.MessageNotModifiedError):
        await typo.edit("the typo")

    await client.delete_messages("ann_lee", [typo.id])
    assert [m.id async for m in client.iter_messages("ann_lee")] == [keep.id]
    await client.disconnect()


@async_test
async def test_unknown_username_and_forged_access_hash_are_refused(world, ann):
    client = await signed_in(world)
    with pytest.raises(ValueError, match="nobody_here") as refused:  # Telethon wraps the RPC error
        await client.send_message("nobody_here", "hi")
    assert isinstance(refused.value.__cause__, errors.UsernameNotOccupiedError)
    forged = types.InputPeerUser(ann.profile.id, access_hash=1234)
    with pytest.raises(errors.PeerIdInvalidError):
        await client(functions.messages.GetHistoryRequest(forged, 0, None, 0, 10, 0, 0, 0))
    await client.disconnect()


@async_test
async def test_contacts_import_by_phone_then_message_them(world, ann):
    client = await signed_in(world)
    imported = await client(functions.contacts.ImportContactsRequest([
        types.InputPhoneContact(client_id=1, phone="+1 555 0001", first_name="Ann", last_name=""),
        types.InputPhoneContact(client_id=2, phone="+1 555 9999", first_name="Nobody", last_name=""),
    ]))
    assert [(c.user_id, c.client_id) for c in imported.imported] == [(ann.profile.id, 1)]
    await client.send_message(imported.users[0], "found you by phone")
    assert world.messages(PHONE, ann.profile.id)[0].text == "found you by phone"
    await client.disconnect()


@async_test
async def test_a_document_from_a_person_carries_its_metadata_and_bytes(world, ann):
    client = await signed_in(world)
    received = []
    client.add_event_handler(lambda e: _append(received, e), events.NewMessage(incoming=True))
    content = bytes(range(256)) * 1200  # 300 KB: several upload.getFile chunks

    world.person_sends_document(ann.profile.id, PHONE, content, file_name="deck.pdf",
                                mime_type="application/pdf", caption="our deck")
    await eventually(lambda: received)

    message = received[0].message
    assert (message.text, message.file.name, message.file.mime_type, message.file.size) == (
        "our deck", "deck.pdf", "application/pdf", len(content))
    assert await message.download_media(bytes) == content
    await client.disconnect()


@async_test
async def test_a_photo_from_a_person_downloads(world, ann):
    world.person_sends_photo(ann.profile.id, PHONE, b"\xff\xd8jpeg" * 5000, width=800, height=600)
    client = await signed_in(world)

    [message] = await client.get_messages("ann_lee", limit=1)

    assert message.photo is not None and message.photo.sizes[-1].w == 800
    assert await message.download_media(bytes) == b"\xff\xd8jpeg" * 5000
    await client.disconnect()


@async_test
async def test_sending_a_file_uploads_it(world, ann, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"call notes\n" * 100)
    client = await signed_in(world)

    sent = await client.send_file("ann_lee", path, caption="notes", force_document=True)

    assert (sent.file.name, sent.text) == ("notes.txt", "notes")
    stored = world.messages(PHONE, ann.profile.id)[-1]
    assert stored.media.data == b"call notes\n" * 100
    await client.disconnect()


async def _append(received, event):
    received.append(event)


@async_test
async def test_the_demo_world_has_live_conversations():
    world = demo_world(accounts=2, people_per_account=3, reply_delay=0.05)
    client = new_client(world)
    await client.connect()
    await client.send_code_request("9996620001")
    await client.sign_in("9996620001", "22222")
    texts = []

    async def on_message(event):
        texts.append(event.raw_text)
    client.add_event_handler(on_message, events.NewMessage(incoming=True))

    dialogs = await client.get_dialogs()
    assert len(dialogs) == 3 and sum(d.unread_count for d in dialogs) == 3
    await client.send_message(dialogs[0].entity, "Let's talk")
    await eventually(lambda: texts == ["Thanks, got it!"])

"""Failures on demand (FloodWait, PeerFlood) and loud failures for requests the sandbox lacks."""

from __future__ import annotations

import pytest
from telethon import errors, functions

from app.integrations.telegram.sandbox import UnsupportedRequest
from tests.integrations.telegram.conftest import PHONE, async_test, signed_in


@async_test
async def test_flood_wait_on_demand_raises_with_its_seconds(world, ann):
    client = await signed_in(world, flood_sleep_threshold=0)
    world.flood_next(PHONE, 42)

    with pytest.raises(errors.FloodWaitError) as flood:
        await client.send_message("ann_lee", "too fast")

    assert flood.value.seconds == 42
    assert world.messages(PHONE, ann.profile.id) == []
    assert await client.get_dialogs() is not None  # other requests are not flooded


@async_test
async def test_flood_wait_can_target_another_request(world, ann):
    client = await signed_in(world, flood_sleep_threshold=0)
    world.flood_next(PHONE, 2, requests=[functions.contacts.ResolveUsernameRequest])

    with pytest.raises(errors.FloodWaitError) as flood:
        await client.get_input_entity("ann_lee")

    assert flood.value.seconds == 2
    # Telethon remembers the wait per request type but lets waits of 3 s or less through again.
    assert (await client.get_input_entity("ann_lee")).user_id == ann.profile.id


@async_test
async def test_a_short_flood_wait_is_slept_through_by_telethon(world, ann):
    client = await signed_in(world, flood_sleep_threshold=5)
    world.flood_next(PHONE, 1)

    sent = await client.send_message("ann_lee", "after a nap")

    assert [m.id for m in world.messages(PHONE, ann.profile.id)] == [sent.id]
    assert world.requests_made(PHONE).count("messages.SendMessageRequest") == 2


@async_test
async def test_peer_flood_blocks_cold_outreach_but_not_replies(world, ann):
    warm = world.add_person("Warm", username="warm_lead")
    world.person_writes(warm.profile.id, PHONE, "hi, I wrote first")
    client = await signed_in(world)
    world.peer_flood(PHONE)

    with pytest.raises(errors.PeerFloodError):
        await client.send_message("ann_lee", "cold hello")
    await client.send_message("warm_lead", "thanks for writing")

    world.peer_flood(PHONE, on=False)
    await client.send_message("ann_lee", "cold hello")
    assert [m.text for m in world.messages(PHONE, ann.profile.id)] == ["cold hello"]


@async_test
async def test_a_request_the_sandbox_lacks_fails_naming_its_tl_type(world):
    client = await signed_in(world)

    with pytest.raises(UnsupportedRequest, match=r"help\.GetCountriesListRequest"):
        await client(functions.help.GetCountriesListRequest(lang_code="en", hash=0))

    assert (await client.get_me()).phone == PHONE  # the client survives it

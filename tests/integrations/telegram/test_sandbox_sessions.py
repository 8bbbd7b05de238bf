"""Sessions the app stored survive a sandbox restart; new sandbox accounts come with conversations."""

from __future__ import annotations

from telethon import events
from telethon.sessions import StringSession

from app.integrations.telegram.sandbox import World, app_world, new_session_string
from tests.integrations.telegram.conftest import PHONE, async_test, eventually, new_client


@async_test
async def test_a_stored_session_is_re_admitted_by_a_fresh_world():
    stored = new_session_string()
    world = World(reply_delay=None)
    world.add_account(PHONE, first_name="Dana")

    assert world.adopt_session(stored, PHONE)
    client = new_client(world, stored)
    await client.connect()

    assert (await client.get_me()).first_name == "Dana"


@async_test
async def test_a_logged_out_session_is_not_re_admitted(world):
    stored = world.login_session(PHONE)
    client = new_client(world, stored)
    await client.connect()
    await client.log_out()

    assert not world.adopt_session(stored, PHONE)
    assert world.sessions[StringSession(stored).auth_key.key_id].account is None


@async_test
async def test_an_account_new_to_the_app_world_has_people_who_wrote_and_answer():
    world = app_world(reply_delay=0.05)
    client = new_client(world)
    await client.connect()
    await client.send_code_request("9996641111")
    await client.sign_in("9996641111", "44444")

    answers = []

    async def on_message(event):
        answers.append(event.raw_text)
    client.add_event_handler(on_message, events.NewMessage(incoming=True))

    dialogs = await client.get_dialogs()
    assert len(dialogs) == 6 and all(d.unread_count for d in dialogs)  # 4 English, 2 Russian-speaking
    assert {d.entity.username for d in dialogs} >= {"olivia_kowalski", "liam_ng", "anna_smirnova"}
    await client.send_message(dialogs[0].entity, "Thanks for writing!")
    await eventually(lambda: len(answers) == 1)


def test_the_app_world_has_the_demo_accounts_with_history():
    world = app_world()
    assert [len(world.account(p).mailbox.dialogs) for p in ("9996621234", "9996631234")] == [9, 5]

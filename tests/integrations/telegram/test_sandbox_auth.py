"""Signing in to the sandbox through Telethon's own login API: code, two-step password, QR."""

from __future__ import annotations

import asyncio

import pytest
from telethon import errors

from app.integrations.telegram.sandbox import World, login_code
from tests.integrations.telegram.conftest import PHONE, async_test, new_client, signed_in


def test_login_code_follows_the_test_number_convention():
    assert login_code("9996621234") == "22222"
    assert login_code("+999 667 0000") == "77777"
    with pytest.raises(ValueError):
        login_code("15551234567")


@async_test
async def test_code_login_signs_the_client_in(world):
    client = new_client(world)
    await client.connect()
    assert not await client.is_user_authorized()
    assert await client.get_me() is None

    sent = await client.send_code_request("+" + PHONE)
    assert sent.type.length == 5
    me = await client.sign_in(PHONE, "22222")

    assert (me.phone, me.first_name, me.username) == (PHONE, "Dana", "dana_bd")
    assert await client.is_user_authorized()
    assert (await client.get_me()).id == world.account(PHONE).profile.id
    await client.disconnect()


@async_test
async def test_a_wrong_code_is_refused_and_the_right_one_still_works(world):
    client = new_client(world)
    await client.connect()
    await client.send_code_request(PHONE)
    with pytest.raises(errors.PhoneCodeInvalidError):
        await client.sign_in(PHONE, "12345")
    assert not await client.is_user_authorized()
    assert (await client.sign_in(PHONE, "22222")).phone == PHONE
    await client.disconnect()


@async_test
async def test_a_number_outside_the_test_range_is_invalid(world):
    client = new_client(world)
    await client.connect()
    with pytest.raises(errors.PhoneNumberInvalidError):
        await client.send_code_request("+15551234567")
    await client.disconnect()


@async_test
async def test_two_step_password_is_checked_with_srp(world):
    world.add_account("9996645678", password="correct horse", hint="horse")
    client = new_client(world)
    await client.connect()
    await client.send_code_request("9996645678")
    with pytest.raises(errors.SessionPasswordNeededError):
        await client.sign_in("9996645678", "44444")
    with pytest.raises(errors.PasswordHashInvalidError):
        await client.sign_in(password="wrong horse")
    assert not await client.is_user_authorized()

    me = await client.sign_in(password="correct horse")

    assert me.phone == "9996645678"
    assert await client.is_user_authorized()
    await client.disconnect()


@async_test
async def test_qr_login_completes_when_the_phone_scans_the_code(world):
    client = new_client(world)
    await client.connect()
    qr = await client.qr_login()
    assert qr.url.startswith("tg://login?token=")
    waiting = asyncio.create_task(qr.wait(timeout=5))
    await asyncio.sleep(0.05)  # Telethon wants wait() running before the scan

    world.accept_qr(qr.url, PHONE)
    user = await waiting

    assert user.phone == PHONE
    assert await client.is_user_authorized()
    await client.disconnect()


@async_test
async def test_qr_login_on_a_two_step_account_asks_for_the_password(world):
    world.add_account("9996645678", password="pw")
    client = new_client(world)
    await client.connect()
    qr = await client.qr_login()
    waiting = asyncio.create_task(qr.wait(timeout=5))
    await asyncio.sleep(0.05)
    world.accept_qr(qr.token, "9996645678")
    with pytest.raises(errors.SessionPasswordNeededError):
        await waiting
    assert (await client.sign_in(password="pw")).phone == "9996645678"
    await client.disconnect()


@async_test
async def test_a_saved_session_string_stays_signed_in(world):
    first = new_client(world)
    await first.connect()
    await first.send_code_request(PHONE)
    me = await first.sign_in(PHONE, "22222")
    saved = first.session.save()
    await first.disconnect()

    again = new_client(world, saved)
    await again.connect()
    assert (await again.get_me()).id == me.id
    await again.disconnect()


@async_test
async def test_signed_out_sessions_get_auth_key_unregistered(world):
    client = new_client(world)
    await client.connect()
    with pytest.raises(errors.AuthKeyUnregisteredError):
        await client.get_dialogs()
    await client.disconnect()


@async_test
async def test_log_out_ends_the_session(world):
    client = await signed_in(world)
    saved = client.session.save()
    assert await client.log_out()
    again = new_client(world, saved)
    await again.connect()
    assert not await again.is_user_authorized()
    await again.disconnect()


@async_test
async def test_unknown_test_numbers_register_unless_the_world_says_otherwise():
    strict = World(auto_register=False)
    client = new_client(strict)
    await client.connect()
    await client.send_code_request("9996631111")
    with pytest.raises(errors.PhoneNumberUnoccupiedError):
        await client.sign_in("9996631111", "33333")
    await client.disconnect()

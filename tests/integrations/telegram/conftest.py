"""Fixtures for the Telegram sandbox: a world with one account and one person, and async helpers.

The project has no pytest-asyncio: each test is a coroutine run by ``asyncio.run`` through
``async_test``, in a thread of its own (Playwright's sync API leaves a loop running in the main
thread of the suite), bounded so a hang fails the test instead of the suite. Clients made with
``new_client``/``signed_in`` are disconnected afterwards even when the test fails: asyncio.run
cannot cancel a connected client's update loop cleanly and would hang.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from telethon import TelegramClient

from app.integrations.telegram.sandbox import World, sandbox_client
from app.integrations.telegram.sandbox.records import Person

PHONE = "9996621234"
TIMEOUT = 15


_open: list[TelegramClient] = []


def async_test(test: Callable) -> Callable:
    async def guarded(*args, **kwargs):
        try:
            return await asyncio.wait_for(test(*args, **kwargs), TIMEOUT)
        finally:
            while _open:
                await _open.pop().disconnect()

    @functools.wraps(test)  # pytest reads the fixtures off __wrapped__'s signature
    def run(*args, **kwargs):
        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(asyncio.run, guarded(*args, **kwargs)).result()
    return run


def new_client(world: World, session: str | None = None, **kwargs) -> TelegramClient:
    client = sandbox_client(world, session, **kwargs)
    _open.append(client)
    return client


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until ``condition()`` holds; fail with the timeout otherwise."""
    async def poll():
        while not condition():
            await asyncio.sleep(0.02)
    await asyncio.wait_for(poll(), timeout)


async def signed_in(world: World, phone: str = PHONE, **kwargs) -> TelegramClient:
    client = new_client(world, world.login_session(phone), **kwargs)
    await asyncio.wait_for(client.connect(), 5)
    return client


@pytest.fixture
def world() -> World:
    world = World(reply_delay=None)
    world.add_account(PHONE, first_name="Dana", last_name="Sales", username="dana_bd")
    return world


@pytest.fixture
def ann(world: World) -> Person:
    return world.add_person("Ann", "Lee", username="ann_lee", phone="+15550001")


from tests.integrations.telegram.runtime_kit import runtime  # noqa: E402, F401 - a fixture

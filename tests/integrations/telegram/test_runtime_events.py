"""The telegram process raises the inbox's and the accounts' events from its own units of work:
they reach subscribers (and ring the doorbells) exactly as events raised in a request do."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.blueprints.accounts.events import AccountEvent
from app.blueprints.messaging import store
from app.blueprints.messaging.events import ChatEvent, MessageReceived, MessageSending, MessageSent
from app.db_types import utcnow
from app.events import bus
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import make_account as make_plain_account
from tests.factories import make_chat, make_member, make_org
from tests.integrations.telegram.conftest import PHONE
from tests.integrations.telegram.runtime_kit import (
    Doorbell,
    eventually,
    make_account,
    message_row,
    online,
    queue_message,
)


@pytest.fixture
def subscribed():
    """An in-transaction, an after-commit and a batch subscriber to every inbox and account event."""
    got: dict[str, list] = {"now": [], "each": [], "batch": []}
    handlers = [bus.subscribe((ChatEvent, AccountEvent), got["now"].append, in_transaction=True),
                bus.subscribe((ChatEvent, AccountEvent), got["each"].append),
                bus.subscribe((ChatEvent, AccountEvent), lambda events: got["batch"].append(
                    [e.name for e in events]), batch=True)]
    yield got
    for handler in handlers:
        bus.unsubscribe(handler)


@pytest.fixture
def telegram_runtime(app):
    from app.integrations.telegram.runtime.process import Runtime
    from app.integrations.telegram.sandbox import World

    runtime = Runtime(app, world=World())
    yield runtime
    runtime._db.shutdown(wait=True)  # never started: only its database threads ran


def in_a_telegram_unit(runtime, fn, *args):
    """``runtime.db(fn, ...)``: one of the process's units of work, awaited on a loop of its own
    (Playwright's sync API leaves a loop running in the suite's main thread)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, runtime.db(fn, *args)).result(timeout=15)


def what_was_heard(got: dict[str, list]) -> dict:
    heard = {"now": [e.name for e in got["now"]], "each": [e.name for e in got["each"]],
             "batch": list(got["batch"]), "same events": got["now"] == got["each"]}
    for found in got.values():
        found.clear()
    return heard


def test_an_event_raised_in_a_telegram_unit_reaches_subscribers_as_one_raised_in_a_request(
        app, client, subscribed, telegram_runtime):
    owner = make_member()
    account = make_plain_account(owner.organization)
    chat = make_chat(account)
    doorbell = Doorbell(owner.org_id)
    sign_in_as(client, owner)
    token = csrf_token(client, "/inbox/")

    response = client.post(f"/inbox/chats/{chat.id}/messages", data={"text": "From the page"},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 200
    in_a_request = what_was_heard(subscribed)
    assert in_a_request == {"now": ["MessageQueued"], "each": ["MessageQueued"],
                            "batch": [["MessageQueued"]], "same events": True}
    peer = store.Peer(user_id=chat.peer_id, access_hash=None, first_name="Ann")
    item = store.Item(telegram_id=90, out=False, text="From Telegram", date=utcnow())
    saved = in_a_telegram_unit(telegram_runtime, store.receive, account.id, owner.org_id, peer, item)
    assert what_was_heard(subscribed) == {"now": ["MessageReceived"], "each": ["MessageReceived"],
                                          "batch": [["MessageReceived"]], "same events": True}
    assert doorbell.heard("inbox.message", chat_id=chat.id, new=True)  # the page's message
    assert doorbell.heard("inbox.message", chat_id=chat.id, message_id=saved.new_ids[0], new=True)

    def telegram_unit_that_fails():
        store.receive(account.id, owner.org_id, peer, store.Item(91, False, "Lost", utcnow()))
        raise RuntimeError("the connection dropped")

    with pytest.raises(RuntimeError):
        in_a_telegram_unit(telegram_runtime, telegram_unit_that_fails)
    heard = what_was_heard(subscribed)
    assert (heard["each"], heard["batch"]) == ([], [])  # heard in the transaction, which rolled back
    doorbell.close()


def test_a_running_runtime_raises_connect_sync_send_and_receive(runtime, world, ann):
    got: list = []
    bus.subscribe((ChatEvent, AccountEvent), got.append)
    try:
        account = make_account(make_org(), world, PHONE)
        doorbell = Doorbell(account.org_id)
        runtime()
        eventually(lambda: online(account.id), what="the account online")
        eventually(lambda: {"AccountStatusChanged", "AccountSynced"} <= {e.name for e in got},
                   what="the connect and sync events")
        assert [(e.old_status, e.new_status) for e in got if e.name == "AccountStatusChanged"][-1][1] == "online"
        # Events are heard as they are raised; their doorbells ring after the commit, a moment later.
        eventually(lambda: doorbell.heard("inbox.synced", account_id=account.id), what="inbox.synced")

        message = queue_message(account, world, ann.profile.id, "Hi Ann")
        eventually(lambda: any(isinstance(e, MessageSent) and e.message_id == message.id for e in got),
                   what="MessageSent")
        row = message_row(message.id)
        [sending] = [e for e in got if isinstance(e, MessageSending) and e.message_id == message.id]
        [sent] = [e for e in got if isinstance(e, MessageSent) and e.message_id == message.id]
        assert (sending.attempt, sent.via_app, sent.telegram_id) == (1, True, row.telegram_id)
        eventually(lambda: doorbell.heard("inbox.message", message_id=message.id, new=False),
                   what="the sent message's doorbell")

        world.person_writes(ann.profile.id, PHONE, "Thanks!")
        received = eventually(lambda: [e for e in got if isinstance(e, MessageReceived)],
                              what="MessageReceived")
        eventually(lambda: doorbell.heard("inbox.message", message_id=received[0].message_id, new=True),
                   what="the received message's doorbell")
        doorbell.close()
    finally:
        bus.unsubscribe(got.append)
        db.session.rollback()


def test_the_telegram_process_registers_the_live_subscribers_by_importing_the_runtime():
    """The process rings the doorbells even if nothing else imported the domains' live modules."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = ("import json\n"
              "import app.integrations.telegram.runtime.process\n"
              "from app.events import bus, handler_name\n"
              "print(json.dumps([handler_name(h) for _, h in bus._batch]))\n")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           timeout=60, cwd=Path(__file__).resolve().parents[3])
    rings = {"app.blueprints.accounts.live.ring", "app.blueprints.messaging.live.ring"}
    assert rings <= set(json.loads(found.stdout))

"""Live inbox: fragments only for viewers who may see the chat; doorbells only after commit."""


import pytest

from app.blueprints.messaging import service
from app.blueprints.messaging.live import chat_changed, message_changed
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.realtime import Connection, read_event
from tests.factories import add_member, give_account, make_account, make_chat, make_message


@pytest.fixture(autouse=True)
def as_the_hub_renders(app):
    """Renderers run where the hub calls them: inside a request context of their own."""
    with app.test_request_context("/"):
        yield


def viewer(member) -> Connection:
    return Connection(ws=None, user_id=member.user_id, org_id=member.org_id, role=member.role, socket_id="s")


@pytest.fixture
def doorbells(owner):
    pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"rt:org:{owner.org_id}")
    pubsub.get_message(timeout=1)

    def rung() -> list[tuple[str, dict]]:
        found = []
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            event = read_event(message["data"])[1]
            found.append((event["kind"], event["data"]))
        return found

    yield rung
    pubsub.close()


def test_a_new_message_is_appended_to_the_thread_and_bumps_the_row(owner):
    chat = make_chat(make_account(owner.organization), unread_count=1)
    message = make_message(chat, "Fresh news")
    html = message_changed({"chat_id": chat.id, "message_id": message.id, "new": True, "org_id": owner.org_id},
                           viewer(owner))
    assert f'hx-swap-oob="beforeend:#thread-messages-{chat.id}"' in html and f'id="msg-{message.id}"' in html
    assert 'hx-swap-oob="afterbegin:#chat-list"' in html and f'id="chat-row-{chat.id}"' in html
    assert '<span hx-swap-oob="true" id="inbox-unread"' in html and "Fresh news" in html
    assert '<span hx-swap-oob="true" id="nav-inbox-unread" class="nav-badge" title="1 unread chat">1</span>' in html


def test_a_changed_message_is_redrawn_in_place(owner):
    chat = make_chat(make_account(owner.organization))
    message = make_message(chat, "Out we go", out=True, status="failed", error="FLOOD_WAIT 30")
    html = message_changed({"chat_id": chat.id, "message_id": message.id, "new": False, "org_id": owner.org_id},
                           viewer(owner))
    assert f'<article hx-swap-oob="true" id="msg-{message.id}"' in html and "FLOOD_WAIT 30" in html
    assert "afterbegin" not in html and "beforeend" not in html


def test_only_viewers_who_may_see_the_chat_get_anything(owner):
    account = make_account(owner.organization)
    chat = make_chat(account)
    message = make_message(chat)
    agent = add_member(owner.organization, role=Role.AGENT)
    manager = add_member(owner.organization, role=Role.MANAGER)
    event = {"chat_id": chat.id, "message_id": message.id, "new": True, "org_id": owner.org_id}
    assert message_changed(event, viewer(agent)) is None
    assert chat_changed({"chat_id": chat.id, "org_id": owner.org_id}, viewer(agent)) is None
    assert message_changed(event, viewer(manager)) is not None
    chat.assignee_id = agent.user_id
    db.session.commit()
    assert message_changed(event, viewer(agent)) is not None
    other_agent = add_member(owner.organization, role=Role.AGENT)
    give_account(account, other_agent)
    assert chat_changed({"chat_id": chat.id, "org_id": owner.org_id}, viewer(other_agent)) is not None
    assert message_changed({**event, "org_id": owner.org_id + 1}, viewer(owner)) is None  # wrong org


def test_an_agent_a_chat_is_taken_from_drops_it_and_no_one_else_hears(owner, doorbells):
    chat = make_chat(make_account(owner.organization), unread_count=2)
    agent = add_member(owner.organization, role=Role.AGENT)
    bystander = add_member(owner.organization, role=Role.AGENT)
    service.assign(owner, chat, agent.user_id)
    db.session.commit()
    service.assign(owner, chat, None)
    db.session.commit()
    [_, (kind, data)] = doorbells()
    assert (kind, data) == ("inbox.chat", {"chat_id": chat.id, "unassigned": agent.user_id})
    html = chat_changed({**data, "org_id": owner.org_id}, viewer(agent))
    assert f'<div id="chat-row-{chat.id}" hx-swap-oob="delete">' in html
    assert f'id="chat-head-{chat.id}" hx-swap-oob="innerHTML"' in html and "assigned to a teammate" in html
    assert "All caught up" in html  # their unread figure loses the chat
    assert chat_changed({**data, "org_id": owner.org_id}, viewer(bystander)) is None


def test_a_chat_change_redraws_the_row_and_the_head_with_the_read_mark(owner):
    chat = make_chat(make_account(owner.organization), read_outbox_max_id=42)
    html = chat_changed({"chat_id": chat.id, "org_id": owner.org_id}, viewer(owner))
    assert f'<li hx-swap-oob="true" id="chat-row-{chat.id}"' in html
    assert f'<header hx-swap-oob="true" id="chat-head-{chat.id}"' in html and 'data-read-outbox="42"' in html


def test_sending_and_reading_ring_the_doorbell_after_commit(owner, doorbells):
    chat = make_chat(make_account(owner.organization), unread_count=1)
    make_message(chat, telegram_id=3)
    message = service.queue_message(owner, chat, "Hi")
    service.mark_read(owner, chat)
    assert doorbells() == []
    db.session.commit()
    assert doorbells() == [("inbox.message", {"chat_id": chat.id, "message_id": message.id, "new": True}),
                           ("inbox.chat", {"chat_id": chat.id})]


def test_what_viewers_share_is_read_once_per_event(owner):
    from tests.conftest import counting_statements

    chat = make_chat(make_account(owner.organization))
    message = make_message(chat)
    manager = add_member(owner.organization, role=Role.MANAGER)
    event = {"chat_id": chat.id, "message_id": message.id, "new": True, "org_id": owner.org_id}
    viewers = [viewer(owner), viewer(manager)]
    db.session.remove()
    with counting_statements() as first:
        message_changed(event, viewers[0])
    with counting_statements() as second:
        message_changed(event, viewers[1])
    assert len(second) == 1, second  # only the viewer's own unread figures
    assert len(first) > len(second)

"""Live inbox: fragments only for viewers who may see the chat; doorbells only after commit."""


import pytest

from app.blueprints.messaging import service, store
from app.blueprints.messaging.live import chat_changed, message_changed
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db
from app.realtime import Connection
from app.unit_of_work import unit_of_work
from tests.factories import add_member, give_account, make_account, make_chat, make_message


@pytest.fixture(autouse=True)
def as_the_hub_renders(app):
    """Renderers run where the hub calls them: inside a request context of their own."""
    with app.test_request_context("/"):
        yield


def viewer(member) -> Connection:
    return Connection(ws=None, user_id=member.user_id, org_id=member.org_id, role=member.role, socket_id="s")


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


# -- the doorbells come from the inbox's events ---------------------------------------------------

PEER = store.Peer(user_id=5151, access_hash=9, first_name="Ann", last_name="Lee", username="ann_lee")


def telegram_unit(app, fn, *args, **kwargs):
    """What the telegram process does with a store function: one unit of work of its own."""
    with unit_of_work(app):
        return fn(*args, **kwargs)


def item(telegram_id: int, text: str = "Hello", out: bool = False) -> store.Item:
    return store.Item(telegram_id=telegram_id, out=out, text=text, date=utcnow())


def test_what_the_telegram_process_writes_rings_todays_doorbells(app, owner, doorbells):
    account = make_account(owner.organization)
    saved = telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(1, "Hi"))
    chat_id, [first] = saved.chat_id, saved.new_ids
    ours = telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(2, "Hey", out=True))
    assert doorbells() == [  # a new chat rings nothing of its own: its first message does
        ("inbox.message", {"chat_id": chat_id, "message_id": first, "new": True}),
        ("inbox.message", {"chat_id": chat_id, "message_id": ours.new_ids[0], "new": True})]
    telegram_unit(app, store.edit, account.id, owner.org_id, PEER, item(1, "Hi!"))
    telegram_unit(app, store.store_file, first, b"x", "image/png", "a.png")
    telegram_unit(app, store.delete, account.id, [1])
    changed = {"chat_id": chat_id, "message_id": first, "new": False}
    assert doorbells() == [("inbox.message", changed)] * 3
    telegram_unit(app, store.read, account.id, PEER.user_id, inbox=True, max_id=1, still_unread=0)
    telegram_unit(app, store.read, account.id, PEER.user_id, inbox=False, max_id=2)
    telegram_unit(app, store.open_chat, account.id, owner.org_id, PEER)
    assert doorbells() == [("inbox.chat", {"chat_id": chat_id})] * 3
    both = store.Marks(unread_count=0, read_inbox_max_id=5, read_outbox_max_id=5)
    telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER, both, [], announce=True)
    telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER, both, [], announce=True)
    assert doorbells() == [("inbox.chat", {"chat_id": chat_id})]  # both marks moved: one doorbell
    other = store.Peer(user_id=5252, access_hash=None, first_name="Ben")
    imported = telegram_unit(app, store.import_dialog, account.id, owner.org_id, other, None,
                             [item(1), item(2)], announce=False)
    assert doorbells() == [("inbox.chat", {"chat_id": imported.chat_id, "new": True})]


def test_the_outbox_rings_the_message_at_every_step(app, owner, doorbells):
    account = make_account(owner.organization)
    telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(1))
    chat_id = telegram_unit(app, store.open_chat, account.id, owner.org_id, PEER)
    chat = db.session.get(Chat, chat_id)
    message, refused, gone = (service.queue_message(owner, chat, text) for text in ("Hi", "No", "Gone"))
    db.session.commit()
    telegram_unit(app, store.receive, account.id, owner.org_id, PEER, item(7, "Hi", out=True))  # a copy
    doorbells()
    telegram_unit(app, store.start_sending, message.id)
    telegram_unit(app, store.requeue, message.id, None)
    telegram_unit(app, store.record_sent, message.id, 7, utcnow())
    telegram_unit(app, store.fail, refused.id, "PEER_ID_INVALID")
    telegram_unit(app, store.sent_then_deleted, gone.id)
    ring = [("inbox.message", {"chat_id": chat_id, "message_id": message.id, "new": False})] * 2 + [
        ("inbox.chat", {"chat_id": chat_id}),  # the copy folded into the outbox row
        ("inbox.message", {"chat_id": chat_id, "message_id": message.id, "new": False}),
        ("inbox.message", {"chat_id": chat_id, "message_id": refused.id, "new": False}),
        ("inbox.message", {"chat_id": chat_id, "message_id": gone.id, "new": False})]
    assert doorbells() == ring
    db.session.expire_all()  # a fresh view: the telegram units committed from sessions of their own
    service.retry_message(owner, db.session.get(Message, refused.id))
    db.session.commit()
    assert doorbells() == [("inbox.message", {"chat_id": chat_id, "message_id": refused.id, "new": False})]


def test_members_changes_ring_the_chat(owner, doorbells):
    account = make_account(owner.organization)
    first, second = make_chat(account, unread_count=1), make_chat(account, unread_count=3)
    service.create_deal_from_chat(owner, first, "Pilot")  # links a contact, then makes the deal
    db.session.commit()
    assert [d for d in doorbells() if d[0].startswith("inbox.")] == [("inbox.chat", {"chat_id": first.id})]
    service.contact_for_chat(owner, second)
    db.session.commit()
    assert doorbells() == [("inbox.chat", {"chat_id": second.id})]
    assert service.mark_all_read(owner) == 2
    assert doorbells() == []
    db.session.commit()
    assert sorted(doorbells(), key=lambda d: d[1]["chat_id"]) == [
        ("inbox.chat", {"chat_id": first.id}), ("inbox.chat", {"chat_id": second.id})]


def test_a_sync_storing_hundreds_of_messages_rings_them_from_one_unit_after_the_commit(
        app, owner, monkeypatch):
    from flask import g

    from app.blueprints.messaging import live

    rung: list[tuple[int, str, dict]] = []
    monkeypatch.setattr(live, "publish_now", lambda org_id, kind, **data: rung.append((id(g._get_current_object()),
                                                                                      kind, data)))
    account = make_account(owner.organization)
    saved = telegram_unit(app, store.import_dialog, account.id, owner.org_id, PEER, None,
                          [item(n, f"Message {n}") for n in range(1, 301)], announce=True)
    assert len(saved.new_ids) == 300
    assert [(kind, data["message_id"]) for _, kind, data in rung] == [("inbox.message", i) for i in saved.new_ids]
    assert len({unit for unit, _, _ in rung}) == 1  # one after-commit unit of work, not 300


def test_stores_services_and_routes_ring_no_doorbell_themselves():
    import inspect

    from app.blueprints.accounts import api as accounts_api
    from app.blueprints.accounts import routes as accounts_routes
    from app.blueprints.accounts import service as accounts_service
    from app.blueprints.accounts import store as accounts_store
    from app.blueprints.messaging import api, routes

    for module in (store, service, routes, api, accounts_store, accounts_service, accounts_routes,
                   accounts_api):
        source = inspect.getsource(module)
        assert "publish(" not in source and "publish_now(" not in source, module.__name__
        assert '"inbox.' not in source and '"account.status"' not in source, module.__name__

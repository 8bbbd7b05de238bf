"""The inbox's bulk assignment: the chats ticked go to one member (or nobody) at once, all or none."""

from __future__ import annotations

from app.blueprints.messaging.models import Chat
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, give_account, make_account, make_chat, make_member

HX = {"HX-Request": "true", "HX-Target": "chat-list-pane"}


def assign(client, ids, assignee, headers=None):
    token = csrf_token(client, "/inbox/")
    return client.post("/inbox/assign", data={"csrf_token": token, "chat_ids": [str(i) for i in ids],
                                              "assignee_id": str(assignee or "")}, headers=headers or HX)


def test_a_manager_ticks_chats_and_gives_them_to_a_teammate(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    account = make_account(owner.organization)
    chats = [make_chat(account), make_chat(account), make_chat(account)]
    sign_in_as(client, owner)
    page = client.get("/inbox/").get_data(as_text=True)
    assert 'id="bulk-assign"' in page and f'name="chat_ids" value="{chats[0].id}"' in page
    response = assign(client, [chats[0].id, chats[2].id], agent.user_id)
    assert response.status_code == 200 and "2 chats assigned to" in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert [db.session.get(Chat, c.id).assignee_id for c in chats] == [agent.user_id, None, agent.user_id]
    assign(client, [chats[0].id], None)
    db.session.expire_all()
    assert db.session.get(Chat, chats[0].id).assignee_id is None


def test_one_chat_out_of_sight_assigns_none(client, owner):
    account = make_account(owner.organization)
    mine = make_chat(account)
    theirs = make_chat(make_account(make_member().organization))
    sign_in_as(client, owner)
    response = assign(client, [mine.id, theirs.id], owner.user_id)
    assert response.status_code == 200 and "No such chat in your organization" in response.headers["HX-Trigger"]
    assert 'id="chat-list-pane"' in response.get_data(as_text=True)  # the list stays
    db.session.expire_all()
    assert db.session.get(Chat, mine.id).assignee_id is None


def test_an_agent_has_no_ticks_and_may_not_assign(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    account = make_account(owner.organization)
    give_account(account, agent)
    chat = make_chat(account)
    sign_in_as(client, agent)
    assert 'id="bulk-assign"' not in client.get("/inbox/").get_data(as_text=True)
    assert assign(client, [chat.id], agent.user_id).status_code == 403
    db.session.expire_all()
    assert db.session.get(Chat, chat.id).assignee_id is None

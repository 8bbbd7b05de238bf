"""/api/messaging: inbox, chats, messages, send, read marks, figures; sight and strict bodies."""

from io import BytesIO

import pytest
from sqlalchemy import select

from app.blueprints.messaging.models import Message
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer
from tests.factories import add_member, give_account, make_account, make_chat, make_message


@pytest.fixture
def auth(owner):
    return bearer(owner)


@pytest.fixture
def account(owner):
    return make_account(owner.organization)


def test_the_inbox_pages_with_a_cursor_and_gives_unread_figures(client, auth, account):
    chats = [make_chat(account, unread_count=1 if i == 0 else 0) for i in range(5)]
    first = client.get("/api/messaging/inbox?limit=3", headers=auth).get_json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    assert (first["unread_chats"], first["unread_messages"]) == (1, 1)
    rest = client.get(f"/api/messaging/inbox?limit=3&cursor={first['next_cursor']}", headers=auth).get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    assert {c["id"] for c in first["items"] + rest["items"]} == {c.id for c in chats}
    assert client.get("/api/messaging/inbox?limit=0", headers=auth).status_code == 422
    assert client.get("/api/messaging/inbox?assignee=bob", headers=auth).status_code == 422
    assert client.get("/api/messaging/inbox?cursor=junk", headers=auth).status_code == 422
    found = client.get(f"/api/messaging/inbox?q={chats[2].title}", headers=auth).get_json()["items"]
    assert [c["id"] for c in found] == [chats[2].id]


def test_chats_are_listed_page_by_page(client, auth, account):
    for _ in range(3):
        make_chat(account)
    make_chat(account, last_message_at=None)  # no message yet: listed here, not in the inbox
    body = client.get("/api/messaging/chats?per_page=2&page=2", headers=auth).get_json()
    assert (body["total"], body["page"], len(body["items"])) == (4, 2, 2)


def test_messages_page_back_and_one_message_reads_alone(client, auth, account):
    chat = make_chat(account)
    messages = [make_message(chat, f"m{i}") for i in range(5)]
    body = client.get(f"/api/messaging/messages?chat_id={chat.id}&limit=3", headers=auth).get_json()
    assert [m["text"] for m in body["items"]] == ["m2", "m3", "m4"]
    older = client.get(f"/api/messaging/messages?chat_id={chat.id}&limit=3&before={body['older_cursor']}",
                       headers=auth).get_json()
    assert [m["text"] for m in older["items"]] == ["m0", "m1"] and older["older_cursor"] is None
    one = client.get(f"/api/messaging/messages/{messages[0].id}", headers=auth).get_json()
    assert one["text"] == "m0" and one["out"] is False
    assert client.get("/api/messaging/messages", headers=auth).status_code == 422


def test_send_queues_a_message_with_a_string_random_id(client, auth, account):
    chat = make_chat(account)
    response = client.post("/api/messaging/send", json={"chat_id": chat.id, "text": "Hi from the API"},
                           headers=auth)
    assert response.status_code == 202
    body = response.get_json()
    stored = db.session.scalar(select(Message))
    assert body["status"] == "queued" and body["random_id"] == str(stored.random_id)
    assert client.post("/api/messaging/send", json={"chat_id": chat.id, "text": "x", "silent": True},
                       headers=auth).status_code == 422
    assert client.post("/api/messaging/send", json={"chat_id": chat.id, "text": ""},
                       headers=auth).get_json()["error"]["fields"] == {"text": "The message is empty."}


def test_send_takes_a_file_as_multipart(client, auth, account):
    chat = make_chat(account)
    response = client.post("/api/messaging/send", headers=auth, content_type="multipart/form-data",
                           data={"chat_id": str(chat.id), "text": "see attached",
                                 "file": (BytesIO(b"GIF89a"), "a.gif", "image/gif")})
    assert response.status_code == 202
    assert response.get_json()["media"]["kind"] == "photo"


def test_read_marks(client, auth, account):
    chat = make_chat(account, unread_count=2)
    first = make_message(chat, telegram_id=30)
    make_message(chat, telegram_id=31)
    body = client.patch(f"/api/messaging/messages/{first.id}/read", headers=auth).get_json()
    assert (body["read_inbox_max_id"], body["unread_count"]) == (30, 1)
    body = client.post(f"/api/messaging/chats/{chat.id}/mark-all-read", headers=auth).get_json()
    assert (body["read_inbox_max_id"], body["unread_count"]) == (31, 0)
    mine = make_message(chat, out=True, telegram_id=32)
    assert client.patch(f"/api/messaging/messages/{mine.id}/read", headers=auth).status_code == 422


def test_retry_and_assign(client, auth, owner, account):
    chat = make_chat(account)
    failed = make_message(chat, out=True, status="failed", error="x", telegram_id=None, random_id=99)
    body = client.post(f"/api/messaging/messages/{failed.id}/retry", headers=auth).get_json()
    assert (body["status"], body["random_id"]) == ("queued", "99")
    agent = add_member(owner.organization, role=Role.AGENT)
    body = client.put(f"/api/messaging/chats/{chat.id}/assignee", json={"assignee_id": agent.user_id},
                      headers=auth).get_json()
    assert body["assignee_id"] == agent.user_id
    assert client.put(f"/api/messaging/chats/{chat.id}/assignee", json={"assignee_id": "x"},
                      headers=auth).status_code == 422


def test_an_agent_token_sees_only_their_chats(client, owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    hidden = make_chat(account)
    message = make_message(hidden)
    auth = bearer(agent)
    assert client.get("/api/messaging/inbox", headers=auth).get_json()["items"] == []
    assert client.get(f"/api/messaging/messages/{message.id}", headers=auth).status_code == 404
    assert client.post("/api/messaging/send", json={"chat_id": hidden.id, "text": "x"},
                       headers=auth).status_code == 404
    assert client.get("/api/messaging/stats", headers=auth).get_json()["chats"] == 0
    give_account(account, agent)
    assert len(client.get("/api/messaging/inbox", headers=auth).get_json()["items"]) == 1


def test_stats_and_the_openapi_document(client, auth, account):
    make_message(make_chat(account))
    stats = client.get("/api/messaging/stats", headers=auth).get_json()
    assert stats["chats"] == 1 and stats["in_today"] == 1 and stats["accounts"][0]["account_id"] == account.id
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/messaging/inbox", "/api/messaging/chats", "/api/messaging/messages",
                 "/api/messaging/messages/{message_id}", "/api/messaging/send",
                 "/api/messaging/messages/{message_id}/read", "/api/messaging/chats/{chat_id}/mark-all-read",
                 "/api/messaging/stats"):
        assert path in paths, path
    assert "patch" in paths["/api/messaging/messages/{message_id}/read"]

"""/api/messaging: inbox, chats, messages, send, read marks, figures; sight, and the contract (query
values and bodies outside the document refused, naming the field, with nothing changed)."""

from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.blueprints.messaging.models import Chat, Message
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
    assert client.get("/api/messaging/inbox?cursor=junk", headers=auth).get_json()["error"]["fields"] == {
        "cursor": "Not a cursor from this list."}
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


def test_send_queues_a_message_readable_at_its_location(client, auth, account):
    chat = make_chat(account)
    response = client.post("/api/messaging/send", json={"chat_id": chat.id, "text": "Hi from the API"},
                           headers=auth)
    assert response.status_code == 202
    body = response.get_json()
    stored = db.session.scalar(select(Message))
    assert body["status"] == "queued" and body["random_id"] == str(stored.random_id)
    assert response.headers["Location"] == f"/api/messaging/messages/{stored.id}"
    polled = client.get(response.headers["Location"], headers=auth).get_json()
    assert (polled["id"], polled["text"], polled["status"]) == (stored.id, "Hi from the API", "queued")


@pytest.mark.parametrize(("body", "field"), [
    ({"text": "x"}, "chat_id"),
    ({"chat_id": "1", "text": "x"}, "chat_id"),
    ({"chat_id": 1, "text": ""}, "text"),
    ({"chat_id": 1, "text": "x" * 4097}, "text"),
    ({"chat_id": 1, "text": "x", "silent": True}, "silent"),
])
def test_a_send_outside_the_document_names_its_field_and_queues_nothing(client, auth, account, body, field):
    chat = make_chat(account)
    body = {**body, "chat_id": chat.id} if body.get("chat_id") == 1 else body
    response = client.post("/api/messaging/send", json=body, headers=auth)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == {field}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert db.session.get(Chat, chat.id).last_message_preview != "x"


def test_a_blank_message_is_refused_by_the_inbox(client, auth, account):
    chat = make_chat(account)
    response = client.post("/api/messaging/send", json={"chat_id": chat.id, "text": "   "}, headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"] == {"code": "invalid", "message": "Write a message first.",
                                            "fields": {"text": "The message is empty."}}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_send_takes_a_file_as_multipart(client, auth, account):
    chat = make_chat(account)
    response = client.post("/api/messaging/send", headers=auth, content_type="multipart/form-data",
                           data={"chat_id": str(chat.id), "text": "see attached",
                                 "file": (BytesIO(b"GIF89a"), "a.gif", "image/gif")})
    assert response.status_code == 202
    assert response.get_json()["media"]["kind"] == "photo"
    assert client.get(response.headers["Location"], headers=auth).get_json()["text"] == "see attached"


def test_a_multipart_send_to_an_id_beyond_any_is_a_404(client, auth, account):
    response = client.post("/api/messaging/send", headers=auth, content_type="multipart/form-data",
                           data={"chat_id": "9999999999", "text": "hello"})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


def test_a_multipart_caption_over_its_limit_names_text(client, auth, account):
    chat = make_chat(account)
    response = client.post("/api/messaging/send", headers=auth, content_type="multipart/form-data",
                           data={"chat_id": str(chat.id), "text": "x" * 1025,
                                 "file": (BytesIO(b"GIF89a"), "a.gif", "image/gif")})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"text": "At most 1,024 characters."}
    assert db.session.scalar(select(func.count()).select_from(Message)) == 0


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
    response = client.post(f"/api/messaging/messages/{failed.id}/retry", headers=auth)
    assert (response.get_json()["status"], response.get_json()["random_id"]) == ("queued", "99")
    assert response.headers["Location"] == f"/api/messaging/messages/{failed.id}"
    agent = add_member(owner.organization, role=Role.AGENT)
    body = client.put(f"/api/messaging/chats/{chat.id}/assignee", json={"assignee_id": agent.user_id},
                      headers=auth).get_json()
    assert body["assignee_id"] == agent.user_id
    body = client.put(f"/api/messaging/chats/{chat.id}/assignee", json={"assignee_id": None},
                      headers=auth).get_json()
    assert body["assignee_id"] is None


@pytest.mark.parametrize("assignee_id", ["x", 0, 2**31, True])
def test_an_assignee_that_is_no_id_is_refused_and_the_chat_stays_as_it_was(client, auth, owner, account,
                                                                           assignee_id):
    agent = add_member(owner.organization, role=Role.AGENT)
    chat = make_chat(account, assignee_id=agent.user_id)
    response = client.put(f"/api/messaging/chats/{chat.id}/assignee", json={"assignee_id": assignee_id},
                          headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert set(response.get_json()["error"]["fields"]) == {"assignee_id"}
    db.session.expire_all()
    assert db.session.get(Chat, chat.id).assignee_id == agent.user_id


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


@pytest.mark.parametrize(("query", "field", "message"), [
    ("per_page=2&per_page=3", "per_page", "Give it once."),
    ("per_page=abc", "per_page", "A whole number."),
    ("per_page=201", "per_page", "At most 200."),
    ("page=0", "page", "At least 1."),
    ("unread=1", "unread", "true or false."),
    ("has_deal=yes", "has_deal", "true or false."),
    ("account_id=0", "account_id", "At least 1."),
    ("assignee=bob", "assignee", "Not in the expected form."),
    ("q=" + "x" * 101, "q", "At most 100 characters."),
])
def test_a_chat_list_query_outside_the_document_names_its_parameter(client, auth, account, query, field,
                                                                    message):
    make_chat(account)
    for path in ("/api/messaging/chats", "/api/messaging/inbox"):
        if path.endswith("inbox") and field in ("page", "per_page"):
            continue
        response = client.get(f"{path}?{query}", headers=auth)
        assert response.status_code == 422, path
        assert response.get_json()["error"] == {"code": "invalid_request", "fields": {field: message},
                                                "message": f"{field}: {message[0].lower()}{message[1:]}"}


def test_the_chat_list_filters_read_their_typed_values(client, auth, owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    unread = make_chat(account, unread_count=2)
    assigned = make_chat(account, assignee_id=agent.user_id)

    def listed(query):
        return {c["id"] for c in client.get(f"/api/messaging/chats?{query}", headers=auth).get_json()["items"]}

    assert listed("unread=true") == {unread.id}
    assert listed("unread=false") == {unread.id, assigned.id}
    assert listed(f"assignee={agent.user_id}") == {assigned.id}
    assert listed("assignee=none") == {unread.id}
    assert listed("assignee=9999999999") == set()  # beyond any id: nobody, not a database error
    assert listed(f"account_id={account.id}") == {unread.id, assigned.id}
    assert listed("has_deal=true") == set()


@pytest.mark.parametrize("cursor", ["99999999999999999999_1", "1_99999999999", "-99999999999999999999_1"])
def test_a_cursor_beyond_what_a_page_can_name_is_refused_as_not_from_the_list(client, auth, account, cursor):
    chat = make_chat(account)
    make_message(chat)
    inbox = client.get(f"/api/messaging/inbox?cursor={cursor}", headers=auth)
    assert inbox.status_code == 422 and inbox.get_json()["error"]["fields"] == {
        "cursor": "Not a cursor from this list."}
    thread = client.get(f"/api/messaging/messages?chat_id={chat.id}&before={cursor}", headers=auth)
    assert thread.status_code == 422 and thread.get_json()["error"]["code"] == "invalid"


def test_messages_need_one_chat_id_that_is_an_id(client, auth, account):
    for query, message in (("", "Required."), ("chat_id=x", "A whole number."),
                           ("chat_id=1&chat_id=2", "Give it once."), ("chat_id=2147483648", "At most 2147483647.")):
        response = client.get(f"/api/messaging/messages?{query}", headers=auth)
        assert response.status_code == 422
        assert response.get_json()["error"]["fields"] == {"chat_id": message}


def test_a_nul_in_a_query_value_is_a_400_as_documented(client, auth):
    response = client.get("/api/messaging/inbox?q=a%00b", headers=auth)
    assert response.status_code == 400 and response.get_json()["error"]["fields"] == {
        "q": "Contains a NUL character (\\u0000), which text cannot hold."}
    document = client.get("/api/openapi.json").get_json()["paths"]["/api/messaging/inbox"]["get"]
    assert "400" in document["responses"]


def test_the_document_states_the_parameters_and_the_location_of_a_queued_message(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    params = {p["name"]: p for p in paths["/api/messaging/messages"]["get"]["parameters"]}
    assert params["chat_id"]["required"] is True and params["chat_id"]["schema"]["maximum"] == 2**31 - 1
    chats = {p["name"]: p["schema"] for p in paths["/api/messaging/chats"]["get"]["parameters"]}
    assert chats["per_page"] == {"type": "integer", "minimum": 1, "maximum": 200}
    assert chats["unread"] == {"type": "boolean"} and chats["has_deal"] == {"type": "boolean"}
    sent = paths["/api/messaging/send"]["post"]["responses"]["202"]
    assert sent["headers"]["Location"]["required"] is True
    assert sent["links"]["GetMessage"]["operationId"] == "messaging_api.message"


# -- starting a conversation -------------------------------------------------------------------

def test_a_conversation_is_started_with_a_contact_through_the_telegram_process(app, client, auth, owner,
                                                                               account, peer):
    from tests.factories import make_contact, make_member

    contact = make_contact(owner, first_name="Ann", telegram_username="ann_lee", phone="+447700900123")

    def open_chat(request):
        with app.app_context():
            chat = Chat(org_id=owner.org_id, account_id=request.account_id, peer_id=4242, title="Ann Lee",
                        username="ann_lee", contact_id=request.args["contact_id"])
            db.session.add(chat)
            db.session.commit()
            chat_id = chat.id
            db.session.remove()
        return {"chat_id": chat_id}

    peer.on("chat.open", open_chat)
    response = client.post("/api/messaging/chats", json={"account_id": account.id, "contact_id": contact.id},
                           headers=auth)
    body = response.get_json()
    chat = db.session.scalar(select(Chat))
    assert response.status_code == 201 and body["id"] == chat.id
    assert response.headers["Location"] == f"/api/messaging/messages?chat_id={chat.id}"
    assert (body["contact_id"], body["account_id"], chat.contact_id) == (contact.id, account.id, contact.id)
    assert peer.requests[0].args == {"username": "ann_lee", "contact_id": contact.id}
    again = client.post("/api/messaging/chats", json={"account_id": account.id, "contact_id": contact.id},
                        headers=auth)
    assert again.get_json()["id"] == chat.id and len(peer.requests) == 1  # the chat it has: no look-up

    stranger = make_member()
    for ids in ({"account_id": account.id, "contact_id": make_contact(stranger, telegram_username="ann_lee").id},
                {"account_id": make_account(stranger.organization).id, "contact_id": contact.id}):
        assert client.post("/api/messaging/chats", json=ids, headers=auth).status_code == 404
    bare = make_contact(owner, first_name="Maya")
    response = client.post("/api/messaging/chats", json={"account_id": account.id, "contact_id": bare.id},
                           headers=auth)
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {
        "contact_id": "Add the contact's Telegram username or phone number first."}
    assert db.session.scalar(select(func.count()).select_from(Chat)) == 1 and len(peer.requests) == 1


@pytest.mark.parametrize(("code", "status"), [("not_found", 422), ("flood_wait", 429),
                                              ("telegram_unavailable", 503)])
def test_a_refusal_from_telegram_is_its_envelope_and_no_chat(client, auth, owner, account, peer, code, status):
    from tests.factories import make_contact

    contact = make_contact(owner, telegram_username="ann_lee")
    peer.on("chat.open", refuse=(code, "Telegram said no."))
    response = client.post("/api/messaging/chats", json={"account_id": account.id, "contact_id": contact.id},
                           headers=auth)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert db.session.scalar(select(func.count()).select_from(Chat)) == 0


def test_an_agent_starts_conversations_only_from_their_accounts(client, owner, account, peer):
    from tests.factories import make_contact

    agent = add_member(owner.organization, role=Role.AGENT)
    contact = make_contact(owner, telegram_username="ann_lee")
    response = client.post("/api/messaging/chats", json={"account_id": account.id, "contact_id": contact.id},
                           headers=bearer(agent))
    assert response.status_code == 404 and peer.requests == []
    response = client.post("/api/messaging/chats", json={"account_id": account.id, "contact_id": contact.id,
                                                         "extra": 1}, headers=bearer(owner))
    assert response.status_code == 422 and "extra" in response.get_json()["error"]["fields"]

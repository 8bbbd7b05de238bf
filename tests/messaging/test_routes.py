"""The inbox page: list, thread, composer, reads, assignment, the side panel, files."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.blueprints.accounts.models import BDAccount
from app.blueprints.messaging.models import Chat, Message, MessageFile
from app.blueprints.team.models import Membership, Organization
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db
from tests.conftest import counting_statements, sign_in_as
from tests.factories import (
    add_member,
    give_account,
    make_account,
    make_chat,
    make_contact,
    make_deal,
    make_message,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def token(owner_client, csrf):
    return csrf("/inbox/")


@pytest.fixture
def account(owner):
    return make_account(owner.organization, display_name="Dana Sales")


def post(client, url, token, **data):
    return client.post(url, data=data, headers={**HX, "X-CSRFToken": token})


def test_the_inbox_lists_chats_newest_first_with_unread_badges(owner_client, account):
    now = utcnow()
    older = make_chat(account, title="Older Person", last_message_at=now - timedelta(hours=2))
    newer = make_chat(account, title="Newer Person", unread_count=3, last_message_preview="Ping?",
                      last_message_at=now - timedelta(minutes=1))
    html = owner_client.get("/inbox/").get_data(as_text=True)
    assert html.index("Newer Person") < html.index("Older Person")
    assert 'aria-label="3 unread"' in html and "Ping?" in html and "Dana Sales" in html
    assert f'id="chat-row-{older.id}"' in html and f'id="chat-row-{newer.id}"' in html
    assert "1</strong> unread chat" in html


def test_a_filter_request_gets_only_the_list(owner_client, account):
    make_chat(account, title="Quiet")
    loud = make_chat(account, title="Loud", unread_count=1)
    response = owner_client.get("/inbox/?unread=1", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="chat-list-pane"')
    assert "Loud" in html and "Quiet" not in html and f"/inbox/chats/{loud.id}?unread=1" in html


def test_opening_a_chat_shows_its_history_the_composer_and_the_panel(owner_client, account):
    chat = make_chat(account, title="Ann Lee", unread_count=1)
    make_message(chat, "First question")
    make_message(chat, "Our answer", out=True)
    html = owner_client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert "First question" in html and "Our answer" in html
    assert f'id="composer-{chat.id}"' in html and "data-enter-send" in html
    assert f'id="chat-panel-{chat.id}"' in html and "not in your contacts yet" in html
    assert f'hx-post="/inbox/chats/{chat.id}/read" hx-trigger="load"' in html  # unread: read on open
    partial = owner_client.get(f"/inbox/chats/{chat.id}", headers=HX).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="conversation"') and "chat-list-pane" not in partial
    assert f'<span id="chat-account-pill-{account.id}"></span>' in html  # online: no pill, a live slot


def test_the_sidebar_badge_counts_the_viewers_unread_chats(owner_client, account):
    make_chat(account, unread_count=3)
    make_chat(account, unread_count=1)
    make_chat(account, unread_count=0)
    html = owner_client.get("/inbox/badge").get_data(as_text=True)
    assert '<span id="nav-inbox-unread" class="nav-badge" title="2 unread chats">2</span>' in html
    page = owner_client.get("/contacts").get_data(as_text=True)
    assert 'id="nav-inbox-badge"' in page and 'hx-get="/inbox/badge"' in page  # every page asks once


def test_a_chat_of_an_account_that_is_not_online_says_so_in_its_header(owner_client, account):
    account.status = "limited"
    db.session.commit()
    chat = make_chat(account)
    html = owner_client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert f'<span id="chat-account-pill-{account.id}"> <span class="status-pill status-pill-limited">Limited' in html


def test_the_list_and_thread_take_a_bounded_number_of_statements(owner, owner_client, account):
    def measure() -> tuple[int, int]:
        chat_id = db.session.scalar(select(Chat.id).order_by(Chat.id))
        db.session.remove()  # each request starts with an empty session, as real ones do
        with counting_statements() as listing:
            assert owner_client.get("/inbox/").status_code == 200
        db.session.remove()
        with counting_statements() as opening:
            assert owner_client.get(f"/inbox/chats/{chat_id}").status_code == 200
        db.session.remove()
        return len(listing), len(opening)

    contact_id, owner_id, org_id = make_contact(owner).id, owner.user_id, owner.org_id
    membership_id, account_id = owner.id, account.id
    for i in range(3):
        chat = make_chat(account, contact_id=contact_id if i == 0 else None, assignee_id=owner_id)
        make_message(chat, "hi", author_id=None)
    small = measure()
    owner = db.session.get(Membership, membership_id)
    account = db.session.get(BDAccount, account_id)
    make_deal(owner, contact=contact_id)
    other = make_account(db.session.get(Organization, org_id))
    for i in range(25):
        chat = make_chat(other if i % 2 else account, assignee_id=owner_id, unread_count=i)
        for _ in range(3):
            make_message(chat, "hello")
            make_message(chat, "answer", out=True, author_id=owner_id)
    big = measure()
    assert big == small, "statements grow with chats or messages"
    assert small[0] <= 8 and small[1] <= 14, small


def test_sending_shows_the_message_as_sending_and_empties_the_composer(owner_client, token, account):
    chat = make_chat(account)
    response = post(owner_client, f"/inbox/chats/{chat.id}/messages", token, text="Hello!\nSecond line")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    message = db.session.scalar(select(Message))
    assert html.lstrip().startswith(f'<form id="composer-{chat.id}"')
    assert f'hx-swap-oob="beforeend:#thread-messages-{chat.id}"' in html
    assert f'id="msg-{message.id}"' in html and "Sending…" in html and "Hello!\nSecond line" in html
    assert 'hx-swap-oob="afterbegin:#chat-list"' in html
    assert message.status == "queued" and message.text == "Hello!\nSecond line"


def test_an_empty_or_too_long_message_keeps_the_text_and_says_why(owner_client, token, account):
    chat = make_chat(account)
    empty = post(owner_client, f"/inbox/chats/{chat.id}/messages", token, text="  ")
    assert empty.status_code == 422 and "The message is empty." in empty.get_data(as_text=True)
    long = post(owner_client, f"/inbox/chats/{chat.id}/messages", token, text="z" * 4100)
    assert long.status_code == 422
    html = long.get_data(as_text=True)
    assert "4,096" in html and "z" * 4100 in html
    assert db.session.scalar(select(Message)) is None


def test_a_file_goes_with_the_message(owner_client, token, account):
    from io import BytesIO

    chat = make_chat(account)
    response = owner_client.post(f"/inbox/chats/{chat.id}/messages", headers={**HX, "X-CSRFToken": token},
                                 data={"text": "The deck", "file": (BytesIO(b"%PDF-1.4"), "deck.pdf")},
                                 content_type="multipart/form-data")
    assert response.status_code == 200
    message = db.session.scalar(select(Message))
    assert message.media["file_name"] == "deck.pdf" and message.media["kind"] == "document"
    assert db.session.get(MessageFile, message.id).data == b"%PDF-1.4"
    assert "deck.pdf" in response.get_data(as_text=True)


def test_a_failed_message_shows_its_reason_and_retries(owner_client, token, account):
    chat = make_chat(account)
    failed = make_message(chat, "Try me", out=True, status="failed", error="Too many messages: wait 30 s.",
                          telegram_id=None, random_id=12345)
    html = owner_client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert "Too many messages: wait 30 s." in html and f"/inbox/messages/{failed.id}/retry" in html
    response = post(owner_client, f"/inbox/messages/{failed.id}/retry", token)
    assert response.status_code == 200 and "Sending…" in response.get_data(as_text=True)
    db.session.refresh(failed)
    assert (failed.status, failed.random_id) == ("queued", 12345)


def test_reading_clears_the_badge_and_mark_all_read_clears_every_one(owner_client, token, account):
    first = make_chat(account, unread_count=2)
    make_message(first, telegram_id=7)
    second = make_chat(account, unread_count=1)
    response = post(owner_client, f"/inbox/chats/{first.id}/read", token)
    html = response.get_data(as_text=True)
    assert f'id="chat-row-{first.id}"' in html and 'hx-swap-oob="true"' in html and "unread-badge" not in html
    assert db.session.get(Chat, first.id).read_inbox_max_id == 7
    response = post(owner_client, "/inbox/read-all", token)
    assert "Marked 1 chat read." in response.headers["HX-Trigger"]
    assert db.session.get(Chat, second.id).unread_count == 0


def test_managers_assign_from_the_thread_and_agents_cannot(app, client, owner, owner_client, token, account):
    chat = make_chat(account)
    agent = add_member(owner.organization, role=Role.AGENT)
    html = owner_client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    assert f'id="assignee-{chat.id}"' in html
    response = post(owner_client, f"/inbox/chats/{chat.id}/assign", token, assignee_id=str(agent.user_id))
    assert response.status_code == 200 and agent.user.name in response.headers["HX-Trigger"]
    assert db.session.get(Chat, chat.id).assignee_id == agent.user_id
    sign_in_as(client, agent)  # the chat is now assigned to them, so they see it, without the dropdown
    page = client.get(f"/inbox/chats/{chat.id}")
    assert page.status_code == 200 and f'id="assignee-{chat.id}"' not in page.get_data(as_text=True)
    agent_token = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert post(client, f"/inbox/chats/{chat.id}/assign", agent_token, assignee_id="").status_code == 403


def test_agents_cannot_open_chats_they_do_not_see(client, owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    hidden = make_chat(account, title="Hidden Person")
    sign_in_as(client, agent)
    assert client.get(f"/inbox/chats/{hidden.id}").status_code == 404
    assert "Hidden Person" not in client.get("/inbox/").get_data(as_text=True)
    give_account(account, agent)
    assert client.get(f"/inbox/chats/{hidden.id}").status_code == 200


def test_the_open_chats_refetch_says_when_it_is_no_longer_the_viewers(client, owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    chat = make_chat(account, title="Hidden Person", assignee_id=agent.user_id)
    sign_in_as(client, agent)
    refetch = {**HX, "HX-Trigger": "conversation"}
    assert "Hidden Person" in client.get(f"/inbox/chats/{chat.id}", headers=refetch).get_data(as_text=True)

    chat.assignee_id = None  # a manager took it back
    db.session.commit()
    gone = client.get(f"/inbox/chats/{chat.id}", headers=refetch)
    html = gone.get_data(as_text=True)
    assert gone.status_code == 404 and 'id="conversation"' in html and f'id="chat-head-{chat.id}"' in html
    assert "no longer in your inbox" in html and "Hidden Person" not in html
    opened = client.get(f"/inbox/chats/{chat.id}", headers=HX)  # a person opening it: the usual refusal
    assert opened.status_code == 404 and opened.get_data(as_text=True) == "" and "HX-Trigger" in opened.headers


def test_a_deal_is_created_from_the_side_panel(owner, owner_client, token, account):
    chat = make_chat(account, title="Leo Rossi", username="leo_r")
    response = post(owner_client, f"/inbox/chats/{chat.id}/deals", token, title="Leo pilot", value="5000")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Leo pilot" in html and "Leo Rossi" in html and "not in your contacts" not in html
    assert "Deal “Leo pilot” created." in response.headers["HX-Trigger"].encode().decode("unicode_escape")
    bad = post(owner_client, f"/inbox/chats/{chat.id}/deals", token, title="Bad", value="lots")
    assert bad.status_code == 422 and 'value="lots"' in bad.get_data(as_text=True)


def test_add_to_contacts_links_the_chat(owner_client, token, account):
    chat = make_chat(account, title="Nora Khan")
    response = post(owner_client, f"/inbox/chats/{chat.id}/contact", token)
    assert response.status_code == 200 and "/contacts/" in response.get_data(as_text=True)
    assert db.session.get(Chat, chat.id).contact_id is not None


def test_scrolling_back_loads_older_messages_and_more_chats(owner_client, account):
    chat = make_chat(account)
    for i in range(45):
        make_message(chat, f"line {i}")
    html = owner_client.get(f"/inbox/chats/{chat.id}").get_data(as_text=True)
    older_url = re.search(r'class="thread-older" hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    older = owner_client.get(older_url, headers=HX).get_data(as_text=True)
    assert "line 0" in older and "line 4" in older and "line 5" not in older and "thread-start" in older
    for _ in range(31):
        make_chat(account)
    listing = owner_client.get("/inbox/").get_data(as_text=True)
    more_url = re.search(r'class="chat-more" hx-get="([^"]+)"', listing).group(1).replace("&amp;", "&")
    more = owner_client.get(more_url, headers=HX).get_data(as_text=True)
    assert more.count('class="chat-row') == 2 and "chat-more" not in more


def test_images_are_served_inline_and_other_files_as_downloads(owner_client, account):
    chat = make_chat(account)
    photo = make_message(chat, media={"kind": "photo", "mime_type": "image/png"})
    doc = make_message(chat, media={"kind": "document", "mime_type": "text/html", "file_name": "x.html"})
    db.session.add_all([MessageFile(org_id=chat.org_id, message_id=photo.id, data=b"png", mime_type="image/png"),
                        MessageFile(org_id=chat.org_id, message_id=doc.id, data=b"<script>", mime_type="text/html",
                                    file_name="x.html")])
    db.session.commit()
    image = owner_client.get(f"/inbox/messages/{photo.id}/file")
    assert image.status_code == 200 and image.mimetype == "image/png" and image.data == b"png"
    assert "attachment" not in image.headers.get("Content-Disposition", "")
    download = owner_client.get(f"/inbox/messages/{doc.id}/file")
    assert download.mimetype == "application/octet-stream" and "attachment" in download.headers["Content-Disposition"]
    plain = make_message(chat, "no file")
    assert owner_client.get(f"/inbox/messages/{plain.id}/file").status_code == 404


def test_a_missing_file_is_fetched_from_telegram_first(app, owner_client, account, peer):
    chat = make_chat(account)
    photo = make_message(chat, media={"kind": "photo", "mime_type": "image/jpeg"})

    def fetch(request):
        with app.app_context():
            db.session.add(MessageFile(org_id=chat.org_id, message_id=request.args["message_id"], data=b"jpeg",
                                       mime_type="image/jpeg"))
            db.session.commit()
            db.session.remove()
        return {"stored": True}

    peer.on("media.fetch", fetch)
    response = owner_client.get(f"/inbox/messages/{photo.id}/file")
    assert response.status_code == 200 and response.data == b"jpeg"
    assert peer.requests[0].account_id == account.id
    peer.on("media.fetch", refuse=("media_unavailable", "Telegram no longer has this file."))
    other = make_message(chat, media={"kind": "photo", "mime_type": "image/jpeg"})
    assert owner_client.get(f"/inbox/messages/{other.id}/file").status_code == 422

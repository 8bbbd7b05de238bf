"""An agent sees the chats of the contacts shared with them: in the list, the page, the figures
and live renders alike; not after the contact stops being shared."""

import pytest

from app.blueprints.crm.records import service as crm_service
from app.blueprints.crm.records import sharing
from app.blueprints.messaging import service
from app.blueprints.messaging.live import chat_changed, message_changed
from app.blueprints.team.permissions import Role
from app.errors import NotFound
from app.extensions import db
from app.realtime import Connection
from tests.conftest import bearer, sign_in_as
from tests.factories import add_member, give_account, make_account, make_chat, make_contact, make_message


@pytest.fixture
def as_the_hub_renders(app):
    """Renderers run where the hub calls them: inside a request context of their own."""
    with app.test_request_context("/"):
        yield


def viewer(member) -> Connection:
    return Connection(ws=None, user_id=member.user_id, org_id=member.org_id, role=member.role, socket_id="s")


@pytest.fixture
def inbox(owner):
    """An agent with no account of their own; a contact with a chat on the team's account."""
    org = owner.organization
    agent = add_member(org, role=Role.AGENT)
    contact = make_contact(owner, first_name="Shared", last_name="Client")
    account = make_account(org)
    chat = make_chat(account, title="Shared Client", contact_id=contact.id, unread_count=2)
    other = make_chat(account, title="Somebody Else")
    return {"agent": agent, "contact": contact, "account": account, "chat": chat, "other": other}


def share(owner, inbox) -> None:
    sharing.share_contact(owner, inbox["contact"].id, [inbox["agent"].user_id])
    db.session.commit()


def unshare(owner, inbox) -> None:
    sharing.unshare_contact(owner, inbox["contact"].id, inbox["agent"].user_id)
    db.session.commit()


def listed(agent) -> list[int]:
    rows, _ = service.list_chats(agent, service.InboxFilter())
    return [r.chat.id for r in rows]


def test_the_chats_of_a_shared_contact_join_the_agents_inbox(owner, inbox):
    agent, chat, other = inbox["agent"], inbox["chat"], inbox["other"]
    assert listed(agent) == [] and not service.can_see_chat(agent, chat)
    share(owner, inbox)
    assert listed(agent) == [chat.id]
    assert service.chats_page(agent, service.InboxFilter(), 1, 50) == ([chat], 1)
    assert service.get_chat(agent, chat.id) is chat and service.can_see_chat(agent, chat)
    assert service.unread_totals(agent) == (1, 2)
    assert service.stats(agent)["chats"] == 1
    assert service.contact_chats(agent, inbox["contact"].id) == [chat]
    with pytest.raises(NotFound):
        service.get_chat(agent, other.id)


def test_after_unsharing_the_chats_leave_the_inbox(owner, inbox):
    agent, chat = inbox["agent"], inbox["chat"]
    share(owner, inbox)
    unshare(owner, inbox)
    assert listed(agent) == [] and service.unread_totals(agent) == (0, 0)
    with pytest.raises(NotFound):
        service.get_chat(agent, chat.id)


def test_a_trashed_contact_shows_its_chats_to_no_one_it_was_shared_with(owner, inbox):
    share(owner, inbox)
    crm_service.trash_records(owner, "contact", [inbox["contact"].id])
    db.session.commit()
    assert listed(inbox["agent"]) == [] and not service.can_see_chat(inbox["agent"], inbox["chat"])


def test_a_contact_shared_with_someone_else_shows_them_nothing(owner, inbox):
    bystander = add_member(owner.organization, role=Role.AGENT)
    share(owner, inbox)
    assert listed(bystander) == [] and not service.can_see_chat(bystander, inbox["chat"])


def test_the_inbox_page_the_chat_page_and_the_api_follow_the_share(client, owner, inbox):
    agent, chat = inbox["agent"], inbox["chat"]
    sign_in_as(client, agent)
    assert f'id="chat-row-{chat.id}"' not in client.get("/inbox/").get_data(as_text=True)
    assert client.get(f"/inbox/chats/{chat.id}").status_code == 404
    share(owner, inbox)
    page = client.get("/inbox/").get_data(as_text=True)
    assert f'id="chat-row-{chat.id}"' in page and f'id="chat-row-{inbox["other"].id}"' not in page
    assert client.get(f"/inbox/chats/{chat.id}").status_code == 200
    contact_page = client.get(f"/contacts/{inbox['contact'].id}").get_data(as_text=True)
    assert f'href="/inbox/chats/{chat.id}"' in contact_page
    api = client.get("/api/messaging/chats", headers=bearer(agent)).get_json()
    assert [c["id"] for c in api["items"]] == [chat.id]
    unshare(owner, inbox)
    assert client.get(f"/inbox/chats/{chat.id}").status_code == 404
    assert client.get("/api/messaging/chats", headers=bearer(agent)).get_json()["items"] == []


def test_live_renders_reach_the_agent_while_the_contact_is_shared(owner, inbox, as_the_hub_renders):
    agent, chat = inbox["agent"], inbox["chat"]
    message = make_message(chat, "Are you there?")
    event = {"chat_id": chat.id, "message_id": message.id, "new": True, "org_id": owner.org_id}
    assert message_changed(dict(event), viewer(agent)) is None
    share(owner, inbox)
    assert "Are you there?" in message_changed(dict(event), viewer(agent))
    assert chat_changed({"chat_id": chat.id, "org_id": owner.org_id}, viewer(agent)) is not None
    unshare(owner, inbox)
    assert message_changed(dict(event), viewer(agent)) is None


def test_sharing_rings_the_chats_so_open_inboxes_take_them_in_and_drop_them(owner, inbox, doorbells,
                                                                          as_the_hub_renders):
    agent, chat = inbox["agent"], inbox["chat"]
    colleague = add_member(owner.organization, role=Role.AGENT)
    give_account(inbox["account"], colleague)  # sees the chat through the account already
    doorbells()
    share(owner, inbox)
    sharing.share_contact(owner, inbox["contact"].id, [colleague.user_id])
    db.session.commit()
    rung = doorbells()
    assert rung == [("inbox.chat", {"chat_id": chat.id, "shared": [agent.user_id]}),
                    ("inbox.chat", {"chat_id": chat.id, "shared": [colleague.user_id]})]
    html = chat_changed({**rung[0][1], "org_id": owner.org_id}, viewer(agent))
    assert 'hx-swap-oob="afterbegin:#chat-list"' in html and f'id="chat-row-{chat.id}"' in html
    again = chat_changed({**rung[1][1], "org_id": owner.org_id}, viewer(colleague))
    assert "afterbegin" not in again and f'id="chat-row-{chat.id}"' in again  # no second row
    unshare(owner, inbox)
    [(kind, data)] = doorbells()
    assert (kind, data) == ("inbox.chat", {"chat_id": chat.id, "unshared": [agent.user_id]})
    gone = chat_changed({**data, "org_id": owner.org_id}, viewer(agent))
    assert f'<div id="chat-row-{chat.id}" hx-swap-oob="delete">' in gone and "no longer shared with you" in gone
    assert "afterbegin" not in chat_changed({**data, "org_id": owner.org_id}, viewer(colleague))
    assert chat_changed({**data, "org_id": owner.org_id}, viewer(add_member(owner.organization))) is None

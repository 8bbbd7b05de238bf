"""The inbox on CRM record pages: a contact's and a deal's conversations, and "Message on Telegram"
(the latest chat, or one started from an account the viewer may send from, through the telegram
process's ``chat.open``: the real runtime with a sandbox Telegram, or a stand-in at the boundary)."""

import re

import pytest
from sqlalchemy import func, select

from app.blueprints.messaging.models import Chat
from app.blueprints.team.permissions import Role
from app.extensions import db
from app.integrations.telegram.sandbox import World
from tests.conftest import sign_in_as
from tests.factories import (
    add_member,
    give_account,
    make_account,
    make_chat,
    make_contact,
    make_deal,
    make_member,
    make_message,
)
from tests.integrations.telegram import runtime_kit
from tests.integrations.telegram.runtime_kit import eventually, online
from tests.integrations.telegram.runtime_kit import runtime as runtime  # the fixture

PHONE = "9996621234"


@pytest.fixture
def world() -> World:
    world = World(reply_delay=None)
    world.add_account(PHONE, first_name="Dana", last_name="Sales", username="dana_bd")
    return world


@pytest.fixture
def account(owner):
    return make_account(owner.organization, display_name="Dana Sales")


def token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def start(client, contact_id: int, account_id, path: str | None = None, **extra):
    path = path or f"/contacts/{contact_id}"
    return client.post(f"/inbox/contacts/{contact_id}/chat", data={
        "account_id": account_id, "csrf_token": token(client, path), **extra})


def chat_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Chat))


def panel(html: str) -> str:
    return html.split('id="contact-chats"', 1)[1].split("</section>", 1)[0]


# -- the panels --------------------------------------------------------------------------------

def test_a_deal_page_shows_its_contacts_chats_linking_into_the_inbox(owner, owner_client, account):
    contact = make_contact(owner, first_name="Olivia", last_name="Kowalski", telegram_username="olivia_k")
    deal = make_deal(owner, title="Pilot", contact=contact.id)
    older = make_chat(account, title="Olivia K (old)", contact_id=contact.id)
    latest = make_chat(account, title="Olivia K", contact_id=contact.id)
    latest.last_message_at = older.last_message_at.replace(year=older.last_message_at.year + 1)
    db.session.commit()
    make_message(latest, "Is the pilot still on?")
    make_chat(account, title="Somebody Else")  # another person's chat

    html = owner_client.get(f"/deals/{deal.id}").get_data(as_text=True)

    shown = panel(html)
    assert "Conversations with Olivia Kowalski" in shown
    assert f'href="/inbox/chats/{latest.id}"' in shown and f'href="/inbox/chats/{older.id}"' in shown
    assert re.search(rf'class="button button-primary" href="/inbox/chats/{latest.id}">Message on Telegram<',
                     shown)
    assert "Somebody Else" not in html and "<form" not in shown
    # The deal's timeline keeps to the deal; the contact's page has the messages on its own.
    assert "Is the pilot still on?" not in html
    assert "Is the pilot still on?" in owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True)


def test_a_deal_without_a_contact_says_so(owner, owner_client, account):
    deal = make_deal(owner, title="Nobody yet")
    shown = panel(owner_client.get(f"/deals/{deal.id}").get_data(as_text=True))
    assert "This deal has no contact." in shown and "Message on Telegram" not in shown


def test_a_chat_the_viewer_may_not_see_is_not_shown(client, owner, account):
    agent = add_member(owner.organization, role=Role.AGENT)
    theirs = make_account(owner.organization, display_name="Agent Line")
    give_account(theirs, agent)
    contact = make_contact(owner, first_name="Liam", last_name="Ng", telegram_username="liam_ng")
    deal = make_deal(owner, title="Liam's deal", contact=contact.id)
    hidden = make_chat(account, title="Liam on Dana's line", contact_id=contact.id)
    sign_in_as(client, agent)

    for path in (f"/contacts/{contact.id}", f"/deals/{deal.id}"):
        shown = panel(client.get(path).get_data(as_text=True))
        assert "Liam on Dana's line" not in shown and f"/inbox/chats/{hidden.id}" not in shown
        # ... so it offers to start one, from the agent's own account only
        options = re.findall(r'<option value="(\d+)">([^<]*)</option>', shown)
        assert [int(v) for v, _ in options] == [theirs.id] and "Agent Line" in options[0][1]
    assert f'name="deal_id" value="{deal.id}"' in shown


def test_the_start_form_lists_connected_accounts_and_states_the_budget(owner, owner_client, account):
    make_account(owner.organization, display_name="Asleep", status="offline")
    make_account(owner.organization, display_name="Banned One", status="banned")
    contact = make_contact(owner, first_name="Priya", phone="+447700900555")

    shown = panel(owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True))

    assert re.findall(r'<option value="(\d+)">', shown) == [str(account.id)]
    assert "First messages count against the account's daily limit of new chats (30 a day); over the " \
           "limit they wait." in shown
    assert f'action="/inbox/contacts/{contact.id}/chat"' in shown and 'name="csrf_token"' in shown
    busy = make_account(owner.organization, display_name="Busy", config={"new_chats_per_day": 12})
    shown = panel(owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    assert f'<option value="{busy.id}">Busy · 12 new chats a day</option>' in shown
    assert "daily limit of new chats; over the limit they wait." in shown


def test_without_a_connected_account_the_page_says_so(client, owner, owner_client):
    make_account(owner.organization, display_name="Asleep", status="offline")
    contact = make_contact(owner, telegram_username="ann_lee")
    shown = panel(owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    assert "No Telegram account is connected right now" in shown and 'href="/accounts/"' in shown
    assert "<form" not in shown
    agent = add_member(owner.organization, role=Role.AGENT)
    sign_in_as(client, agent)
    shown = panel(client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    assert "No Telegram account of yours is connected" in shown and 'href="/accounts/"' not in shown


def test_a_contact_without_username_or_phone_is_asked_for_one(owner, owner_client, account):
    contact = make_contact(owner, first_name="Maya", email="maya@example.com")
    deal = make_deal(owner, contact=contact.id)
    shown = panel(owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True))
    assert "add their Telegram username or phone number" in shown and "<form" not in shown
    shown = panel(owner_client.get(f"/deals/{deal.id}").get_data(as_text=True))
    assert f'href="/contacts/{contact.id}"' in shown and "<form" not in shown


# -- starting a conversation -------------------------------------------------------------------

def test_message_on_telegram_opens_the_chat_on_telegram_linked_to_the_contact(app, owner, owner_client,
                                                                              runtime, world):
    ann = world.add_person("Ann", "Lee", username="ann_lee", phone="+15550001")
    ben = world.add_person("Ben", "Okafor", phone="+447700900123")
    account = runtime_kit.make_account(owner.organization, world, PHONE)
    runtime()
    eventually(lambda: online(account.id), what="online")
    contact = make_contact(owner, first_name="Annie", telegram_username="ann_lee")
    deal = make_deal(owner, contact=contact.id)

    response = start(owner_client, contact.id, account.id)

    chat = db.session.scalar(select(Chat).where(Chat.account_id == account.id))
    assert response.status_code == 302 and response.location == f"/inbox/chats/{chat.id}"
    assert (chat.peer_id, chat.contact_id, chat.org_id) == (ann.profile.id, contact.id, owner.org_id)
    assert "composer-text-" in owner_client.get(response.location).get_data(as_text=True)
    # Again (from the deal's page): the same chat, without asking Telegram.
    again = start(owner_client, contact.id, account.id, f"/deals/{deal.id}", deal_id=deal.id)
    assert again.location == f"/inbox/chats/{chat.id}" and chat_count() == 1
    shown = panel(owner_client.get(f"/deals/{deal.id}").get_data(as_text=True))
    assert f'href="/inbox/chats/{chat.id}">Message on Telegram<' in shown

    by_phone = make_contact(owner, first_name="Ben", phone="+447700900123")
    response = start(owner_client, by_phone.id, account.id)
    chat = db.session.scalar(select(Chat).where(Chat.contact_id == by_phone.id))
    assert response.location == f"/inbox/chats/{chat.id}" and chat.peer_id == ben.profile.id

    # Nobody on Telegram by that name: back to the record page, saying so, and nothing stored.
    nobody = make_contact(owner, first_name="Nobody", telegram_username="nobody_here")
    deal = make_deal(owner, contact=nobody.id)
    response = start(owner_client, nobody.id, account.id, f"/deals/{deal.id}", deal_id=deal.id)
    assert response.status_code == 302 and response.location == f"/deals/{deal.id}"
    assert "Nobody on Telegram has this username" in owner_client.get(response.location).get_data(as_text=True)
    assert chat_count() == 2


def test_a_refusal_or_an_offline_account_changes_nothing_and_says_why(owner, owner_client, account, peer):
    contact = make_contact(owner, telegram_username="ann_lee")
    peer.on("chat.open", refuse=("flood_wait", "Telegram asks this account to wait 5 minutes."))
    response = start(owner_client, contact.id, account.id)
    assert response.location == f"/contacts/{contact.id}"
    assert "wait 5 minutes" in owner_client.get(response.location).get_data(as_text=True)
    asleep = make_account(owner.organization, status="offline")
    response = start(owner_client, contact.id, asleep.id)
    assert "not connected right now" in owner_client.get(response.location).get_data(as_text=True)
    assert peer.ops() == ["chat.open"] and chat_count() == 0  # the offline account: not even asked


def test_a_contact_without_username_or_phone_gets_no_chat(owner, owner_client, account, peer):
    contact = make_contact(owner, first_name="Maya", email="maya@example.com")
    response = start(owner_client, contact.id, account.id)
    assert response.location == f"/contacts/{contact.id}"
    page = owner_client.get(response.location).get_data(as_text=True)
    assert "Add the contact&#39;s Telegram username or phone number first." in page
    assert peer.requests == [] and chat_count() == 0


def test_another_organizations_contact_or_account_is_a_404(owner, owner_client, account, peer):
    stranger = make_member()
    theirs = make_contact(stranger, telegram_username="ann_lee")
    their_account = make_account(stranger.organization)
    mine = make_contact(owner, telegram_username="ann_lee")
    assert start(owner_client, theirs.id, account.id, f"/contacts/{mine.id}").status_code == 404
    assert start(owner_client, mine.id, their_account.id).status_code == 404
    assert start(owner_client, mine.id, "junk").status_code == 404
    assert peer.requests == [] and chat_count() == 0


def test_an_agent_starts_only_from_an_account_given_to_them(app, client, owner, account, peer):
    agent = add_member(owner.organization, role=Role.AGENT)
    theirs = make_account(owner.organization)
    give_account(theirs, agent)
    contact = make_contact(owner, telegram_username="ann_lee")

    def open_chat(request):
        with app.app_context():
            chat = Chat(org_id=owner.org_id, account_id=request.account_id, peer_id=4242, title="Ann",
                        contact_id=request.args["contact_id"])
            db.session.add(chat)
            db.session.commit()
            chat_id = chat.id
            db.session.remove()
        return {"chat_id": chat_id}

    peer.on("chat.open", open_chat)
    sign_in_as(client, agent)
    assert start(client, contact.id, account.id).status_code == 404
    assert peer.requests == [] and chat_count() == 0
    response = start(client, contact.id, theirs.id)
    chat = db.session.scalar(select(Chat))
    assert response.location == f"/inbox/chats/{chat.id}"
    assert (chat.account_id, chat.contact_id) == (theirs.id, contact.id)
    assert peer.requests[0].args == {"username": "ann_lee", "contact_id": contact.id}

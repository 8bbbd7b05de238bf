"""Sharing in a browser: a manager shares a contact with an agent on its page; the agent's open
inbox takes its chat in live, and the agent can edit the contact."""

import re

from playwright.sync_api import expect

from app.blueprints.team.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_account, make_chat, make_contact, make_member


def test_a_manager_shares_a_contact_and_the_agent_sees_its_chat_and_edits_it(new_page):
    manager = make_member(Role.MANAGER)
    agent = add_member(manager.organization, role=Role.AGENT)
    contact = make_contact(manager, first_name="Nora", last_name="Quist", telegram_username="noraq")
    chat = make_chat(make_account(manager.organization), title="Nora Quist", contact_id=contact.id,
                     last_message_preview="Can we talk pricing?")
    contact_id, chat_id, agent_id, agent_name = contact.id, chat.id, agent.user_id, agent.user.name

    theirs = new_page()
    sign_in(theirs, agent.user.email, PASSWORD)
    theirs.goto("/inbox/")
    expect(theirs.locator("body.is-live")).to_have_count(1)
    expect(theirs.locator(f"#chat-row-{chat_id}")).to_have_count(0)

    mine = new_page()
    sign_in(mine, manager.user.email, PASSWORD)
    mine.goto(f"/contacts/{contact_id}")
    card = mine.locator("#shared-with")
    expect(card).to_contain_text("Not shared with anyone.")
    card.locator(f"input[name=user_ids][value='{agent_id}']").check()
    card.get_by_role("button", name="Share").click()
    expect(mine.locator(f"#share-{agent_id}")).to_contain_text(agent_name)
    expect(mine.locator("#timeline")).to_contain_text(f"shared it with {agent_name}.")
    expect(mine.locator(".toast")).to_contain_text("Contact shared.")

    expect(theirs.locator(f"#chat-row-{chat_id}")).to_contain_text("Nora Quist")  # live, no reload
    theirs.click(f"#chat-row-{chat_id} a")
    expect(theirs).to_have_url(re.compile(rf"/inbox/chats/{chat_id}$"))

    theirs.goto(f"/contacts/{contact_id}")
    expect(theirs.locator("#shared-with")).to_contain_text(agent_name)
    theirs.get_by_role("link", name="Edit", exact=True).click()
    theirs.fill("input[name=title]", "Head of Purchasing")
    theirs.get_by_role("button", name="Save changes").click()
    expect(theirs).to_have_url(re.compile(rf"/contacts/{contact_id}$"))
    expect(theirs.locator(".record-facts")).to_contain_text("Head of Purchasing")
    assert mine.csp.violations() == [] and theirs.csp.violations() == []

"""Campaigns where the team works, in Chromium: a contact's page stops their sequence; the chat
names the campaign and step of the message it sent; the contacts list adds the rows ticked to a
campaign; the composer inserts a template rendered for the chat's contact."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.campaigns import message_templates
from app.blueprints.campaigns.models import Enrollment, EnrollmentStatus
from app.db_types import utcnow
from app.extensions import db
from tests.campaigns.kit import campaign, dispatch, launch, manager
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_account, make_chat, make_contact

SOON = timedelta(minutes=16)  # past a step's jitter inside its window
SHOTS = None  # a folder to keep screenshots in while looking at the screens by hand


@pytest.fixture
def team():
    member = manager()
    account = make_account(member.organization, display_name="Sales desk",
                           config={"new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0})
    anna = make_contact(member, first_name="Anna", last_name="Prospect", telegram_username="anna_p")
    chat = make_chat(account, title="Anna Prospect", contact_id=anna.id, username="anna_p")
    vera = make_contact(member, first_name="Vera", last_name="Lead", telegram_username="vera_l")
    running = campaign(member, [account], [(0, ["Hi {{first_name}}", "Hello {{first_name}}"]), (60, ["Ping"])],
                       name="Q1 founders")
    launch(member, running, [anna])
    dispatch(utcnow() + SOON)
    draft = campaign(member, [account], [(0, ["Hello"])], name="Spring draft")
    template = message_templates.create_template(member, "Intro", "Hi {{first_name}} from {{company.name}}")
    db.session.commit()
    return {"member": member, "anna": anna, "chat": chat, "vera": vera, "running": running, "draft": draft,
            "template": template}


def enrollment(found, contact) -> Enrollment | None:
    db.session.rollback()
    return db.session.scalar(select(Enrollment).where(Enrollment.campaign_id == found.id,
                                                      Enrollment.contact_id == contact.id))


def shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_the_team_stops_a_sequence_sees_its_origin_adds_people_and_inserts_a_template(new_page, team):
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, team["member"].user.email, PASSWORD)

    # the chat names the campaign, step and variant of the message it sent
    chat = team["chat"]
    page.goto(f"/inbox/chats/{chat.id}")
    origin = page.locator(f"#thread-messages-{chat.id} [data-origin]")
    expect(origin).to_have_count(1)
    expect(origin).to_contain_text(re.compile(r"Campaign “Q1 founders” · step 1 · variant [AB]"))
    expect(page.locator(f"#chat-origin-{chat.id}")).to_contain_text("Campaign “Q1 founders” · step 1")

    # a template inserted after what was written, the blank company left to fill in
    box = page.locator(f"#composer-text-{chat.id}")
    box.fill("Hello!")
    page.locator(f"#composer-templates-{chat.id} summary").click()
    page.locator(f"#composer-template-{team['template'].id}").click()
    expect(page.locator(f"#composer-text-{chat.id}")).to_have_value("Hello!\nHi Anna from {{company.name}}")
    expect(page.locator(f"#composer-templates-{chat.id}")).not_to_have_attribute("open", "")
    shot(page, "chat")

    # the contact's page stops the sequence
    page.goto(f"/contacts/{team['anna'].id}")
    panel = page.locator("#contact-campaigns")
    expect(panel).to_contain_text("Q1 founders")
    shot(page, "contact")
    panel.get_by_role("button", name="Stop").click()
    expect(panel).to_contain_text("Stopped by a teammate")
    expect(panel.get_by_role("button", name="Stop")).to_have_count(0)
    assert enrollment(team["running"], team["anna"]).status == EnrollmentStatus.STOPPED

    # the contacts list adds the rows ticked to a campaign
    page.goto("/contacts")
    page.locator(f"input[name=ids][value='{team['vera'].id}']").check()
    page.locator("#list-action-add_to_campaign").click()
    picker = page.locator("#add-to-campaign")
    expect(picker).to_contain_text("Add 1 contact to")
    shot(page, "contacts")
    picker.locator("select[name=campaign_id]").select_option(str(team["draft"].id))
    picker.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Added 1 contact to “Spring draft”.")
    expect(picker).to_have_count(0)
    assert enrollment(team["draft"], team["vera"]) is not None
    assert page.csp.violations() == []

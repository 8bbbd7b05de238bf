"""Building a campaign in Chromium: a manager writes two steps (a variable, two variants), moves
them, sees a contact's preview, chooses the audience, reads the launch review and launches."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.campaigns.models import Campaign, CampaignStatus, Enrollment, EnrollmentStatus
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_account, make_contact, make_member


def test_a_manager_builds_a_two_step_campaign_chooses_its_audience_and_launches_it(new_page):
    member = make_member(Role.MANAGER)
    account = make_account(member.organization, display_name="Sales desk", config={"new_chats_per_day": 25})
    for first, username in (("Anna", "anna_b"), ("Annette", "annette_b"), ("Anika", None)):
        make_contact(member, first_name=first, last_name="Berg", telegram_username=username)
    make_contact(member, first_name="Boris", last_name="Other", telegram_username="boris_o")

    page = new_page()
    sign_in(page, member.user.email, PASSWORD)
    page.click("nav >> text=Campaigns")
    expect(page.locator(".empty")).to_contain_text("No campaign yet")
    page.click("text=New campaign >> nth=0")
    expect(page).to_have_url(re.compile(r"/campaigns/new$"))

    page.fill("#campaign-name", "Spring partners")
    page.check(f"input[name=account_ids][value='{account.id}']")
    first = page.locator("#steps-0-variants-0-text")
    first.fill("Hi ")
    page.click(".variable-chip[data-insert='{{first_name}}']")  # inserted at the cursor
    expect(first).to_have_value("Hi {{first_name}}")
    first.press("End")
    first.type(", {{nickname}}")
    expect(page.locator("#problems-0-0")).to_have_text("There is no variable {{nickname}}.")
    first.fill("Hi {{first_name}}, a quick question")
    expect(page.locator("#problems-0-0")).to_be_empty()

    page.click("text=Add a variant (A/B)")
    page.fill("#steps-0-variants-1-text", "Hello {{first_name}}!")
    page.click("button[value=add_step]")
    page.fill("#steps-1-variants-0-text", "Following up on my note")
    expect(page.locator("#steps-1-wait_unit")).to_have_value("days")
    # moved up and back down: the texts travel with their steps
    page.click("button[value='up:1']")
    expect(page.locator("#steps-0-variants-0-text")).to_have_value("Following up on my note")
    page.click("button[value='down:0']")
    expect(page.locator("#steps-1-variants-0-text")).to_have_value("Following up on my note")
    expect(page.locator("#steps-0-variants-1-text")).to_have_value("Hello {{first_name}}!")
    page.fill("#steps-1-wait_amount", "2")

    page.select_option("#preview-contact", label="Boris Other")
    expect(page.locator("#preview")).to_contain_text("Hi Boris, a quick question")
    expect(page.locator("#preview")).to_contain_text("Hello Boris!")

    page.click("#save-campaign")
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/edit$"))
    expect(page.locator(".toast")).to_contain_text("Campaign “Spring partners” created.")
    found = db.session.scalar(select(Campaign).where(Campaign.org_id == member.org_id))
    assert [[v.text for v in s.variants] for s in found.steps] == [
        ["Hi {{first_name}}, a quick question", "Hello {{first_name}}!"], ["Following up on my note"]]
    assert [s.wait_minutes for s in found.steps] == [0, 2 * 24 * 60]

    page.fill("#audience-q", "Berg")
    expect(page.locator("#audience-count")).to_have_text("3 contacts match.")
    page.click("#audience button[type=submit]")
    expect(page.locator("#audience-total")).to_have_text("3 people in this campaign")

    page.click("#review-link")
    expect(page).to_have_url(re.compile(rf"/campaigns/{found.id}/review$"))
    expect(page.locator("#writable-count")).to_have_text("2")
    expect(page.locator("#skip-no_identity")).to_contain_text("No Telegram username, phone or id")
    page.click("#skip-no_identity summary")
    expect(page.locator("#skip-no_identity")).to_contain_text("Anika Berg")
    expect(page.locator("#review-pace")).to_contain_text("At 25 first messages a day")

    page.click("#launch-campaign")
    expect(page).to_have_url(re.compile(rf"/campaigns/{found.id}$"))
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).status == CampaignStatus.RUNNING
    statuses = sorted(db.session.scalars(select(Enrollment.status).where(Enrollment.campaign_id == found.id)))
    assert statuses == [EnrollmentStatus.SKIPPED, EnrollmentStatus.WAITING, EnrollmentStatus.WAITING]
    assert page.csp.violations() == []


def test_a_change_to_a_running_campaign_is_saved_once_confirmed(new_page):
    from app.blueprints.campaigns import service
    from tests.campaigns.kit import ALWAYS

    member = make_member(Role.MANAGER)
    account = make_account(member.organization)
    found = service.create_campaign(member, {"name": "Running", "account_ids": [account.id], "window": ALWAYS,
                                             "steps": [{"variants": [{"text": "Hi {{first_name}}"}]}]})
    service.add_contacts(member, found, contact_ids=[make_contact(member, telegram_username="ola_r").id])
    service.launch(member, found)
    db.session.commit()

    page = new_page()
    sign_in(page, member.user.email, PASSWORD)
    page.goto(f"/campaigns/{found.id}/edit")
    page.fill("#steps-0-variants-0-text", "Hello {{first_name}}")
    page.click("#save-campaign")
    expect(page.locator("#confirm-changes")).to_contain_text("Confirm to apply them.")
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).steps[0].variants[0].text == "Hi {{first_name}}"

    page.click("#confirm-changes button[name=confirmed]")
    expect(page.locator(".toast")).to_contain_text("Campaign saved.")
    expect(page.locator("#confirm-changes")).to_have_count(0)
    db.session.expire_all()
    assert db.session.get(Campaign, found.id).steps[0].variants[0].text == "Hello {{first_name}}"
    assert page.csp.violations() == []

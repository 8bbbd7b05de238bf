"""A step's file in Chromium: a manager attaches a file to the second step, moves that step up (the
file goes with it), saves, sees it listed after a reload, and takes it away again."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.campaigns import service
from app.blueprints.campaigns.models import Campaign, CampaignFile
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.campaigns.kit import ALWAYS
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_account, make_member

DECK = b"%PDF-1.4 the spring deck"


def steps_of(campaign_id):
    db.session.expire_all()
    return [(s.variants[0].text, s.file_id) for s in db.session.get(Campaign, campaign_id).steps]


def test_a_file_attached_to_a_step_moves_with_it_and_is_saved(new_page, tmp_path):
    member = make_member(Role.MANAGER)
    account = make_account(member.organization)
    found = service.create_campaign(member, {"name": "Spring", "account_ids": [account.id], "window": ALWAYS,
                                             "steps": [{"variants": [{"text": "Hi {{first_name}}"}]},
                                                       {"wait_minutes": 1440,
                                                        "variants": [{"text": "Here is our deck"}]}]})
    db.session.commit()
    deck = tmp_path / "spring deck.pdf"
    deck.write_bytes(DECK)

    page = new_page()
    sign_in(page, member.user.email, PASSWORD)
    page.goto(f"/campaigns/{found.id}/edit")
    expect(page.locator("#step-file-1")).to_contain_text("Attach a file")
    page.set_input_files("#step-file-input-1", str(deck))  # kept at once
    expect(page.locator("#step-file-1 .campaign-file-title")).to_have_text("spring deck.pdf")
    expect(page.locator("#step-file-1")).to_contain_text("24 B")
    kept = db.session.scalar(select(CampaignFile).where(CampaignFile.org_id == member.org_id))
    assert (kept.file_name, kept.mime_type, kept.size) == ("spring deck.pdf", "application/pdf", len(DECK))
    assert steps_of(found.id) == [("Hi {{first_name}}", None), ("Here is our deck", None)]  # not saved yet

    page.fill("#steps-1-variants-0-text", "Here is our deck, {{first_name}}")
    page.click("button[value='up:1']")
    expect(page.locator("#steps-0-variants-0-text")).to_have_value("Here is our deck, {{first_name}}")
    expect(page.locator("#step-file-0 .campaign-file-title")).to_have_text("spring deck.pdf")
    expect(page.locator("#step-file-1")).to_contain_text("Attach a file")

    page.click("#save-campaign")
    expect(page.locator(".toast")).to_contain_text("Campaign saved.")
    assert steps_of(found.id) == [("Here is our deck, {{first_name}}", kept.id), ("Hi {{first_name}}", None)]

    page.reload()
    expect(page.locator("#step-file-0 .campaign-file-title")).to_have_text("spring deck.pdf")
    page.click("#step-file-0 button[value='remove_file:0']")
    expect(page.locator("#step-file-0")).to_contain_text("Attach a file")
    page.click("#save-campaign")
    expect(page.locator(".toast")).to_contain_text("Campaign saved.")
    assert steps_of(found.id) == [("Here is our deck, {{first_name}}", None), ("Hi {{first_name}}", None)]
    assert page.csp.violations() == []


def test_an_empty_file_is_refused_where_it_was_chosen(new_page, tmp_path):
    member = make_member(Role.MANAGER)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")

    page = new_page()
    sign_in(page, member.user.email, PASSWORD)
    page.goto("/campaigns/new")
    page.set_input_files("#step-file-input-0", str(empty))
    expect(page.locator("#step-file-0 .field-error")).to_have_text("That file is empty.")
    expect(page.locator("#step-file-0")).to_contain_text("Attach a file")
    assert db.session.scalar(select(CampaignFile.id)) is None
    assert re.search(r"/campaigns/new$", page.url)
    assert page.csp.violations() == []

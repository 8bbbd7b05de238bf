import re

from playwright.sync_api import expect

from app.blueprints.team.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_contact, make_member


def test_a_contact_with_an_invalid_email_shows_the_error_and_keeps_what_was_typed(new_page):
    owner = make_member(Role.OWNER)
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts/new")
    page.fill("#f-first_name", "Ada")
    page.fill("#f-email", "ada@")
    page.click("text=Create contact")
    expect(page.locator("#f-email-error")).to_contain_text("not a valid email address")
    expect(page.locator("#f-first_name")).to_have_value("Ada")
    expect(page.locator("#f-email")).to_have_value("ada@")
    page.fill("#f-email", "ada@example.com")
    page.click("text=Create contact")
    expect(page).to_have_url(re.compile(r"/contacts/\d+$"))
    expect(page.locator(".toast-success")).to_contain_text("Contact saved.")
    assert page.csp.violations() == []


def test_bulk_assigning_an_owner_updates_the_rows_and_says_so(new_page):
    owner = make_member(Role.OWNER)
    sam = add_member(owner.organization, role=Role.MANAGER)
    first, second = make_contact(owner, first_name="Alpha"), make_contact(owner, first_name="Beta")
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts")
    page.check("[data-select-all]")
    page.select_option("#bulk-owner", str(sam.user_id))
    page.click("text=Assign owner")
    expect(page.locator(".toast-success")).to_contain_text(f"Assigned 2 contacts to {sam.user.name}.")
    for contact in (first, second):
        expect(page.locator(f"#row-contacts-{contact.id} .owner-cell")).to_have_text(sam.user.name)
    assert page.csp.violations() == []


def test_search_as_you_type_narrows_the_list(new_page):
    owner = make_member(Role.OWNER)
    make_contact(owner, first_name="Annabel", last_name="Smith")
    make_contact(owner, first_name="Boris", last_name="Jones")
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts")
    page.fill("#q", "annab")
    expect(page.locator("#results-count")).to_have_text(re.compile(r"of 1$"))
    expect(page.locator("#results")).not_to_contain_text("Boris")
    expect(page).to_have_url(re.compile(r"q=annab"))


def test_timeline_times_show_on_the_viewers_own_clock(new_page):
    from datetime import UTC, datetime

    from app.blueprints.crm.models import Activity
    from app.extensions import db

    owner = make_member(Role.OWNER)
    contact = make_contact(owner, first_name="Tokyo", last_name="Time")
    activity = db.session.query(Activity).filter_by(subject_id=contact.id, kind="created").one()
    activity.created_at = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 08:30 on March 2 in Tokyo
    db.session.commit()
    page = new_page(timezone="Asia/Tokyo")
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/contacts/{contact.id}")
    stamp = page.locator(f"#activity-{activity.id} time")
    expect(stamp).to_contain_text("Mar 2, 2026")
    expect(stamp).to_contain_text("08:30")
    expect(stamp).to_have_attribute("title", "Mar 1, 2026, 23:30 UTC")


def test_a_contact_page_shows_its_telegram_conversation_and_opens_the_chat(new_page):
    from tests.factories import make_account, make_chat, make_message

    owner = make_member(Role.OWNER)
    contact = make_contact(owner, first_name="Ivy", last_name="Meyer")
    chat = make_chat(make_account(owner.organization, display_name="Sales desk"), title="Ivy Meyer",
                     contact_id=contact.id, last_message_preview="Is the pilot still on?")
    message = make_message(chat, "Is the pilot still on?")
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/contacts/{contact.id}")
    expect(page.locator("#contact-chats")).to_contain_text("via Sales desk")
    entry = page.locator(f"#activity-message-{message.id}")
    expect(entry).to_contain_text("Ivy Meyer")
    expect(entry).to_contain_text("Is the pilot still on?")
    page.locator("#contact-chats").get_by_role("link", name="Ivy Meyer").click()
    expect(page).to_have_url(re.compile(rf"/inbox/chats/{chat.id}$"))
    assert page.csp.violations() == []


def test_on_a_phone_a_lists_filters_fold_behind_a_button_that_counts_those_in_use(new_page):
    owner = make_member(Role.OWNER)
    make_contact(owner, first_name="Tagged", tags="vip")
    page = new_page({"width": 390, "height": 844})
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts?tag=vip")
    toggle = page.locator("[data-toggle-filters]")
    expect(toggle).to_have_text(re.compile(r"Filters\s+1"))
    expect(page.locator("#q")).to_be_visible()
    expect(page.locator("#filter-owner")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.select_option("#filter-owner", "none")  # a choice still filters the list at once
    expect(page).to_have_url(re.compile(r"owner=none"))
    expect(page.locator("#results")).not_to_contain_text("Tagged")
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(toggle).to_be_hidden()
    toggle.evaluate("el => el.closest('form').classList.remove('is-open')")
    expect(page.locator("#filter-owner")).to_be_visible()  # a laptop shows them all, always
    assert page.csp.violations() == []

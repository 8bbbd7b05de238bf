"""A rep on a deal's page and the new-deal form, in a real browser."""

import re

from playwright.sync_api import expect

from app.blueprints.crm.models import Deal
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_contact, make_deal, make_member


def test_a_rep_marks_a_deal_lost_with_a_reason(new_page):
    owner = make_member(Role.OWNER)
    deal = make_deal(owner, title="Helios pilot", value="12000")
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/deals/{deal.id}")
    expect(page.locator("#outcome .status")).to_have_text("Open")
    page.click("#outcome summary:has-text('Lost')")
    page.fill("#lost-reason", "Chose a competitor")
    page.click("text=Mark lost")
    expect(page.locator(".toast-success")).to_contain_text("Deal marked lost.")
    expect(page.locator("#outcome .status")).to_have_text("Lost")
    expect(page.locator("#outcome .outcome-reason")).to_have_text("Chose a competitor")
    db.session.expire_all()
    assert (db.session.get(Deal, deal.id).status, db.session.get(Deal, deal.id).lost_reason) == \
        ("lost", "Chose a competitor")
    assert page.csp.violations() == []


def test_a_close_date_reads_as_the_same_day_on_any_clock(new_page):
    owner = make_member(Role.OWNER)
    deal = make_deal(owner, title="Dated", expected_close="2027-03-20")
    page = new_page(timezone="America/Los_Angeles")  # UTC midnight is the 19th there
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/deals/{deal.id}")
    expect(page.locator("time[datetime='2027-03-20']")).to_have_text(re.compile(r"Mar 20, 2027"))


def test_the_new_deal_form_picks_the_contact_and_company_from_suggestions(new_page):
    owner = make_member(Role.OWNER)
    owner.organization.default_country = "RU"
    db.session.commit()
    olga = make_contact(owner, first_name="Ольга", last_name="Ёлкина", email="olga@helios.ru")
    make_contact(owner, first_name="Boris", last_name="Jones")
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/deals/new")
    expect(page.locator("#f-currency")).to_have_value("RUB")
    page.fill("#f-title", "Пилот")
    page.click("#f-contact")
    page.keyboard.type("елк")  # the plain letter for the dotted one, lower case: found all the same
    options = page.locator("#f-contact-options option")
    expect(options).to_have_count(1)
    label = options.first.get_attribute("value")
    assert label == "Ольга Ёлкина · olga@helios.ru"
    page.fill("#f-contact", label)  # what choosing the suggestion puts in the input
    page.fill("#f-company", "Helios")
    page.select_option("#f-currency", "EUR")
    page.click("#record-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/deals/\d+$"))
    expect(page.locator(".record-facts")).to_contain_text("Ольга Ёлкина")
    deal = db.session.scalar(db.select(Deal).where(Deal.title == "Пилот"))
    assert (deal.contact_id, deal.currency, deal.company.name) == (olga.id, "EUR", "Helios")
    assert page.csp.violations() == []

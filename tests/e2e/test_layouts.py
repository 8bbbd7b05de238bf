"""Every page fits a phone (390 x 844) and a laptop (1280 x 800): no horizontal page scroll.

A table may scroll inside its own box; the page itself never does. The data is the kind that shows
overflow: long names, several tags, deals with long titles, a wide CSV. Set LAYOUT_SHOTS to a
directory to keep a full-page screenshot of every page at both sizes (to look at them).
"""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from app.blueprints.crm.models import CustomField
from app.blueprints.crm.records import service as records
from app.blueprints.pipeline.public import default_pipeline
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import (
    PASSWORD,
    add_member,
    make_account,
    make_chat,
    make_member,
    make_message,
    make_user,
)

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
SIZES = {"phone": PHONE, "laptop": LAPTOP}

SHOTS = os.environ.get("LAYOUT_SHOTS")
SKIP = ("/api/", "/static", "/ws")

WIDE_CSV = (
    b"First name,Last name,Work e-mail address,Mobile phone number,Company name,Job title,Telegram handle,"
    b"Lead source,Favourite colour,Notes from the conference\n"
    b"Alexandra,Konstantinopoulou-Whitfield,alexandra.konstantinopoulou@northwind-international.example,"
    b"+44 20 7946 0958,Northwind Business Development International,Head of Strategic Partnerships,"
    b"alexandra_kw,Conference,green,Met at the booth; wants a pilot in Q3\n"
    b"Bob,Stone,bob@example.com,,Stone & Sons,CTO,bobstone,Referral,blue,\n"
)


def fits(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def snap(page, size: str, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "root"
        page.screenshot(path=str(Path(SHOTS) / f"{size}-{slug}.png"), full_page=True)


@pytest.fixture
def book(app):
    """An organization with a long name, a team, a wide book of business and a Telegram chat."""
    owner = make_member(Role.OWNER)
    owner.user.name = "Alexandra Konstantinopoulou-Whitfield"
    owner.organization.name = "Northwind Business Development International"
    db.session.commit()
    for name in ("Maximilian Oberhausen-Castellanos", "Sam Okafor"):
        add_member(owner.organization, user=make_user(name=name), role=Role.MANAGER)
    db.session.add_all([
        CustomField(org_id=owner.org_id, entity="contact", key="segment", label="Customer segment"),
        CustomField(org_id=owner.org_id, entity="deal", key="region", label="Sales region"),
    ])
    db.session.commit()

    tags = "enterprise, conference-2026, warm lead, priority, partnerships, web3"
    company = records.create_record(owner, "company", {
        "name": "Northwind Business Development International Holdings",
        "domain": "northwind-business-development-international.example", "industry": "Logistics & Supply Chain",
        "tags": tags})
    contacts = []
    for n, (first, last) in enumerate((("Alexandra", "Konstantinopoulou-Whitfield"),
                                       ("Maximilian", "Oberhausen-Castellanos"), ("Ann", "Lee"))):
        contacts.append(records.create_record(owner, "contact", {
            "first_name": first, "last_name": last, "company": company.name,
            "email": f"{first.lower()}.{last.lower()}@northwind-business-development.example",
            "phone": f"+44 20 7946 09{n:02d}", "telegram_username": f"{first.lower()}_{last.lower()}".replace("-", "_")[:32],
            "title": "Head of Strategic Partnerships and Business Development", "tags": tags,
            "custom.segment": "Mid-market logistics"}))
    pipeline = default_pipeline(owner.org_id)
    stages = list(pipeline.stages)
    deals = []
    for n in range(6):
        deals.append(records.create_record(owner, "deal", {
            "title": f"Northwind International - annual enterprise platform licence and integration {n}",
            "value": "1250000", "currency": "USD", "contact": contacts[n % 3].id, "company": company.id,
            "expected_close": (date.today() + timedelta(days=30 + n)).isoformat(), "owner": owner.user_id,
            "stage": stages[n % 2].id, "tags": tags}))
    db.session.commit()

    account = make_account(owner.organization, display_name="Northwind BD - Alexandra's work phone")
    chat = make_chat(account, title="Alexandra Konstantinopoulou-Whitfield", username="alexandra_kw",
                     contact_id=contacts[0].id, unread_count=3, last_message_at=utcnow(),
                     last_message_preview="Could you send over the updated pricing for the enterprise tier?")
    make_chat(account, title="Maximilian Oberhausen-Castellanos", contact_id=contacts[1].id)
    for n in range(8):
        make_message(chat, ("Could you send over the updated pricing for the enterprise tier? " * (n % 3 + 1)),
                     out=n % 2 == 1, date=utcnow() - timedelta(minutes=60 - n))
    return {"owner": owner, "contact": contacts[0], "other_contact": contacts[1], "company": company,
            "deal": deals[0], "chat": chat, "account": account, "stage": stages[0], "pipeline": pipeline}


def page_urls(app, book, mapping_url: str) -> list[str]:
    """The route sweep's pages (every GET page without arguments), and the record, chat, form and
    import pages with their arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and not rule.rule.startswith(SKIP) \
                and not rule.rule.endswith(".csv"):  # a download, not a page
            urls.append(rule.rule)
    contact, company, deal = book["contact"].id, book["company"].id, book["deal"].id
    for entities in ("contacts", "companies", "deals"):
        urls += [f"/{entities}/new", f"/{entities}/trash"]
    urls += [f"/contacts/{contact}", f"/contacts/{contact}/edit", f"/companies/{company}",
             f"/companies/{company}/edit", f"/deals/{deal}", f"/deals/{deal}/edit",
             f"/inbox/chats/{book['chat'].id}", f"/accounts/{book['account'].id}",
             f"/pipeline/{book['pipeline'].id}", f"/pipeline/stages/{book['stage'].id}/edit",
             "/imports/new/contacts", mapping_url, f"/contacts/merge?ids={contact}&ids={book['other_contact'].id}"]
    return urls


def upload_wide_csv(page) -> str:
    page.goto("/imports/new/contacts")
    page.set_input_files("input[type=file]", files=[{"name": "conference-leads-2026.csv",
                                                     "mimeType": "text/csv", "buffer": WIDE_CSV}])
    page.click("text=Upload and preview")
    expect(page).to_have_url(re.compile(r"/imports/\d+/mapping$"))
    return urlsplit(page.url).path


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])  # Russian words run longer
def test_every_page_fits_a_phone_and_a_laptop_without_sideways_scrolling(app, new_page, book, locale):
    setup = new_page(LAPTOP)
    sign_in(setup, book["owner"].user.email, PASSWORD)
    urls = page_urls(app, book, upload_wide_csv(setup))
    assert len(urls) >= 30
    too_wide = []
    for size, viewport in SIZES.items():
        page = new_page(viewport, locale=locale)
        sign_in(page, book["owner"].user.email, PASSWORD)
        for url in urls:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            width, window = fits(page)
            if width > window:
                too_wide.append((size, url, width))
            snap(page, f"{locale}-{size}", url)
        assert page.csp.violations() == []
    assert not too_wide, "wider than the window:\n" + "\n".join(f"{s} {u}: {w}px" for s, u, w in too_wide)


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
@pytest.mark.parametrize("size", list(SIZES))
def test_the_sign_in_and_sign_up_pages_fit(new_page, size, locale):
    page = new_page(SIZES[size], locale=locale)
    for url in ("/auth/signin", "/auth/signup"):
        page.goto(url)
        width, window = fits(page)
        assert width <= window, (url, width)
        snap(page, f"{locale}-{size}", url)


def test_on_a_phone_a_list_keeps_its_title_and_primary_action_and_the_rest_sits_in_more(new_page):
    owner = make_member(Role.OWNER)
    for size, visible in (("phone", False), ("laptop", True)):
        page = new_page(SIZES[size])
        sign_in(page, owner.user.email, PASSWORD)
        page.goto("/contacts")
        bar = page.get_by_role("banner")
        expect(bar.locator("h1")).to_be_visible()
        expect(bar.get_by_role("link", name="New contact")).to_be_visible()
        more = bar.get_by_role("button", name="More actions")
        if visible:  # a laptop has the room: the actions are in the bar, no menu
            expect(more).to_be_hidden()
            expect(bar.get_by_role("link", name="Import CSV")).to_be_visible()
            continue
        expect(bar.get_by_role("link", name="Import CSV")).to_be_hidden()
        more.click()
        expect(bar.get_by_role("link", name="Trash")).to_be_visible()
        page.keyboard.press("Escape")
        expect(bar.get_by_role("link", name="Trash")).to_be_hidden()
        more.click()
        bar.get_by_role("link", name="Import CSV").click()
        expect(page).to_have_url(re.compile(r"/imports/new/contacts$"))
        assert page.csp.violations() == []

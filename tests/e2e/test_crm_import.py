import re
from pathlib import Path

from playwright.sync_api import expect
from rq import SimpleWorker
from sqlalchemy import select

from app.blueprints.crm.models import Contact
from app.blueprints.team.permissions import Role
from app.extensions import db, redis_store
from app.jobs import Queues, queue
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_member

CSV = (b"First name,Last name,E-mail,Mobile,Favourite colour\n"
       b"Ada,Lovelace,ada@example.com,+44 20 7946 0958,green\n"
       b"Bob,Stone,not-an-email,,blue\n"
       b"Cy,Young,cy@example.com,,red\n")


def test_importing_a_csv_through_the_mapping_screen_and_watching_it_finish(new_page):
    owner = make_member(Role.OWNER)
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)

    page.goto("/imports/new/contacts")
    page.set_input_files("input[type=file]", files=[{"name": "people.csv", "mimeType": "text/csv",
                                                     "buffer": CSV}])
    page.click("text=Upload and preview")
    expect(page).to_have_url(re.compile(r"/imports/\d+/mapping$"))
    expect(page.locator(".import-preview")).to_contain_text("ada@example.com")
    expect(page.locator("#map-0")).to_have_value("first_name")  # the guessed mapping
    expect(page.locator("#map-2")).to_have_value("email")
    expect(page.locator("#map-3")).to_have_value("phone")
    expect(page.locator("#map-4")).to_have_value("")

    page.click("text=Start import")
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    expect(page.locator("#import-progress progress")).to_be_visible()
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "queued")

    # The live server queued the job in Redis; a worker (here, in the test process) runs it while
    # the page keeps polling its progress fragment.
    SimpleWorker([queue(Queues.IMPORTS)], connection=redis_store.client).work(burst=True)

    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done")
    expect(page.locator("#import-progress progress")).to_have_attribute("value", "100")
    expect(page.locator("#count-created")).to_have_text("2")
    expect(page.locator("#count-rejected")).to_have_text("1")
    expect(page.get_by_text("Download rejected rows (CSV)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_text("Download rejected rows (CSV)").click()
    assert "not-an-email" in Path(download.value.path()).read_text(encoding="utf-8-sig")

    db.session.expire_all()
    assert sorted(db.session.scalars(select(Contact.email))) == ["ada@example.com", "cy@example.com"]
    assert page.csp.violations() == []


NAMED = "\n".join(["Name,Email,Phone", "Иванов Иван Иванович,ivan@example.ru,+79161234567",
                   "Anna Lee,anna@example.com,", '"Lee, Bo",bo@example.com,']).encode()


def test_the_mapping_screen_shows_how_names_split_and_warns_when_no_column_names_a_contact(new_page):
    owner = make_member(Role.OWNER)
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/imports/new/contacts")
    page.set_input_files("input[type=file]", files=[{"name": "people.csv", "mimeType": "text/csv",
                                                     "buffer": NAMED}])
    page.click("text=Upload and preview")
    expect(page).to_have_url(re.compile(r"/imports/\d+/mapping$"))

    expect(page.locator("#map-0")).to_have_value("full_name")  # "Name" is split into first and last
    splits = page.locator(".import-name-split")
    expect(splits).to_have_count(3)
    expect(splits.nth(0)).to_contain_text("First name: Иван Иванович")
    expect(splits.nth(0)).to_contain_text("Last name: Иванов")
    expect(splits.nth(1)).to_contain_text("First name: Anna")
    expect(splits.nth(2)).to_contain_text("First name: Bo")
    expect(splits.nth(2)).to_contain_text("Last name: Lee")
    expect(page.locator("#name-warning")).to_have_text("")

    page.eval_on_selector("#map-0", "el => { el.dataset.kept = 'yes'; }")
    page.select_option("#map-0", "")  # nothing names the contacts now: the page says so at once
    expect(page.locator("#name-warning")).to_contain_text("No column gives these contacts a name")
    expect(splits).to_have_count(0)
    page.select_option("#map-0", "full_name")
    expect(page.locator("#name-warning")).to_have_text("")
    expect(splits).to_have_count(3)
    expect(page.locator("#map-0")).to_have_attribute("data-kept", "yes")  # only the rows were swapped

    page.select_option("#map-0", "")
    page.click("text=Start import")  # stopped once, with the warning
    expect(page.locator("#name-warning [role=alert]")).to_contain_text("Nothing has been imported yet")
    expect(page.locator("#map-0")).to_have_value("")
    page.click("text=Import without names")
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    SimpleWorker([queue(Queues.IMPORTS)], connection=redis_store.client).work(burst=True)
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done")

    db.session.expire_all()
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id)))
    assert [(c.first_name, c.last_name, c.email) for c in contacts] == [
        ("", "", "ivan@example.ru"), ("", "", "anna@example.com"), ("", "", "bo@example.com")]
    assert page.csp.violations() == []


def test_the_imports_page_lists_imports_with_their_status_in_words(new_page):
    owner = make_member(Role.OWNER)
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/imports/new/contacts")
    page.set_input_files("input[type=file]", files=[{"name": "people.csv", "mimeType": "text/csv",
                                                     "buffer": CSV}])
    page.click("text=Upload and preview")
    page.click("text=Start import")
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "queued")
    SimpleWorker([queue(Queues.IMPORTS)], connection=redis_store.client).work(burst=True)
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done")

    page.goto("/imports/")
    row = page.locator("#imports tbody tr").first
    expect(row).to_contain_text("people.csv")
    expect(row.locator(".import-status")).to_have_text("Finished")
    row.get_by_role("link", name="people.csv").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+$"))
    assert page.csp.violations() == []

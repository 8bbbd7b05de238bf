import re

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_member


def test_signing_out_another_browser_from_the_sessions_page_sends_it_to_sign_in(new_page):
    member = make_member()
    laptop, phone = new_page(), new_page(viewport={"width": 390, "height": 844})
    sign_in(laptop, member.user.email, PASSWORD)
    sign_in(phone, member.user.email, PASSWORD)
    expect(phone.locator("body.is-live")).to_have_count(1)  # its socket is open

    laptop.click("text=Your sessions")
    expect(laptop).to_have_url(re.compile(r"/auth/sessions$"))
    rows = laptop.locator("#sessions .list-row")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="This browser")).to_have_count(1)
    rows.filter(has_not_text="This browser").locator("button", has_text="Sign out").click()
    expect(laptop.locator(".toast-success, .alert-success").first).to_contain_text("signed out")
    expect(rows).to_have_count(1)

    # The phone's socket is closed as signed out: the page reloads onto the sign-in page.
    expect(phone).to_have_url(re.compile(r"/auth/signin"))
    assert laptop.csp.violations() == [] and phone.csp.violations() == []


def test_sign_out_everywhere_signs_out_this_browser_and_the_others(new_page):
    member = make_member()
    laptop, phone = new_page(), new_page()
    sign_in(laptop, member.user.email, PASSWORD)
    sign_in(phone, member.user.email, PASSWORD)
    expect(phone.locator("body.is-live")).to_have_count(1)
    laptop.goto("/auth/sessions")
    laptop.click("text=Sign out everywhere")
    expect(laptop.locator("text=You are signed out on every device.")).to_be_visible()
    expect(phone).to_have_url(re.compile(r"/auth/signin"))

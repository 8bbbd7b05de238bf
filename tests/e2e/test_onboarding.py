import re

from playwright.sync_api import expect

from tests.e2e.conftest import finish_sign_up, sign_in
from tests.factories import PASSWORD, make_member


def test_a_newcomer_signs_up_lands_in_an_empty_workspace_signs_out_and_back_in(new_page):
    page = new_page()
    page.goto("/")
    page.click("text=Create an account")
    page.fill("input[name=name]", "Nadia Newcomer")
    page.fill("input[name=email]", "nadia@example.com")
    page.fill("input[name=password]", "a long enough secret")
    page.fill("input[name=organization]", "Nadia Ventures")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your inbox")
    expect(page.locator("body")).to_contain_text("We sent a mail to nadia@example.com.")
    finish_sign_up(page, "nadia@example.com")
    expect(page.locator("#org-name")).to_have_text("Nadia Ventures")
    expect(page.locator("#getting-started")).to_be_visible()
    expect(page.locator("text=No conversations yet")).to_be_visible()

    page.click("button[aria-label='Sign out']")
    expect(page).to_have_url(re.compile(r"/auth/signin"))
    expect(page.locator("text=You are signed out.")).to_be_visible()

    sign_in(page, "nadia@example.com", "a long enough secret")
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.locator("h1")).to_contain_text("Nadia")
    assert page.csp.violations() == []


def test_a_wrong_password_shows_an_error_and_keeps_the_email(new_page):
    member = make_member()
    page = new_page()
    sign_in(page, member.user.email, "not the password", succeed=False)
    expect(page.locator(".alert-error")).to_have_text("Email or password is incorrect.")
    expect(page.locator("input[name=email]")).to_have_value(member.user.email)
    expect(page).to_have_url(re.compile(r"/auth/signin"))


def test_sign_up_with_a_short_password_shows_the_field_error(new_page):
    page = new_page()
    page.goto("/auth/signup")
    page.fill("input[name=name]", "Shorty")
    page.fill("input[name=email]", "shorty@example.com")
    page.fill("input[name=password]", "short")
    page.click("button[type=submit]")
    expect(page.locator("#password-error")).to_contain_text("10")
    expect(page.locator("input[name=name]")).to_have_value("Shorty")


def test_the_menu_works_on_a_phone(new_page):
    member = make_member()
    page = new_page(viewport={"width": 390, "height": 844})
    sign_in(page, member.user.email, PASSWORD)
    expect(page.locator("#sidebar")).not_to_be_in_viewport()
    page.click("button[aria-label='Open menu']")
    expect(page.locator("#sidebar")).to_be_in_viewport()
    page.click("#sidebar >> text=Team")
    expect(page).to_have_url(re.compile(r"/settings/members$"))


def test_tapping_outside_the_phone_menu_closes_it(new_page):
    member = make_member()
    page = new_page(viewport={"width": 390, "height": 844})
    sign_in(page, member.user.email, PASSWORD)
    page.click("button[aria-label='Open menu']")
    expect(page.locator("#sidebar")).to_be_in_viewport()
    page.mouse.click(370, 600)  # on the dimmed page, right of the menu
    expect(page.locator("#sidebar")).not_to_be_in_viewport()


def test_the_phone_menu_stays_open_while_parts_of_the_page_load(new_page):
    member = make_member()
    page = new_page(viewport={"width": 390, "height": 844})
    held = []
    page.route("**/inbox/badge", lambda route: held.append(route))  # the sidebar's badge answers after the menu opened
    sign_in(page, member.user.email, PASSWORD)
    page.click("button[aria-label='Open menu']")
    expect(page.locator("#sidebar")).to_be_in_viewport()
    for route in held:
        route.continue_()
    expect(page.locator("#nav-inbox-unread")).to_have_count(1)
    page.wait_for_timeout(100)  # past the swap's settling
    expect(page.locator("body")).to_have_class(re.compile(r"\bnav-open\b"))

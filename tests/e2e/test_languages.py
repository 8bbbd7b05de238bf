"""Russian and English in a real browser: the browser's language first, the switcher's after."""

import re

from playwright.sync_api import expect

from app.blueprints.team.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_member


def test_a_russian_browser_reads_russian_and_the_switcher_changes_it_everywhere(new_page):
    owner = make_member(Role.OWNER)
    page = new_page(locale="ru-RU")
    page.goto("/auth/signin")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("h1")).to_have_text("С возвращением")
    expect(page.locator(".language-option[aria-pressed=true]")).to_have_text("Русский")

    page.click(".language-option:has-text('English')")
    expect(page.locator("h1")).to_have_text("Welcome back")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    sign_in(page, owner.user.email, PASSWORD)
    nav = page.locator("nav.nav")
    expect(nav).to_contain_text("Inbox")
    page.click(".sidebar .language-option:has-text('Русский')")
    expect(nav).to_contain_text("Входящие")
    expect(nav).to_contain_text("Настройки")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page).to_have_url(re.compile(r"/home$"))  # back on the page it was used on
    assert page.csp.violations() == []

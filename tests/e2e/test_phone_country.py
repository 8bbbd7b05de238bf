"""A new organization's default country for phone numbers comes from the browser at sign-up, and
its contacts' numbers written as people there write them are saved with their country code."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import finish_sign_up


@pytest.fixture
def browser_in(new_page):
    """``browser_in(locale, timezone)``: a page of a browser set to that language and time zone."""
    return lambda locale, timezone: new_page(locale=locale, timezone=timezone)


def sign_up(page, email):
    page.fill("input[name=name]", "Irina Petrova")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "a long enough secret")
    page.fill("input[name=organization]", "Petrova BD")
    page.click("button[type=submit]")
    finish_sign_up(page, email)


def test_a_russian_browser_signs_up_into_an_organization_reading_russian_numbers(browser_in):
    page = browser_in("ru-RU", "Europe/Moscow")
    page.goto("/auth/signup")
    expect(page.locator("input[name=country]")).to_have_value("RU")  # the script read navigator.language
    sign_up(page, "irina@example.com")

    page.goto("/settings/organization")
    expect(page.locator("select[name=default_country]")).to_have_value("RU")

    page.goto("/contacts/new")
    page.fill("input[name=first_name]", "Ivan")
    page.fill("input[name=phone]", "8 916 111-22-33")
    page.click("#record-form button[type=submit]")
    expect(page.locator("body")).to_contain_text("+7 916 111-22-33")  # stored as +79161112233, shown grouped
    assert page.csp.violations() == []


def test_a_language_without_a_region_falls_back_on_the_time_zone(browser_in):
    page = browser_in("ru", "Asia/Vladivostok")
    page.goto("/auth/signup")
    expect(page.locator("input[name=country]")).to_have_value("RU")
    sign_up(page, "ivan@example.com")
    page.goto("/settings/organization")
    expect(page.locator("select[name=default_country]")).to_have_value("RU")
    assert page.csp.violations() == []


def test_arriving_from_the_sign_in_page_the_browsers_language_still_decides(browser_in):
    page = browser_in("ru-RU", "UTC")
    page.goto("/auth/signin")
    page.click("a[href='/auth/signup']")  # a boosted navigation: page scripts do not run
    expect(page).to_have_url(re.compile(r"/auth/signup$"))
    sign_up(page, "olga@example.com")
    page.goto("/settings/organization")
    expect(page.locator("select[name=default_country]")).to_have_value("RU")


def test_a_browser_that_says_no_country_leaves_the_organization_without_one(browser_in):
    page = browser_in("en", "UTC")
    page.goto("/auth/signup")
    expect(page.locator("input[name=country]")).to_have_value("")
    sign_up(page, "nobody@example.com")
    page.goto("/settings/organization")
    expect(page.locator("select[name=default_country]")).to_have_value("")

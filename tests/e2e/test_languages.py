"""Russian and English in a real browser: the browser's language first, the switcher's after."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.auth.models import User
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import finish_sign_up, sign_in
from tests.factories import PASSWORD, make_deal, make_member


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


def test_a_russian_newcomer_signs_up_in_russian_and_switches_to_english(new_page):
    page = new_page(locale="ru-RU")
    page.goto("/")
    page.click("text=Создайте аккаунт")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    page.fill("input[name=name]", "Надежда Новикова")
    page.fill("input[name=email]", "nadia.ru@example.com")
    page.fill("input[name=password]", "достаточно длинный пароль")
    page.fill("input[name=organization]", "Ромашка")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Проверьте почту")
    finish_sign_up(page, "nadia.ru@example.com")
    expect(page.locator("h1")).to_contain_text("Надежда")
    expect(page.locator("text=Диалогов пока нет")).to_be_visible()  # an empty workspace, in Russian

    owner = db.session.scalar(select(Membership).join(User).where(User.email == "nadia.ru@example.com"))
    make_deal(owner, title="Пилот", value="1234567.50", currency="RUB")
    page.click("nav.nav >> text=Воронка")
    card_value = page.locator(".deal-card .deal-value").first
    expect(card_value).to_have_text("1,2\u00a0млн\u00a0₽")  # amounts in the page's language

    page.click(".sidebar .language-option:has-text('English')")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(card_value).to_have_text("RUB\u00a01.2M")
    page.click("nav.nav >> text=Contacts")
    expect(page).to_have_url(re.compile(r"/contacts$"))
    expect(page.locator("h1")).to_have_text("Contacts")
    assert page.csp.violations() == []

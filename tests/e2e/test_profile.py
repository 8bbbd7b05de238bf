"""Your profile in a real browser: the language chosen there follows the person to every device."""

import re

from playwright.sync_api import expect

from app.blueprints.auth.models import User
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_member


def test_the_language_chosen_in_the_profile_follows_the_person_to_another_browser(new_page):
    member = make_member()
    laptop = new_page(locale="en-US")
    sign_in(laptop, member.user.email, PASSWORD)
    laptop.click("nav >> text=Your profile")
    expect(laptop).to_have_url(re.compile(r"/settings/profile$"))
    laptop.fill("input[name=name]", "Ольга Смирнова")
    laptop.select_option("select[name=language]", "ru")
    laptop.click("#profile-form button[type=submit]")

    expect(laptop.locator("html")).to_have_attribute("lang", "ru")
    expect(laptop.locator(".toast")).to_have_text("Профиль сохранён.")
    expect(laptop.locator("h2")).to_have_text("Ваш профиль")
    db.session.expire_all()
    saved = db.session.get(User, member.user_id)
    assert (saved.name, saved.language) == ("Ольга Смирнова", "ru")

    phone = new_page(viewport={"width": 390, "height": 844}, locale="en-US")  # an English browser
    sign_in(phone, member.user.email, PASSWORD)
    expect(phone.locator("html")).to_have_attribute("lang", "ru")
    expect(phone.locator("h1")).to_contain_text("Ольга")
    assert laptop.csp.violations() == [] and phone.csp.violations() == []

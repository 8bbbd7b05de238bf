"""Two-factor authentication in Chromium: an owner requires it, a teammate is sent to set it up,
and signing in asks for the code (a recovery code works once)."""

import re
import time

import pyotp
from playwright.sync_api import expect

from app.blueprints.team.permissions import Role
from tests.factories import PASSWORD, add_member, give_totp, make_member


def sign_in_with_code(page, email, code):
    page.goto("/auth/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/auth/mfa$"))
    page.fill("#mfa-form input[name=code]", code)
    page.click("#mfa-form button[type=submit]")


def sign_out(page):
    page.click(".sidebar-foot form[action='/auth/signout'] button")
    expect(page).to_have_url(re.compile(r"/auth/signin"))


def test_required_mfa_sends_a_teammate_to_enrolment_and_every_sign_in_asks_for_the_code(new_page):
    owner = make_member()
    owner_secret = give_totp(owner.user)
    teammate = add_member(owner.organization, role=Role.MANAGER)
    owner_email, teammate_email = owner.user.email, teammate.user.email

    # The owner (who has MFA) signs in with a code and requires MFA of everyone.
    boss = new_page()
    sign_in_with_code(boss, owner_email, pyotp.TOTP(owner_secret).now())
    expect(boss).to_have_url(re.compile(r"/home$"))
    boss.goto("/settings/organization")
    boss.check("input[name=require_mfa]")
    boss.click("#organization-form button[type=submit]")
    expect(boss.locator(".toast-success").first).to_contain_text("Organization saved")
    expect(boss.locator("input[name=require_mfa]")).to_be_checked()

    # The teammate's next page is the enrolment: they read the key, their app makes the code.
    mate = new_page()
    mate.goto("/auth/signin")
    mate.fill("input[name=email]", teammate_email)
    mate.fill("input[name=password]", PASSWORD)
    mate.click("#sign-in-form button[type=submit]")
    expect(mate).to_have_url(re.compile(r"/settings/security$"))
    expect(mate.locator("text=requires two-factor authentication")).to_be_visible()
    expect(mate.locator("svg.mfa-qr")).to_be_visible()
    key = mate.text_content("#mfa-key").replace(" ", "")
    mate.goto("/home")  # nothing else opens before it is set up
    expect(mate).to_have_url(re.compile(r"/settings/security$"))
    assert mate.text_content("#mfa-key").replace(" ", "") == key  # the same key until it is confirmed
    mate.fill("#mfa-enrol-form input[name=code]", pyotp.TOTP(key).now())
    mate.click("#mfa-enrol-form button[type=submit]")
    codes = mate.locator(".recovery-codes code")
    expect(codes).to_have_count(10)
    recovery = codes.nth(0).text_content()
    mate.click("#recovery-codes-done")
    expect(mate).to_have_url(re.compile(r"/home$"))
    expect(mate.locator("#sidebar")).to_be_visible()

    # Signing in again asks for the code; a recovery code works once.
    sign_out(mate)
    sign_in_with_code(mate, teammate_email, recovery)
    expect(mate).to_have_url(re.compile(r"/home$"))
    sign_out(mate)
    sign_in_with_code(mate, teammate_email, recovery)
    expect(mate.locator("#mfa-form .field-error")).to_be_visible()
    expect(mate).to_have_url(re.compile(r"/auth/mfa$"))
    # The code of the next 30 seconds (one step of drift is allowed): the enrolment's was spent.
    mate.fill("#mfa-form input[name=code]", pyotp.TOTP(key).at(time.time() + 30))
    mate.click("#mfa-form button[type=submit]")
    expect(mate).to_have_url(re.compile(r"/home$"))
    assert boss.csp.violations() == [] and mate.csp.violations() == []

"""A team forms and loses a member in a real browser: an owner invites a teammate by mail (a real
SMTP server receives it), the teammate joins from the link and works in the shared inbox, resets a
forgotten password from a mailed link, and is removed, their open page cut off at once."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.crm.models import Contact
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_account, make_chat, make_contact, make_member
from tests.mailing import link_in, work_mail


def mailed_link(smtp_server, to: str, path: str) -> str:
    """The link of the newest mail the SMTP server received for ``to``, once the queue has run."""
    work_mail()
    received = [m for m in smtp_server.messages if m["To"] == to]
    assert received, [m["To"] for m in smtp_server.messages]
    return link_in(smtp_server.text_of(received[-1]), path)


def test_an_invited_teammate_joins_works_resets_their_password_and_is_removed(new_page, smtp_server):
    owner = make_member()
    account = make_account(owner.organization, display_name="Sales desk")
    make_chat(account, title="Olga from Helios")
    kept = make_contact(owner, first_name="Kept")

    boss = new_page()
    sign_in(boss, owner.user.email, PASSWORD)
    boss.goto("/settings/members")
    boss.fill("#invite-form input[name=email]", "ben@example.com")
    boss.select_option("#invite-form select[name=role]", "manager")
    boss.click("#invite-form button[type=submit]")
    expect(boss.locator("#invitations")).to_contain_text("ben@example.com")

    ben = new_page()
    ben.goto(mailed_link(smtp_server, "ben@example.com", "/auth/invitations/"))
    expect(ben.locator("h1")).to_contain_text(owner.organization.name)
    ben.fill("#join-form input[name=name]", "Ben Ito")
    ben.fill("#join-form input[name=password]", "bens own long password")
    ben.click("#join-form button[type=submit]")
    expect(ben).to_have_url(re.compile(r"/home$"))
    expect(ben.locator("#org-name")).to_have_text(owner.organization.name)
    ben.click("nav.nav >> text=Inbox")
    expect(ben.locator("body")).to_contain_text("Olga from Helios")  # the shared inbox
    assert ben.csp.violations() == []

    boss.goto("/settings/members")
    expect(boss.locator("#members")).to_contain_text("Ben Ito")
    expect(boss.locator("#invitations")).not_to_contain_text("ben@example.com")

    # A forgotten password, reset from the mailed link.
    ben.click("button[aria-label='Sign out']")
    expect(ben).to_have_url(re.compile(r"/auth/signin"))
    ben.click("text=Forgot your password?")
    ben.fill("#forgot-password-form input[name=email]", "ben@example.com")
    ben.click("#forgot-password-form button[type=submit]")
    expect(ben.locator("h1")).to_have_text("Check your inbox")
    ben.goto(mailed_link(smtp_server, "ben@example.com", "/auth/password/reset/"))
    ben.fill("#reset-password-form input[name=password]", "a second long password")
    ben.fill("#reset-password-form input[name=confirm]", "a second long password")
    ben.click("#reset-password-form button[type=submit]")
    expect(ben).to_have_url(re.compile(r"/auth/signin"))
    sign_in(ben, "ben@example.com", "bens own long password", succeed=False)
    expect(ben.locator(".alert-error")).to_be_visible()
    sign_in(ben, "ben@example.com", "a second long password")

    # Removed while his inbox is open: his page is cut off, what he owned stays, handed on.
    ben.click("nav.nav >> text=Inbox")
    expect(ben.locator("body.is-live")).to_be_attached()
    ben_contact = make_contact(_membership_of("ben@example.com"), first_name="Bens")
    boss.goto("/settings/members")
    row = boss.locator("#members tr", has_text="Ben Ito")
    row.locator("summary:has-text('Remove')").click()
    row.locator("select[name=reassign_to]").select_option(str(owner.user_id))
    row.locator("button[type=submit]").click()
    expect(boss.locator("#members")).not_to_contain_text("Ben Ito")
    expect(ben).to_have_url(re.compile(r"/auth/no-organization$"))
    db.session.expire_all()
    assert db.session.get(Contact, ben_contact.id).owner_id == owner.user_id
    assert db.session.get(Contact, kept.id).owner_id == owner.user_id
    assert boss.csp.violations() == [] and ben.csp.violations() == []


def _membership_of(email: str):
    from app.blueprints.auth.models import User
    from app.blueprints.team.models import Membership

    return db.session.scalar(select(Membership).join(User).where(User.email == email))

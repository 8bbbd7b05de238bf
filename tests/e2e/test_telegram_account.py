"""The whole loop in a browser, with the real ``telegram`` process and its sandbox Telegram:
connect an account by phone and code, see its dialogs, open one, send, and watch the answer arrive."""

import re

from playwright.sync_api import expect

from app.blueprints.team.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_member

PHONE = "+999 66 5 1234"  # a Telegram test number: its login code is 55555


def test_connect_a_sandbox_account_then_chat_with_a_person_who_answers_live(new_page, telegram_process):
    owner = make_member(Role.OWNER)
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)

    page.goto("/accounts/connect")
    page.fill("#phone", PHONE)
    page.click("button:has-text('Send login code')")
    expect(page.locator("#code")).to_be_visible(timeout=30_000)  # the process starts its login
    page.fill("#code", "12345")
    page.click("button:has-text('Sign in')")
    expect(page.locator("#code-error")).to_contain_text("not right")
    page.fill("#code", "55555")
    page.click("button:has-text('Sign in')")
    expect(page.locator(".wizard-done")).to_contain_text("is connected")
    expect(page.locator(".wizard-done")).to_contain_text("Online", timeout=20_000)

    page.click("a:has-text('Open the inbox')")
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    rows = page.locator(".chat-row")
    expect(rows.first).to_be_visible(timeout=20_000)  # the dialog import arrives live
    expect(rows).to_have_count(6, timeout=20_000)  # a new sandbox account: 4 English, 2 Russian-speaking

    rows.first.locator("a").click()
    thread = page.locator("[id^=thread-messages-]")
    expect(thread.locator(".msg-in").first).to_be_visible()
    answers_before = thread.locator(".msg-in").count()
    box = page.locator("[id^=composer-text-]")
    box.fill("Thanks for writing! Does Thursday at 3pm work for a call?")
    box.press("Enter")
    mine = thread.locator(".msg-out").last
    expect(mine).to_contain_text("Does Thursday at 3pm work")
    expect(mine).to_have_class(re.compile(r"\bmsg-sent\b"), timeout=15_000)  # Telegram confirmed
    # The sandbox person reads it and answers a couple of seconds later: it appears without a reload.
    expect(thread.locator(".msg-in")).to_have_count(answers_before + 1, timeout=20_000)
    expect(mine).to_have_class(re.compile(r"\bis-read\b"))
    assert page.csp.violations() == []

"""Browser tests: Playwright driving the system Chromium against the real ``web`` process."""

from __future__ import annotations

import os
import re
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}: install the 'chromium' package to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class CspWatch:
    """Collects console errors; a page of ours must never trip the Content-Security-Policy."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))

    def violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


@pytest.fixture
def new_page(browser, live_server):
    contexts = []

    def make(viewport=None, timezone="UTC", locale=None):
        context = browser.new_context(base_url=live_server, viewport=viewport or {"width": 1280, "height": 800},
                                      timezone_id=timezone, locale=locale)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.csp = CspWatch(page)
        return page

    yield make
    for context in contexts:
        context.close()


def sign_in(page, email, password, succeed=True):
    page.goto("/auth/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    if succeed:
        page.wait_for_url(re.compile(r"/home$"))


def finish_sign_up(page, email):
    """After the sign-up form: the "check your inbox" page; the job (run here, as a worker would)
    makes the account and mails its link, which the page then opens and lands in the workspace."""
    from playwright.sync_api import expect

    from tests.mailing import link_in, mails, work_mail

    expect(page).to_have_url(re.compile(r"/auth/signup/sent$"))
    work_mail()
    [mail] = mails(to=email, template="auth.verify_email")
    page.goto(link_in(mail.text_body, "/auth/verify/"))
    expect(page).to_have_url(re.compile(r"/home$"))

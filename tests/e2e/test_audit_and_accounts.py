"""In a browser: the audit log filtered by event shows readable names (and works without a full
reload), and an account renamed on its page is named so in the title and the list."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import expect

from app import audit
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_account, make_member, make_user

SHOTS = os.environ.get("LAYOUT_SHOTS")


def snap(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_the_audit_log_filters_by_event_and_reads_in_words(new_page):
    owner = make_member(Role.OWNER)
    sam = add_member(owner.organization, user=make_user(name="Sam Okafor"), role=Role.ADMIN)
    audit.record("member.role_changed", org_id=owner.org_id, actor_id=owner.user_id, target=sam,
                 user_id=sam.user_id, old="admin", new="manager")
    audit.record("auth.sign_in_failed", org_id=owner.org_id, actor_id=sam.user_id, email=sam.user.email)
    db.session.commit()
    for signed_in, width in enumerate((1280, 390), start=1):
        page = new_page({"width": width, "height": 800})
        sign_in(page, owner.user.email, PASSWORD)  # records a sign-in too
        page.goto("/settings/audit")
        table = page.locator("#audit-table")
        expect(table.locator("tbody tr")).to_have_count(2 + signed_in)
        expect(table).to_contain_text("Signed in")
        expect(table).to_contain_text("Member: Sam Okafor; Before: Admin; After: Manager")
        snap(page, f"audit-{width}")

        page.select_option("#audit-event", label="Sign-in failed")
        expect(page).to_have_url(re.compile(r"/settings/audit\?.*event=auth\.sign_in_failed"))
        expect(table.locator("tbody tr")).to_have_count(1)
        expect(table.locator("tbody tr")).to_contain_text("Sign-in failed")
        expect(table).not_to_contain_text("auth.sign_in_failed")  # the code only in a tooltip
        page.select_option("#audit-member", label="Sam Okafor")
        expect(page).to_have_url(re.compile(rf"member={sam.user_id}"))
        expect(table.locator("tbody tr")).to_have_count(1)
        page.select_option("#audit-member", label=owner.user.name)
        expect(page).to_have_url(re.compile(rf"member={owner.user_id}"))
        expect(page.locator("#audit-results")).to_contain_text("Nothing matches")
        assert page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")[0] <= width
        assert page.csp.errors == []


def unexpected(errors: list[str]) -> list[str]:
    """Console errors other than the browser's note of the 422 a refused form answers."""
    return [e for e in errors if "status of 422" not in e]


def test_an_account_renamed_on_its_page_is_named_so_everywhere(new_page):
    owner = make_member(Role.OWNER)
    account = make_account(owner.organization, display_name="Ann Telegram")
    for width in (1280, 390):
        page = new_page({"width": width, "height": 800})
        sign_in(page, owner.user.email, PASSWORD)
        page.goto(f"/accounts/{account.id}")
        page.fill("#account-label", "x" * 101)
        page.click("button:has-text('Save name')")
        expect(page.locator("#account-label-error")).to_contain_text("at most 100 characters")
        page.fill("#account-label", f"Sales NL {width}")
        page.click("button:has-text('Save name')")
        expect(page.locator("#account-title")).to_have_text(f"Sales NL {width}")
        expect(page.locator("#account-label-error")).to_have_count(0)
        snap(page, f"account-{width}")
        assert page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")[0] <= width
        page.goto("/accounts/")
        expect(page.locator(".account-name")).to_have_text(f"Sales NL {width}")
        assert unexpected(page.csp.errors) == []

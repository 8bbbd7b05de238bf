"""Settings → Outreach in a real browser: a manager changes the opt-out phrases, the frequency cap
and the default window; a mistake is shown beside its field and nothing is saved."""

import re

from playwright.sync_api import expect

from app.blueprints.campaigns.models import OutreachSettings
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_member


def test_a_manager_changes_the_outreach_rules(new_page):
    member = make_member(Role.MANAGER)
    page = new_page()
    sign_in(page, member.user.email, PASSWORD)
    page.click("nav >> text=Outreach")
    expect(page).to_have_url(re.compile(r"/settings/outreach$"))
    expect(page.locator("#opt-out-phrases")).to_contain_text("unsubscribe")

    page.fill("#cap-days", "0")
    page.click("#outreach-settings button[type=submit]")
    expect(page.locator(".field-error")).to_have_text("A whole number from 1 to 365.")
    db.session.expire_all()
    assert db.session.get(OutreachSettings, member.org_id) is None

    page.fill("#opt-out-phrases", "stop\nне пишите\nбольше не надо")
    page.fill("#cap-days", "60")
    page.uncheck("input[name=days][value='5']")
    page.fill("#window-start", "11:00")
    page.click("#outreach-settings button[type=submit]")
    expect(page.locator(".toast")).to_have_text("Outreach settings saved.")
    db.session.expire_all()
    saved = db.session.get(OutreachSettings, member.org_id)
    assert saved.opt_out_phrases == ["stop", "не пишите", "больше не надо"]
    assert (saved.cap_messages, saved.cap_days) == (1, 60)
    assert saved.default_window == {"days": [1, 2, 3, 4], "start": "11:00", "end": "19:00"}
    assert page.csp.violations() == []

import re

from playwright.sync_api import expect

from app.blueprints.team.permissions import Role
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_member


def test_a_teammate_sees_the_organization_renamed_without_reloading(new_page):
    owner = make_member(Role.OWNER)
    agent = add_member(owner.organization, role=Role.AGENT)

    watcher = new_page()
    sign_in(watcher, agent.user.email, PASSWORD)
    expect(watcher).to_have_url(re.compile(r"/home$"))
    expect(watcher.locator("body.is-live")).to_have_count(1)  # the socket is open
    watcher.evaluate("window.__notReloaded = true")

    editor = new_page()
    sign_in(editor, owner.user.email, PASSWORD)
    editor.goto("/settings/organization")
    editor.fill("input[name=name]", "Renamed Live Co")
    editor.click("text=Save changes")
    expect(editor.locator(".toast-success")).to_contain_text("Organization saved.")

    expect(watcher.locator("#org-name")).to_have_text("Renamed Live Co")
    assert watcher.evaluate("window.__notReloaded") is True
    assert watcher.csp.errors == [] and editor.csp.errors == []  # no console error at all (live frames)


def test_changing_a_role_from_the_team_page_uses_htmx_with_csrf_and_toasts(new_page):
    owner = make_member(Role.OWNER)
    agent = add_member(owner.organization, role=Role.AGENT)
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/settings/members")
    page.select_option(f"#role-{agent.id}", "manager")
    expect(page.locator(".toast-success")).to_contain_text("is now Manager")
    page.reload()
    expect(page.locator(f"#role-{agent.id}")).to_have_value("manager")


def test_a_teammate_on_the_team_page_sees_a_role_change_live_with_a_clean_console(new_page):
    owner = make_member(Role.OWNER)
    admin = add_member(owner.organization, role=Role.ADMIN)
    agent = add_member(owner.organization, role=Role.AGENT)

    watcher = new_page()
    sign_in(watcher, admin.user.email, PASSWORD)
    watcher.goto("/settings/members")
    expect(watcher.locator("body.is-live")).to_have_count(1)

    editor = new_page()
    sign_in(editor, owner.user.email, PASSWORD)
    editor.goto("/settings/members")
    editor.select_option(f"#role-{agent.id}", "manager")
    expect(editor.locator(".toast-success")).to_have_count(1)

    expect(watcher.locator(f"#role-{agent.id}")).to_have_value("manager")
    assert watcher.csp.errors == [] and editor.csp.errors == []

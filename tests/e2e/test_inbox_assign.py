"""Bulk assignment in the inbox, in a browser: tick chats, pick a teammate, and the list says whose
they are now, without a reload."""

from playwright.sync_api import expect

from app.blueprints.messaging.models import Chat
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, add_member, make_account, make_chat, make_member, make_user


def test_a_manager_hands_two_chats_to_a_teammate_at_once(new_page):
    owner = make_member(Role.MANAGER)
    teammate = add_member(owner.organization, make_user(name="Yuki Tanaka"), role=Role.AGENT)
    account = make_account(owner.organization)
    first, second, third = (make_chat(account, title=t) for t in ("Ann Lee", "Ben Ode", "Cy Park"))

    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/inbox/")
    page.check(f"#chat-row-{first.id} .chat-select input")
    page.check(f"#chat-row-{third.id} .chat-select input")
    page.select_option("#bulk-assignee", str(teammate.user_id))
    page.click("#bulk-assign button[type=submit]")
    expect(page.locator(".toast-success")).to_contain_text("2 chats assigned to Yuki Tanaka.")
    expect(page.locator(f"#chat-row-{first.id} .chat-assignee")).to_contain_text("Yuki Tanaka")
    expect(page.locator(f"#chat-row-{second.id} .chat-assignee")).to_have_count(0)
    db.session.expire_all()
    assert [db.session.get(Chat, c.id).assignee_id for c in (first, second, third)] == [
        teammate.user_id, None, teammate.user_id]
    assert page.csp.violations() == []

"""The inbox in a browser: open a chat, send with Enter, watch it go from sending to sent live."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.accounts.models import BDAccount
from app.blueprints.messaging import service
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db
from app.realtime import publish_now
from tests.e2e.conftest import sign_in
from tests.factories import (
    PASSWORD,
    add_member,
    make_account,
    make_chat,
    make_contact,
    make_member,
    make_message,
)


def test_a_message_sent_with_enter_shows_sending_then_sent_without_a_reload(new_page):
    owner = make_member(Role.OWNER)
    account = make_account(owner.organization, display_name="Dana Sales")
    earlier = utcnow() - timedelta(minutes=30)
    chat = make_chat(account, title="Ann Lee", last_message_at=earlier, unread_count=1,
                     last_message_preview="Is the pricing page up to date?")
    make_chat(account, title="Ben Ode", last_message_at=earlier - timedelta(hours=1))
    make_message(chat, "Hi! Saw your post about the partnership program.", date=earlier - timedelta(minutes=5))
    make_message(chat, "Is the pricing page up to date?", date=earlier, telegram_id=2)
    org_id, chat_id = owner.org_id, chat.id

    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/inbox/")
    expect(page.locator("body.is-live")).to_have_count(1)
    page.evaluate("window.__notReloaded = true")
    page.click(f"#chat-row-{chat_id} a")
    thread = page.locator(f"#thread-messages-{chat_id}")
    expect(thread).to_contain_text("Is the pricing page up to date?")
    expect(page).to_have_url(re.compile(rf"/inbox/chats/{chat_id}$"))
    expect(page.locator(f"#chat-row-{chat_id} .unread-badge")).to_have_count(0)  # read on open

    box = page.locator(f"#composer-text-{chat_id}")
    box.fill("Yes, it is.")
    box.press("Shift+Enter")
    box.type("Sending the deck now.")
    box.press("Enter")
    mine = thread.locator(".msg-out").last
    expect(mine).to_contain_text("Yes, it is.\nSending the deck now.")
    expect(mine).to_contain_text("Sending…")
    expect(page.locator(f"#composer-text-{chat_id}")).to_have_value("")
    expect(page.locator(f"#chat-row-{chat_id}")).to_contain_text("Yes, it is. Sending the deck now.")

    db.session.remove()
    message = db.session.scalar(select(Message).where(Message.chat_id == chat_id, Message.out.is_(True)))
    assert message.status == "queued" and message.random_id
    message.status, message.telegram_id = "sent", 3  # what the telegram process does once Telegram confirms
    db.session.commit()
    publish_now(org_id, "inbox.message", chat_id=chat_id, message_id=message.id, new=False)
    sent = page.locator(f"#msg-{message.id}")
    expect(sent).to_have_class(re.compile(r"\bmsg-sent\b"))
    expect(sent).not_to_contain_text("Sending…")
    expect(thread.locator(".msg-out")).to_have_count(1)  # redrawn in place, never duplicated

    the_chat = db.session.get(Chat, chat_id)  # they read it: ✓✓
    the_chat.read_outbox_max_id = 3
    db.session.commit()
    publish_now(org_id, "inbox.chat", chat_id=chat_id)
    expect(sent).to_have_class(re.compile(r"\bis-read\b"))

    reply = make_message(the_chat, "Great, thanks!", telegram_id=4)  # and they answer
    publish_now(org_id, "inbox.message", chat_id=chat_id, message_id=reply.id, new=True)
    expect(thread.locator(f"#msg-{reply.id}")).to_contain_text("Great, thanks!")
    expect(page.locator("#chat-list .chat-row").first).to_have_id(f"chat-row-{chat_id}")

    assert page.evaluate("window.__notReloaded") is True
    assert page.csp.violations() == []


def ring_new_chat(app, account_id, org_id, title="Late Larry"):
    """A dialog arrives and rings, from inside a browser callback (its own context)."""
    with app.app_context():
        late = make_chat(db.session.get(BDAccount, account_id), title=title, last_message_at=utcnow())
        publish_now(org_id, "inbox.chat", chat_id=late.id, new=True)


def test_a_chat_that_arrives_before_the_socket_listens_still_appears(app, new_page):
    owner = make_member(Role.OWNER)
    account = make_account(owner.organization)
    make_chat(account, title="Ann Lee", last_message_at=utcnow() - timedelta(hours=1))
    org_id, account_id = owner.org_id, account.id
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)

    def ring_then_listen(ws):  # the page is rendered; its socket is not listening yet
        ring_new_chat(app, account_id, org_id)
        ws.connect_to_server()

    page.route_web_socket(re.compile(r"/ws$"), ring_then_listen)
    page.goto("/inbox/")
    expect(page.locator("body.is-live")).to_have_count(1)
    expect(page.locator("#chat-list .chat-row").first).to_contain_text("Late Larry")
    expect(page.locator("#chat-list .chat-row")).to_have_count(2)
    assert page.csp.violations() == []


def test_a_chat_that_arrives_while_the_list_is_re_fetched_still_appears(app, new_page):
    owner = make_member(Role.OWNER)
    org_id, account_id = owner.org_id, make_account(owner.organization).id
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.route_web_socket(re.compile(r"/ws$"), lambda ws: (ring_new_chat(app, account_id, org_id),
                                                           ws.connect_to_server()))
    refetches = []

    def ring_while_in_flight(route):  # the resync's list was queried; it is not on screen yet
        response = route.fetch()
        if not refetches:
            ring_new_chat(app, account_id, org_id, title="Later Lou")
            page.wait_for_timeout(300)  # its frame lands in the list about to be replaced
        refetches.append(route.request.url)
        route.fulfill(response=response)

    page.route(lambda url: urlsplit(url).path == "/inbox/", lambda route: ring_while_in_flight(route)
               if route.request.headers.get("hx-request") else route.continue_())
    page.goto("/inbox/")
    expect(page.locator("#chat-list .chat-row")).to_have_count(2)
    expect(page.locator("#chat-list")).to_contain_text("Late Larry")
    expect(page.locator("#chat-list")).to_contain_text("Later Lou")
    assert len(refetches) == 2  # fetched again once, for the frame that arrived meanwhile


def test_a_chat_that_arrives_during_a_boosted_navigation_still_appears(app, new_page):
    owner = make_member(Role.OWNER)
    org_id, account_id = owner.org_id, make_account(owner.organization).id
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts")
    expect(page.locator("body.is-live")).to_have_count(1)

    def ring_while_in_flight(route):  # the inbox was queried; its page is not on screen yet
        response = route.fetch()
        ring_new_chat(app, account_id, org_id)
        page.wait_for_timeout(300)  # the frame reaches the page being left
        route.fulfill(response=response)

    page.route(re.compile(r"/inbox/$"), ring_while_in_flight)
    page.evaluate("window.__notReloaded = true")
    page.click("nav a[href='/inbox/']")
    expect(page).to_have_url(re.compile(r"/inbox/$"))
    expect(page.locator("#chat-list .chat-row")).to_have_count(1)
    expect(page.locator("#chat-list .chat-row").first).to_contain_text("Late Larry")
    assert page.evaluate("window.__notReloaded") is True


def test_a_chat_taken_from_an_agent_leaves_their_open_inbox(new_page):
    owner = make_member(Role.OWNER)
    agent = add_member(owner.organization, role=Role.AGENT)
    chat = make_chat(make_account(owner.organization), title="Ann Lee", unread_count=1,
                     last_message_at=utcnow(), assignee_id=agent.user_id)
    chat_id = chat.id
    page = new_page()
    sign_in(page, agent.user.email, PASSWORD)
    page.goto(f"/inbox/chats/{chat_id}")
    expect(page.locator("body.is-live")).to_have_count(1)
    expect(page.locator(f"#chat-row-{chat_id}")).to_have_count(1)

    service.assign(owner, db.session.get(Chat, chat_id), None)  # a manager takes it back
    db.session.commit()
    expect(page.locator(f"#chat-row-{chat_id}")).to_have_count(0)
    expect(page.locator(f"#chat-head-{chat_id}")).to_contain_text("assigned to a teammate")
    expect(page.locator("#inbox-unread")).to_contain_text("All caught up")
    assert page.csp.violations() == []


def test_a_refetch_answered_before_the_chat_was_taken_does_not_bring_it_back(new_page):
    """The race behind a flaky run: the open chat re-fetches itself (a resync), the server answers
    with the chat as it was, the manager takes the chat, its frame lands, and only then the old
    answer arrives. The page must end on the chat being gone, not on the old answer."""
    owner = make_member(Role.OWNER)
    agent = add_member(owner.organization, role=Role.AGENT)
    chat = make_chat(make_account(owner.organization), title="Ann Lee", last_message_at=utcnow(),
                     assignee_id=agent.user_id)
    chat_id = chat.id
    page = new_page()
    sign_in(page, agent.user.email, PASSWORD)
    page.goto(f"/inbox/chats/{chat_id}")
    expect(page.locator("body.is-live")).to_have_count(1)
    held = []

    def hold_the_first_refetch(route):
        if held:
            route.continue_()
        else:
            held.append((route, route.fetch()))  # rendered now, delivered later

    page.route(f"**/inbox/chats/{chat_id}", hold_the_first_refetch)
    page.evaluate("htmx.trigger(document.body, 'live:resync')")
    while not held:
        page.wait_for_timeout(20)  # lets the route handler run

    service.assign(owner, db.session.get(Chat, chat_id), None)
    db.session.commit()
    expect(page.locator(f"#chat-head-{chat_id}")).to_contain_text("no longer in your inbox")
    route, answer = held[0]
    with page.expect_response(lambda r: r.url.endswith(f"/inbox/chats/{chat_id}") and r.status == 404):
        route.fulfill(response=answer)  # the old answer lands; the page, behind, fetches again
    expect(page.locator(f"#chat-head-{chat_id}")).to_contain_text("no longer in your inbox")
    expect(page.locator("#conversation .composer")).to_have_count(0)
    expect(page.locator(".toast-error")).to_have_count(0)
    assert page.csp.violations() == []


def test_the_sidebar_badge_counts_unread_chats_on_every_page_live(new_page):
    owner = make_member(Role.OWNER)
    account = make_account(owner.organization)
    make_chat(account, title="Ann Lee", unread_count=2)
    quiet = make_chat(account, title="Ben Ode", unread_count=0)
    org_id, quiet_id = owner.org_id, quiet.id
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts")
    badge = page.locator("nav a[href='/inbox/'] #nav-inbox-unread")
    expect(badge).to_have_text("1")

    chat = db.session.get(Chat, quiet_id)  # Ben writes
    chat.unread_count = 1
    message = make_message(chat, "Are you around?")
    publish_now(org_id, "inbox.message", chat_id=quiet_id, message_id=message.id, new=True)
    expect(badge).to_have_text("2")
    page.click("nav a[href='/pipeline/']")  # kept across boosted navigation
    expect(page).to_have_url(re.compile(r"/pipeline/"))
    expect(badge).to_have_text("2")
    assert page.csp.violations() == []


# -- the side panel: contact, deals, "Create deal" at every width ------------------------------

def chat_with_a_contact():
    owner = make_member(Role.OWNER)
    contact = make_contact(owner, first_name="Ann", last_name="Lee", email="ann@example.com")
    chat = make_chat(make_account(owner.organization), title="Ann Lee", contact_id=contact.id,
                     last_message_at=utcnow())
    make_message(chat, "Can we talk about the annual plan?")
    return owner, chat.id


def overlaps(a, b) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_on_a_laptop_the_panel_opens_from_the_chat_head_and_a_deal_is_created_from_it(new_page):
    owner, chat_id = chat_with_a_contact()
    page = new_page({"width": 1280, "height": 800})
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/inbox/chats/{chat_id}")
    toggle = page.locator(f"#chat-head-{chat_id} [data-panel-toggle]")
    panel = page.locator(f"#chat-panel-{chat_id}")
    expect(toggle).to_have_attribute("aria-controls", f"chat-panel-{chat_id}")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()

    toggle.focus()
    page.keyboard.press("Enter")  # a button: the keyboard opens it as a click does
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(panel).to_be_visible()
    send = page.locator(f"#composer-{chat_id} .composer-send")
    expect(send).to_be_visible()  # beside the thread: the conversation stays in reach
    assert not overlaps(panel.bounding_box(), send.bounding_box())

    page.evaluate("htmx.trigger(document.body, 'live:resync')")  # the chat re-fetched: still open
    page.wait_for_load_state("networkidle")
    expect(panel).to_be_visible()

    panel.locator("summary", has_text="Create deal").click()
    page.fill(f"#deal-title-{chat_id}", "Ann Lee - annual plan")
    panel.locator("button[type=submit]", has_text="Create deal").click()
    toast = page.locator(".toast-success")
    expect(toast).to_contain_text("Ann Lee - annual plan")
    expect(panel.locator(".panel-deal")).to_contain_text("Ann Lee - annual plan")
    expect(panel).to_be_visible()  # the panel re-rendered in place, still open
    assert not overlaps(toast.bounding_box(), send.bounding_box())  # the toast leaves Send alone

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    assert page.csp.violations() == []


def test_on_a_phone_the_panel_is_a_drawer_that_closes_with_its_button_or_escape(new_page):
    owner, chat_id = chat_with_a_contact()
    page = new_page({"width": 390, "height": 844})
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/inbox/chats/{chat_id}")
    toggle = page.locator(f"#chat-head-{chat_id} [data-panel-toggle]")
    panel = page.locator(f"#chat-panel-{chat_id}")
    close = panel.locator("[data-panel-close]")
    expect(toggle).to_have_accessible_name("Contact & deals")  # its label is hidden, not gone
    expect(panel).to_be_hidden()

    toggle.click()
    expect(panel).to_be_visible()
    expect(close).to_be_focused()
    expect(panel).to_contain_text("ann@example.com")
    expect(panel.locator("summary", has_text="Create deal")).to_be_visible()
    for _ in range(50):  # it slides in
        if panel.bounding_box()["x"] == 0:
            break
        page.wait_for_timeout(20)
    assert panel.bounding_box()["x"] == 0 and panel.bounding_box()["width"] == 390  # over the whole thread
    close.click()
    expect(panel).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    expect(panel).to_be_visible()
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.csp.violations() == []


def test_on_a_wide_screen_the_panel_is_docked_and_hiding_it_lasts_in_this_browser(new_page):
    owner, chat_id = chat_with_a_contact()
    page = new_page({"width": 1600, "height": 900})
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/inbox/chats/{chat_id}")
    toggle = page.locator(f"#chat-head-{chat_id} [data-panel-toggle]")
    panel = page.locator(f"#chat-panel-{chat_id}")
    expect(panel).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")

    toggle.click()
    expect(panel).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.reload()
    expect(page.locator(f"#chat-head-{chat_id} [data-panel-toggle]")).to_have_attribute("aria-expanded", "false")
    expect(panel).to_be_hidden()
    page.locator(f"#chat-head-{chat_id} [data-panel-toggle]").click()
    expect(panel).to_be_visible()
    assert page.csp.violations() == []


def test_live_frames_for_what_a_page_does_not_show_raise_no_console_error(new_page):
    owner = make_member(Role.OWNER)
    chat = make_chat(make_account(owner.organization), title="Ann Lee", unread_count=0)
    org_id, chat_id = owner.org_id, chat.id
    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto("/contacts")  # no chat list, no thread, no chat head: only the sidebar's badge
    expect(page.locator("body.is-live")).to_have_count(1)

    chat = db.session.get(Chat, chat_id)
    chat.unread_count = 1
    message = make_message(chat, "Are you around?")
    publish_now(org_id, "inbox.message", chat_id=chat_id, message_id=message.id, new=True)
    publish_now(org_id, "inbox.chat", chat_id=chat_id)
    expect(page.locator("#nav-inbox-unread")).to_have_text("1")  # what the page shows is placed
    page.goto("/inbox/")  # and on the inbox list, a frame for the (closed) chat's head and thread
    expect(page.locator("body.is-live")).to_have_count(1)
    publish_now(org_id, "inbox.message", chat_id=chat_id, message_id=message.id, new=False)
    db.session.get(Chat, chat_id).title = "Ann Lee-Smith"
    db.session.commit()
    publish_now(org_id, "inbox.chat", chat_id=chat_id)  # the last frame: once its row shows, all landed
    expect(page.locator(f"#chat-row-{chat_id}")).to_contain_text("Ann Lee-Smith")
    assert page.csp.errors == []

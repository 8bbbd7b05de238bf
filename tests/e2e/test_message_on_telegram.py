"""Message on Telegram from the CRM, in a browser, with the real ``telegram`` process and its sandbox
Telegram: a contact nobody has talked to yet gets a conversation from a chosen account, the inbox
opens on it, a message goes; the contact's deal shows the conversation and leads back into it."""

import re

from flask import current_app
from playwright.sync_api import expect
from sqlalchemy import select

from app.blueprints.accounts.models import BDAccount
from app.blueprints.accounts.vault import SessionVault
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.permissions import Role
from app.extensions import db
from app.integrations.telegram.sandbox import new_session_string
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD, make_account, make_contact, make_deal, make_member
from tests.integrations.telegram.runtime_kit import eventually, online


def test_message_a_contact_on_telegram_from_their_page_then_find_it_on_their_deal(new_page, telegram_process):
    owner = make_member(Role.OWNER)
    vault = SessionVault(current_app.config["SETTINGS"].session_keys)
    # The sandbox's first demo account: it has talked with Olivia, Liam, Priya, ... but never with Noah.
    account = BDAccount(org_id=owner.org_id, phone="+9996621234", status="offline", label="Northwind BD",
                        sealed_session=vault.seal(new_session_string()))
    db.session.add(account)
    db.session.commit()
    make_account(owner.organization, display_name="Asleep", status="offline")  # not offered
    noah = make_contact(owner, first_name="Noah", last_name="Silva", telegram_username="noah_silva")
    deal = make_deal(owner, title="Noah's pilot", contact=noah.id)
    account_id, noah_id, deal_id = account.id, noah.id, deal.id
    eventually(lambda: online(account_id), timeout=30, what="the account online")

    page = new_page()
    sign_in(page, owner.user.email, PASSWORD)
    page.goto(f"/contacts/{noah_id}")
    panel = page.locator("#contact-chats")
    expect(panel).to_contain_text("No Telegram conversation with this contact")
    expect(panel).to_contain_text("daily limit of new chats (30 a day); over the limit they wait")
    expect(panel.locator("#start-chat-account option")).to_have_count(1)
    panel.locator("#start-chat-account").select_option(str(account_id))
    panel.locator("button:has-text('Message on Telegram')").click()

    expect(page).to_have_url(re.compile(r"/inbox/chats/\d+$"), timeout=20_000)
    chat_id = int(page.url.rsplit("/", 1)[1])
    db.session.rollback()
    chat = db.session.get(Chat, chat_id)
    assert (chat.account_id, chat.contact_id, chat.username) == (account_id, noah_id, "noah_silva")
    box = page.locator(f"#composer-text-{chat_id}")
    box.fill("Hi Noah, following up on the demo: does Thursday work?")
    box.press("Enter")
    mine = page.locator(f"#thread-messages-{chat_id} .msg-out").last
    expect(mine).to_contain_text("does Thursday work?")
    expect(mine).to_have_class(re.compile(r"\bmsg-sent\b"), timeout=15_000)  # Telegram confirmed
    sent = eventually(lambda: db.session.scalar(select(Message).where(Message.chat_id == chat_id)),
                      what="the message row")
    assert (sent.out, sent.status) == (True, "sent")

    page.goto(f"/deals/{deal_id}")
    panel = page.locator("#contact-chats")
    expect(panel).to_contain_text("Conversations with Noah Silva")
    expect(panel).to_contain_text("does Thursday work?")
    panel.locator(f"a[href='/inbox/chats/{chat_id}']").filter(has_text="Message on Telegram").click()
    expect(page).to_have_url(re.compile(rf"/inbox/chats/{chat_id}$"))
    expect(page.locator(f"#thread-messages-{chat_id}")).to_contain_text("does Thursday work?")
    assert page.csp.violations() == []
    assert page.csp.errors == []

"""Demo data: the organization, its team and records, and its sandbox Telegram accounts."""

from __future__ import annotations

import pytest
from flask import current_app
from sqlalchemy import func, select

from app import demo
from app.blueprints.accounts.models import BDAccount, bd_account_agent
from app.blueprints.accounts.vault import app_vault
from app.blueprints.crm.models import Company, Contact, Deal
from app.blueprints.messaging.models import Chat, Message
from app.extensions import db
from app.integrations.telegram.sandbox import app_world, demo_ru
from app.integrations.telegram.sandbox.demo import APP_DEMO_PHONES
from tests.integrations.telegram.runtime_kit import eventually, online
from tests.integrations.telegram.runtime_kit import runtime as runtime  # the fixture


def test_the_demo_has_two_sandbox_accounts_the_telegram_process_can_re_admit():
    assert current_app.config["SETTINGS"].telegram_api_id is None
    assert demo.seed()
    db.session.commit()

    accounts = list(db.session.scalars(select(BDAccount).order_by(BDAccount.phone)))
    assert [a.phone for a in accounts] == ["+9996621234", "+9996631234"]
    world = app_world()
    for account in accounts:
        assert world.adopt_session(app_vault().open(account.sealed_session), account.phone)
    agents = db.session.execute(select(bd_account_agent)).all()
    assert [row.account_id for row in agents] == [accounts[1].id]
    assert not demo.seed()  # a second run changes nothing


def test_the_demo_book_has_russian_speaking_contacts_companies_and_deals_beside_the_english_ones():
    assert demo.seed()
    db.session.commit()

    anna = db.session.scalar(select(Contact).where(Contact.telegram_username == "anna_smirnova"))
    assert (anna.first_name, anna.last_name, anna.email, anna.phone, anna.company.name) == (
        "Анна", "Смирнова", "anna.smirnova@tundrasoft.ru", "+79165550000", "Тундра Софт")
    assert anna.company.domain == "tundrasoft.ru"
    assert db.session.scalar(select(func.count()).select_from(Company)) == len(demo.COMPANIES) + len(
        demo.RU_COMPANIES)  # each once, however SQLite compares Cyrillic names
    russian = list(db.session.scalars(select(Contact).where(Contact.phone.like("+7%"))))
    english = list(db.session.scalars(select(Contact).where(Contact.phone.like("+44%"))))
    assert len(russian) == len(demo.RU_PEOPLE) and len(english) == len(demo.FIRST)
    assert all(c.telegram_username and c.email.endswith(".ru") for c in russian)

    deals = list(db.session.scalars(select(Deal).where(Deal.currency == "RUB")))
    ru_names = {name for name, _, _ in demo.RU_COMPANIES}
    assert deals and all(" — " in d.title and d.company.name in ru_names for d in deals)
    assert db.session.scalar(select(Deal).where(Deal.title == "Тундра Софт — совместный маркетинг"))
    assert db.session.scalar(select(Deal).where(Deal.currency == "USD"))


def test_the_demo_world_is_the_same_every_time_and_talks_russian_too():
    def histories(world):
        return {phone: [(world.profiles[peer].username, [(m.out, m.text) for m in account.mailbox.history(peer)])
                        for peer in account.mailbox.dialogs] for phone, account in world.accounts.items()}

    first, second = app_world(), app_world()
    assert histories(first) == histories(second)
    talks = {talk.username: talk for talk in demo_ru.TALKS}
    team = first.account(APP_DEMO_PHONES[0])
    russian = [first.profiles[p].username for p in team.mailbox.dialogs if first.profiles[p].username in talks]
    assert russian == ["anna_smirnova", "dmitry_volkov", "ekaterina_sokolova", "timur_galiev"]
    anna = first.by_username("anna_smirnova")
    assert [m.text for m in reversed(team.mailbox.history(anna.id))] == [t for _, t in talks["anna_smirnova"].turns]
    assert team.mailbox.unread_count(anna.id) == 1  # read up to the account's answer, then she wrote again


@pytest.fixture
def world():
    return app_world(reply_delay=None)


def test_the_demo_accounts_sync_russian_conversations_onto_the_russian_contacts(runtime, world):
    assert demo.seed()
    db.session.commit()
    accounts = list(db.session.scalars(select(BDAccount).order_by(BDAccount.phone)))
    runtime()
    eventually(lambda: all(online(a.id) for a in accounts), timeout=20, what="the demo accounts synced")

    chats = {c.username: c for c in db.session.scalars(select(Chat))}
    assert len(chats) == 14  # 9 on the team's account, 5 on the agent's
    anna = chats["anna_smirnova"]
    contact = db.session.get(Contact, anna.contact_id)
    assert (contact.first_name, contact.phone) == ("Анна", "+79165550000")  # the CRM's contact
    assert anna.last_message_preview.startswith("Отлично, четверг подходит")
    marina = chats["marina_belova"]  # not in the CRM: she became a contact when her chat arrived
    contact = db.session.get(Contact, marina.contact_id)
    assert (contact.first_name, contact.last_name) == ("Марина", "Белова")
    assert marina.account_id == accounts[1].id and marina.unread_count == 2
    texts = [m.text for m in db.session.scalars(select(Message).where(Message.chat_id == chats["dmitry_volkov"].id)
                                                 .order_by(Message.telegram_id))]
    assert texts[0].startswith("Здравствуйте! Подскажите, сколько будет стоить тариф")

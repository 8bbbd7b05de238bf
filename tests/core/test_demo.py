"""Demo data: the organization, its team and records, its sandbox Telegram accounts, the prospects and
the campaigns written to them (two running, one finished with its history)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import current_app
from sqlalchemy import func, select

from app import demo
from app.blueprints.accounts.models import BDAccount, bd_account_agent
from app.blueprints.accounts.vault import app_vault
from app.blueprints.auth.models import User
from app.blueprints.campaigns import outcomes, stats
from app.blueprints.campaigns.models import (
    DEFAULT_OPT_OUT_PHRASES,
    Campaign,
    CampaignSend,
    Enrollment,
    OutreachSettings,
    StepVariant,
    Suppression,
)
from app.blueprints.crm.models import Company, Contact, Deal
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.models import Membership
from app.db_types import utcnow
from app.extensions import db
from app.integrations.telegram.sandbox import app_world, demo_ru, prospects, render
from app.integrations.telegram.sandbox.demo import APP_DEMO_PHONES, ProspectProfile, demo_prospects
from tests.campaigns import kit
from tests.conftest import sign_in_as
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
    book = [c for c in db.session.scalars(select(Contact)) if "prospect" not in tags_of(c)]
    russian = [c for c in book if c.phone.startswith("+7")]
    english = [c for c in book if c.phone.startswith("+44")]
    assert len(russian) == len(demo.RU_PEOPLE) and len(english) == len(demo.FIRST)
    assert len(book) == len(russian) + len(english)  # the book is these two, the prospects are apart
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


def tags_of(record) -> set[str]:
    return {t.name for t in record.tags}


@pytest.fixture
def world():
    return app_world(reply_delay=None)


def test_the_demo_accounts_sync_russian_conversations_onto_the_russian_contacts(runtime, world):
    assert demo.seed()
    db.session.commit()
    accounts = list(db.session.scalars(select(BDAccount).order_by(BDAccount.phone)))
    runtime()
    eventually(lambda: all(online(a.id) for a in accounts), timeout=20, what="the demo accounts synced")

    prospects = {c.telegram_username for c in db.session.scalars(select(Contact)) if "prospect" in tags_of(c)}
    chats = {c.username: c for c in db.session.scalars(select(Chat)) if c.username not in prospects}
    assert len(chats) == 14  # 9 on the team's account, 5 on the agent's (the rest: the autumn campaign's)
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


# -- outreach: prospects, the running campaigns, the finished one ---------------------------------

def campaign_named(name: str) -> Campaign:
    return db.session.scalar(select(Campaign).where(Campaign.name == name))


def prospects_by_username() -> dict[str, ProspectProfile]:
    return {p.username: p for p in demo_prospects(app_world(reply_delay=None))}


def test_the_sandbox_prospects_are_contacts_tagged_with_their_language_in_their_time_zone():
    assert demo.seed()
    db.session.commit()

    profiles = prospects_by_username()
    contacts = [c for c in db.session.scalars(select(Contact)) if "prospect" in tags_of(c)]
    assert sorted(c.telegram_username for c in contacts) == sorted(profiles) and len(profiles) == 40
    for contact in contacts:
        profile = profiles[contact.telegram_username]
        assert (contact.first_name, contact.last_name, contact.phone) == (
            profile.first_name, profile.last_name, profile.phone)
        assert tags_of(contact) == {"prospect", profile.language}
        assert contact.timezone == {"ru": "Europe/Moscow", "en": "America/New_York"}[profile.language]
        assert profile.persona not in (contact.notes or "") and not contact.custom  # the sandbox's secret
    russian = [c for c in contacts if "ru" in tags_of(c)]
    assert len(russian) == 20 and all(c.phone.startswith("+791655501") for c in russian)
    assert len({c.owner_id for c in contacts}) == 4  # the team's, in turn


def test_two_campaigns_run_with_their_prospects_waiting_for_a_first_step_due_within_minutes():
    before = utcnow()
    assert demo.seed()
    db.session.commit()

    profiles = prospects_by_username()
    for name, language, size in (("Partner programme: winter outreach", "en", 10),
                                 ("Партнёрская программа: зимняя рассылка", "ru", 20)):
        found = campaign_named(name)
        assert found.status == "running" and found.launched_at >= before
        assert found.window == {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}
        assert len(found.account_ids) == 2
        first, second = found.steps
        assert [v.weight for v in first.variants] == [2, 1] and second.wait_minutes == 2 * 24 * 60
        assert "{{company.name|" in first.variants[0].text  # a variable with a fallback
        enrollments = list(db.session.scalars(select(Enrollment).where(Enrollment.campaign_id == found.id)))
        assert len(enrollments) == size and {e.status for e in enrollments} == {"waiting"}
        assert all(before <= e.due_at <= utcnow() + timedelta(minutes=15) for e in enrollments)
        languages = {profiles[db.session.get(Contact, e.contact_id).telegram_username].language
                     for e in enrollments}
        assert languages == {language}


def sandbox_answers(world, account: BDAccount, username: str) -> list[str]:
    person = world.by_username(username)
    return [text for _, text in prospects.reaction(world, world.account(account.phone.lstrip("+")),
                                                   world.people[person.id])]


def test_the_finished_campaign_figures_are_computed_from_the_history_it_left():
    assert demo.seed()
    db.session.commit()

    found = campaign_named("Fintech partners: autumn intro")
    assert found.status == "finished" and found.finished_at < utcnow() - timedelta(days=30)
    figures = stats.figures(found)
    enrollments = list(db.session.scalars(select(Enrollment).where(Enrollment.campaign_id == found.id)))
    assert figures.statuses == dict(Counter(e.status for e in enrollments)) == {
        "finished": 6, "replied": 3, "stopped": 1, "failed": 2}
    assert figures.reasons == {"stopped": {"opt_out": 1}, "failed": {"send_failed": 2}}
    sends = list(db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id == found.id)))
    for step in figures.steps:
        for variant in step.variants:
            mine = [s for s in sends if s.step_id == step.step_id and s.variant_id == variant.variant_id]
            sent = [s for s in mine if s.status == "sent"]
            assert (variant.sent, variant.read, variant.replied, variant.failed, variant.queued) == (
                len(sent), sum(1 for s in sent if s.read_at), sum(1 for s in sent if s.replied_at),
                sum(1 for s in mine if s.status == "failed"), 0)
    first, second = figures.steps
    assert (first.total("sent"), first.total("replied"), first.total("read"), first.total("failed")) == (10, 4, 4, 2)
    assert (second.total("sent"), second.total("replied")) == (6, 0)  # the silent ones, three days later
    assert all(v.sent for v in first.variants)  # both variants went
    assert first.decision is not None


def test_the_finished_campaigns_messages_are_chats_with_the_sandbox_people_and_their_answers():
    assert demo.seed()
    db.session.commit()

    world = app_world(reply_delay=2.0)  # the telegram process's world: how its prospects answer
    found = campaign_named("Fintech partners: autumn intro")
    zone = ZoneInfo("America/New_York")
    for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.campaign_id == found.id)):
        contact = db.session.get(Contact, enrollment.contact_id)
        sends = list(db.session.scalars(select(CampaignSend).where(CampaignSend.enrollment_id == enrollment.id)
                                        .order_by(CampaignSend.position)))
        messages = [db.session.get(Message, s.message_id) for s in sends]
        assert all(m.out and m.origin == "campaign" and m.account_id == enrollment.account_id for m in messages)
        if enrollment.status == "failed":  # a contact of the book nobody on Telegram is
            assert world.by_username(contact.telegram_username) is None and "prospect" not in tags_of(contact)
            [message] = messages
            assert message.status == "failed" and message.chat_id is None and message.error
            assert sends[0].reason == message.error == enrollment.detail
            continue
        assert all(m.status == "sent" and m.telegram_id for m in messages)
        assert [s.sent_at.astimezone(zone).weekday() < 5 and 10 <= s.sent_at.astimezone(zone).hour < 19
                for s in sends] == [True] * len(sends)  # the office hours it kept
        chat = db.session.get(Chat, messages[0].chat_id)
        person = world.by_username(contact.telegram_username)
        account = db.session.get(BDAccount, chat.account_id)
        viewer = world.account(account.phone.lstrip("+")).profile.id
        assert (chat.contact_id, chat.peer_id, chat.peer_access_hash) == (
            contact.id, person.id, render.access_hash(world.secret, viewer, person.id))
        assert contact.telegram_user_id == person.id
        theirs = [m.text for m in db.session.scalars(select(Message).where(
            Message.chat_id == chat.id, Message.out.is_(False)).order_by(Message.telegram_id))]
        assert theirs == sandbox_answers(world, account, contact.telegram_username)
        if theirs:
            assert enrollment.status in ("replied", "stopped") and sends[-1].replied_at == enrollment.replied_at
            assert len(sends) == 1 and chat.read_outbox_max_id >= messages[0].telegram_id
            assert sends[0].sent_at < sends[0].read_at <= sends[0].replied_at  # read as they answered
        else:
            assert enrollment.status == "finished" and len(sends) == 2 and chat.read_outbox_max_id == 0
            assert all(s.read_at is None for s in sends)
    [opted_out] = db.session.scalars(select(Enrollment).where(Enrollment.campaign_id == found.id,
                                                              Enrollment.reason == "opt_out"))
    suppressed = {s.contact_id for s in db.session.scalars(select(Suppression))}
    assert suppressed == {opted_out.contact_id}


def test_the_finished_campaigns_telegram_ids_follow_the_worlds_own_and_are_never_reused():
    assert demo.seed()
    db.session.commit()

    world = app_world(reply_delay=None)
    found = campaign_named("Fintech partners: autumn intro")
    for account in db.session.scalars(select(BDAccount).where(BDAccount.id.in_(found.account_ids))):
        ids = list(db.session.scalars(select(Message.telegram_id).where(
            Message.account_id == account.id, Message.telegram_id.is_not(None))))
        assert len(ids) == len(set(ids))  # one sequence per account, as Telegram numbers them
        history = db.session.scalars(select(Message.telegram_id).where(
            Message.account_id == account.id, Message.origin == "campaign", Message.telegram_id.is_not(None)))
        assert min(history) > world.account(account.phone.lstrip("+")).mailbox.last_id


def test_the_demo_campaign_pages_show_the_figures_of_the_rows(client):
    assert demo.seed()
    db.session.commit()
    owner = db.session.scalar(select(Membership).join(User).where(User.email == demo.DEMO_EMAIL))
    sign_in_as(client, owner)

    found = campaign_named("Fintech partners: autumn intro")
    page = client.get(f"/campaigns/{found.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Fintech partners: autumn intro" in html
    audience = client.get(f"/campaigns/{found.id}/audience")
    assert audience.status_code == 200 and "Emily" in audience.get_data(as_text=True)
    running = campaign_named("Партнёрская программа: зимняя рассылка")
    assert client.get(f"/campaigns/{running.id}").status_code == 200


def table_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name not in ("event_outbox",)}


def test_seeding_again_changes_nothing():
    assert demo.seed()
    db.session.commit()
    before = table_counts()

    assert not demo.seed()
    db.session.commit()
    assert table_counts() == before


def test_a_demo_seeded_before_the_campaigns_existed_gets_them_once(monkeypatch):
    monkeypatch.setattr(demo, "seed_outreach", lambda owner: False)
    assert demo.seed()  # as it was: no prospects, no campaigns
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    monkeypatch.undo()

    assert demo.seed()
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 3
    before = table_counts()
    assert not demo.seed()
    assert table_counts() == before


def test_the_running_campaigns_write_through_the_telegram_process_and_the_prospects_answer(runtime):
    assert demo.seed()
    db.session.commit()
    for account in db.session.scalars(select(BDAccount)):  # pacing between new chats is not tested here
        account.config = {**(account.config or {}), "new_chat_gap_min_seconds": 0, "new_chat_gap_max_seconds": 0}
    db.session.commit()
    world = app_world(reply_delay=0.02)
    runtime(world_=world)
    accounts = list(db.session.scalars(select(BDAccount)))
    eventually(lambda: all(online(a.id) for a in accounts), timeout=20, what="the demo accounts online")
    running = [campaign_named("Partner programme: winter outreach"),
               campaign_named("Партнёрская программа: зимняя рассылка")]
    ids = [c.id for c in running]

    rounds = iter(range(10_000))

    def all_first_steps_went():  # the clock moves on a minute each round: a step put off is due again
        kit.dispatch(utcnow() + timedelta(minutes=16 + next(rounds)))
        kit.settle()
        rows = db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id.in_(ids))).all()
        return len([r for r in rows if r.status == "sent"]) == 30

    eventually(all_first_steps_went, timeout=60, what="30 first steps sent")
    for send in db.session.scalars(select(CampaignSend).where(CampaignSend.campaign_id.in_(ids))):
        message, contact = db.session.get(Message, send.message_id), db.session.get(Contact, send.contact_id)
        chat = db.session.get(Chat, message.chat_id)  # the telegram process found them by username
        assert (chat.contact_id, chat.peer_id) == (contact.id, world.by_username(contact.telegram_username).id)
        said = [m.text for m in world.messages(db.session.get(BDAccount, send.account_id).phone.lstrip("+"),
                                               chat.peer_id) if m.out]
        assert said == [message.text] and contact.first_name in message.text
        if db.session.get(StepVariant, send.variant_id).position == 0:  # the prospects have no company
            assert "companies like yours" in message.text or "вроде вашей" in message.text
    profiles = prospects_by_username()
    phrases = list(DEFAULT_OPT_OUT_PHRASES)  # the demo organization kept the default phrases
    assert db.session.get(OutreachSettings, accounts[0].org_id) is None

    def expected(contact):
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.contact_id == contact.id))
        account = db.session.get(BDAccount, enrollment.account_id)
        answers = sandbox_answers(world, account, contact.telegram_username)
        if not answers:
            return "waiting", None
        return ("stopped", "opt_out") if outcomes.is_opt_out(answers[0], phrases) else ("replied", None)

    def outcomes_arrived():
        kit.settle()
        enrollments = db.session.scalars(select(Enrollment).where(Enrollment.campaign_id.in_(ids))).all()
        got = {e.contact_id: (e.status, e.reason) for e in enrollments}
        want = {e.contact_id: expected(db.session.get(Contact, e.contact_id)) for e in enrollments}
        return got == want and got

    got = eventually(outcomes_arrived, timeout=30, what="the prospects' answers heard")
    kinds = Counter(status for status, _ in got.values())
    assert kinds["waiting"] > kinds["replied"] > 0 and kinds["stopped"] > 0  # most stay silent
    for contact_id, (status, _) in got.items():  # the silent ones, and only they, wait for step two
        persona = profiles[db.session.get(Contact, contact_id).telegram_username].persona
        assert (status == "waiting") == (persona == "silent")

"""Demo data: an organization with a team in every role. Later domains add their records here.

The book of business is English- and Russian-speaking, as the teams using the product are: the
Russian contacts (``RU_PEOPLE``) have +7 numbers, Telegram usernames the sandbox Telegram's Russian
conversations come from (``sandbox/demo_ru.py``), and deals in roubles.
"""

# ruff: noqa: RUF001 - Russian names and text: their Cyrillic letters that look Latin are meant

from __future__ import annotations

import random

from app.blueprints.auth.public import User, find_user, hash_password
from app.blueprints.team.public import Membership, Role, create_organization
from app.db_types import utcnow
from app.extensions import db

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - published demo login, not a secret
DEMO_ORG = "Northwind BD"
TEAM = (
    ("Alex Rivera", "alex@example.com", Role.ADMIN),
    ("Sam Okafor", "sam@example.com", Role.MANAGER),
    ("Mia Chen", "mia@example.com", Role.AGENT),
)


def seed() -> bool:
    """Create the demo organization and team unless present; returns whether it created anything.

    A demo database made before the outreach part existed gets just that part (``seed_outreach``)."""
    if find_user(DEMO_EMAIL) is not None:
        return seed_outreach_if_missing()
    password_hash = hash_password(DEMO_PASSWORD)
    verified = utcnow()  # the demo's addresses are ours: nothing waits for a confirmation
    owner = User(email=DEMO_EMAIL, name="Dana Demo", password_hash=password_hash, email_verified_at=verified)
    db.session.add(owner)
    db.session.flush()
    membership = create_organization(owner=owner, name=DEMO_ORG)
    for name, email, role in TEAM:
        user = User(email=email, name=name, password_hash=password_hash, email_verified_at=verified)
        db.session.add(Membership(organization=membership.organization, user=user, role=role.value))
    db.session.flush()
    seed_records(membership)
    seed_telegram(membership)
    seed_outreach(membership)
    return True


COMPANIES = (
    ("Helios Labs", "helioslabs.io", "Fintech"), ("Orbit Pay", "orbitpay.com", "Payments"),
    ("Kite Games", "kitegames.gg", "Gaming"), ("Nimbus Chain", "nimbuschain.xyz", "Web3"),
    ("Atlas Logistics", "atlaslogistics.eu", "Logistics"), ("Pine Health", "pinehealth.co", "Health"),
    ("Vega Markets", "vegamarkets.com", "Exchange"), ("Quartz AI", "quartz.ai", "AI"),
)
FIRST = ("Olivia", "Liam", "Maya", "Noah", "Zara", "Ethan", "Ava", "Lucas", "Nora", "Omar", "Ivy", "Leo",
         "Sofia", "Kai", "Elena", "Ravi", "Hana", "Diego", "Anya", "Tariq")
LAST = ("Kowalski", "Ng", "Haddad", "Silva", "Petrov", "Okoro", "Tanaka", "Rossi", "Meyer", "Khan")
TITLES = ("CEO", "Head of Partnerships", "BD Lead", "CTO", "Growth Manager", "COO")
TAGS = ("warm", "conference", "referral", "priority", "web3", "payments")

RU_COMPANIES = (
    ("Тундра Софт", "tundrasoft.ru", "SaaS"), ("Волга Логистик", "volga-logistic.ru", "Логистика"),
    ("Кедр Финанс", "kedrfinance.ru", "Финтех"), ("Полярис Геймс", "polarisgames.ru", "Геймдев"),
    ("Ладога Маркет", "ladogamarket.ru", "E-commerce"),
)
# first name, last name, Telegram username, title, company (index), a note
RU_PEOPLE = (
    ("Анна", "Смирнова", "anna_smirnova", "Руководитель по партнёрствам", 0,
     "Познакомились на RIW. Хотят интеграцию своего сервиса с нашей CRM; на звонок подключится их CTO."),
    ("Дмитрий", "Волков", "dmitry_volkov", "Генеральный директор", 1,
     "Команда из 12 менеджеров, спрашивал про годовую оплату и закрывающие документы."),
    ("Екатерина", "Соколова", "ekaterina_sokolova", "Директор по развитию", 2,
     "КП и условия пилота отправлены. Хотят стартовать с первого числа."),
    ("Игорь", "Лебедев", "igor_lebedev", "Технический директор", 3,
     "Был на демо, ждём обратную связь от команды до конца недели."),
    ("Мария", "Кузнецова", "maria_kuznetsova", "Менеджер по закупкам", 4, ""),
    ("Алексей", "Морозов", "alexey_morozov", "Коммерческий директор", 0, ""),
    ("Ольга", "Новикова", "olga_novikova", "Head of BD", 2, ""),
    ("Сергей", "Павлов", "sergey_pavlov", "Основатель", 3,
     "Рекомендует нас партнёрам, в том числе агентству Марины Беловой."),
)
RU_SOURCES = ("Telegram", "Конференция", "Рекомендация")


def seed_records(owner: Membership) -> None:
    """A believable book of business: companies, their people, and deals across the stages."""
    from app.blueprints.crm import public as service

    rng = random.Random(7)  # the same demo every time
    contacts = []
    for i, first in enumerate(FIRST):
        name, domain, _ = COMPANIES[i % len(COMPANIES)]
        last = LAST[i % len(LAST)]
        contacts.append(service.create_record(owner, "contact", {
            "first_name": first, "last_name": last, "company": name,
            "email": f"{first.lower()}.{last.lower()}@{domain}",
            "phone": f"+4420794{i:05d}", "telegram_username": f"{first.lower()}_{last.lower()}"[:32],
            "title": TITLES[i % len(TITLES)], "source": rng.choice(("Telegram", "Conference", "Referral")),
            "tags": ", ".join(rng.sample(TAGS, 2)),
        }))
    ru_companies = [service.resolve_company(owner.org_id, name) for name, _, _ in RU_COMPANIES]
    for i, (first, last, username, title, company, note) in enumerate(RU_PEOPLE):
        _, domain, _ = RU_COMPANIES[company]
        contacts.append(service.create_record(owner, "contact", {
            "first_name": first, "last_name": last, "company": ru_companies[company].id,
            "email": f"{username.replace('_', '.')}@{domain}", "phone": f"+7916555{i:04d}",
            "telegram_username": username, "title": title, "source": rng.choice(RU_SOURCES),
            "tags": ", ".join(rng.sample(TAGS, 2)), "notes": note,
        }))
    seed_pipeline(owner, contacts, rng)
    companies = [service.resolve_company(owner.org_id, name) for name, _, _ in COMPANIES] + ru_companies
    for company, (_, domain, industry) in zip(companies, COMPANIES + RU_COMPANIES, strict=True):
        service.update_record(owner, "company", company.id, {"domain": domain, "industry": industry,
                                                             "website": f"https://{domain}"})


def seed_pipeline(owner: Membership, contacts: list, rng: random.Random) -> None:
    """Deals over the Sales board (owned by the team, some days into their stage), a stage rule,
    and a second, smaller Partnerships pipeline; the Russian companies' deals are named in Russian
    and priced in roubles."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from app.blueprints.crm import public as service
    from app.blueprints.pipeline import public as pipelines

    sales = pipelines.default_pipeline(owner.org_id)
    negotiation = next(s for s in sales.stages if s.name == "Negotiation")
    pipelines.update_stage(owner, negotiation.id, {"required_fields": ["value", "expected_close"]})
    team = list(db.session.scalars(select(Membership.user_id).where(Membership.org_id == owner.org_id)))
    kinds = ("pilot", "annual plan", "integration", "expansion", "renewal")
    ru_kinds = ("пилот", "годовой тариф", "интеграция", "расширение", "продление")
    ru_names = {name for name, _, _ in RU_COMPANIES}
    for i in range(36):
        contact = contacts[i % len(contacts)]
        russian = contact.company.name in ru_names
        kind = (ru_kinds if russian else kinds)[i % len(kinds)]
        value = rng.choice((5000, 12000, 25000, 48000, 90000))
        deal = service.create_record(owner, "deal", {
            "title": f"{contact.company.name} — {kind}" if russian else f"{contact.company.name} - {kind}",
            "value": str(value * 90 if russian else value), "currency": "RUB" if russian else "USD",
            "contact": contact.id, "company": contact.company_id, "owner": team[i % len(team)],
            "expected_close": (date.today() + timedelta(days=rng.randint(7, 120))).isoformat(),
            "stage": sales.stages[i % len(sales.stages)].id,
        })
        deal.stage_entered_at = utcnow() - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
    partners = pipelines.create_pipeline(owner, "Partnerships")
    english = len(FIRST)
    for i, contact in enumerate(contacts[english - 6:english] + contacts[english:english + 3]):
        russian = contact.company.name in ru_names
        title = (f"{contact.company.name} — совместный маркетинг" if russian
                 else f"{contact.company.name} - co-marketing")
        service.create_record(owner, "deal", {
            "title": title, "contact": contact.id, "company": contact.company_id,
            "stage": partners.stages[i % 3].id})


def seed_telegram(owner: Membership) -> None:
    """Two BD accounts on the sandbox Telegram (only when no api_id is configured), signed in: the
    telegram process re-admits their sealed sessions into its demo world and syncs their chats.
    The first is the team's; the agent works the second."""
    from flask import current_app
    from sqlalchemy import select

    from app.blueprints.accounts.public import AccountStatus, BDAccount, app_vault, bd_account_agent
    from app.integrations.telegram.sandbox import new_session_string
    from app.integrations.telegram.sandbox.demo import APP_DEMO_PHONES

    if current_app.config["SETTINGS"].telegram_api_id:
        return
    vault = app_vault()
    agent_id = db.session.scalar(select(User.id).where(User.email == TEAM[-1][1]))
    for n, phone in enumerate(APP_DEMO_PHONES, start=1):
        account = BDAccount(org_id=owner.org_id, phone=f"+{phone}", status=AccountStatus.OFFLINE.value,
                            display_name=f"Northwind BD {n}", username=f"northwind_bd_{n}",
                            sealed_session=vault.seal(new_session_string()), created_by_id=owner.user_id)
        db.session.add(account)
        db.session.flush()
        if n == 2 and agent_id is not None:
            db.session.execute(bd_account_agent.insert().values(account_id=account.id, user_id=agent_id))


# -- outreach: the sandbox's prospects, two running campaigns and a finished one ------------------
#
# The sandbox Telegram's demo world holds 40 prospects (``sandbox.demo.demo_prospects``): people on
# Telegram whom nobody has written to. They become contacts tagged "prospect" and "ru" or "en", in
# their time zone (Moscow; Washington for the +1 202 numbers), owned by the team in turn. Two
# campaigns are running, one per language, launched through the campaigns service as a person
# would: when ``make run`` starts, the dispatcher hands their first steps to the telegram process,
# and the sandbox's prospects answer as prospects do (most stay silent, some reply, some opt out).
# Their window is open all week round the clock: a demo is opened at any hour and should be alive
# then; a real team would keep its office hours (the finished campaign did). The third campaign
# finished in the autumn; its history is written as it went (``seed_finished_campaign``).

ALWAYS_OPEN = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}
OFFICE_HOURS = {"days": [1, 2, 3, 4, 5], "start": "10:00", "end": "19:00"}
PROSPECT_ZONES = {"ru": "Europe/Moscow", "en": "America/New_York"}
PROSPECT_SOURCES = {"ru": "Список для рассылки", "en": "Outreach list"}
RUNNING_EN_SHARE = 10  # the first ten English-speaking prospects; the other ten were written to in the autumn
# (name, language, steps: (minutes after the previous step, ((text, weight), ...)))
RUNNING_CAMPAIGNS = (
    ("Partner programme: winter outreach", "en", (
        (0, (("{Hi|Hello} {{first_name|there}}, {{owner.first_name|Dana}} from Northwind here. We help "
              "BD teams at {{company.name|companies like yours}} run partner deals straight from Telegram. "
              "Worth a 15-minute look?", 2),
             ("{{first_name|Hi}}, a quick question: how does your team keep track of partner conversations "
              "in Telegram today? We built a CRM around exactly that, happy to show it.", 1))),
        (2 * 24 * 60, (("Just bumping this up, {{first_name|there}}. If now isn't the time, no worries: "
                        "reply \"stop\" and I won't write again.", 1),)),
    )),
    ("Партнёрская программа: зимняя рассылка", "ru", (
        (0, (("{Здравствуйте|Добрый день}, {{first_name|коллега}}! Меня зовут {{owner.first_name|Дана}}, "
              "я из Northwind. Помогаем командам {{company.name|вроде вашей}} вести партнёрские сделки прямо "
              "в Telegram. Найдёте 15 минут на короткий созвон?", 2),
             ("{{first_name|Добрый день}}, короткий вопрос: как ваша команда сейчас ведёт переписку с "
              "партнёрами в Telegram? Мы сделали CRM именно для этого, с радостью покажу.", 1))),
        (2 * 24 * 60, (("{{first_name|Коллега}}, напомню о себе. Если сейчас неактуально, просто ответьте "
                        "«не пишите», и я больше не побеспокою.", 1),)),
    )),
)
FINISHED_CAMPAIGN = ("Fintech partners: autumn intro", (
    (0, (("Hi {{first_name|there}}, I look after partnerships at Northwind. This autumn we're opening our "
          "partner programme to a few fintech teams. Would you like the details?", 1),
         ("{Hello|Hi} {{first_name|there}}! Are you the right person to talk to about partnerships at "
          "{{company.name|your company}}? Our referral programme pays out monthly.", 1))),
    (3 * 24 * 60, (("{{first_name|Hi}}, following up on my note from last week: happy to send a one-page "
                    "summary of the programme if that's easier.", 1),)),
))
FINISHED_DAYS_AGO = 45  # launched then: the month's frequency cap no longer counts its first messages
# The sandbox's answers came after its wait (``prospects.reaction``, seconds); in the history each
# second of it is ten minutes.
HISTORY_SCALE = 600
FAILED_FROM_BOOK = 2  # English contacts of the book on no Telegram the sandbox knows: their step failed


def _campaign_body(name: str, accounts: list, window: dict, steps: tuple) -> dict:
    return {"name": name, "account_ids": [a.id for a in accounts], "window": window,
            "steps": [{"wait_minutes": wait,
                       "variants": [{"text": text, "weight": weight} for text, weight in texts]}
                      for wait, texts in steps]}


def seed_outreach_if_missing() -> bool:
    """The outreach part for a demo organization seeded before it existed; False when it is there."""
    from sqlalchemy import select

    from app.blueprints.crm.public import Contact

    owner = find_user(DEMO_EMAIL)
    membership = db.session.scalar(select(Membership).where(Membership.user_id == owner.id,
                                                            Membership.role == Role.OWNER.value))
    if membership is None or db.session.scalar(select(Contact.id).where(
            Contact.org_id == membership.org_id, Contact.tags.any(name="prospect")).limit(1)):
        return False
    return seed_outreach(membership)


def seed_outreach(owner: Membership) -> bool:
    """The prospects as contacts, the finished campaign's history and the running campaigns (only
    with the sandbox Telegram: its prospects are the audience). Returns whether it seeded them."""
    from flask import current_app
    from sqlalchemy import select

    from app.blueprints.accounts.public import BDAccount
    from app.blueprints.campaigns import public as campaigns
    from app.integrations.telegram.sandbox import app_world
    from app.integrations.telegram.sandbox.demo import demo_prospects

    if current_app.config["SETTINGS"].telegram_api_id:
        return False
    accounts = list(db.session.scalars(select(BDAccount).where(BDAccount.org_id == owner.org_id)
                                       .order_by(BDAccount.phone)))
    if not accounts:
        return False
    world = app_world()  # the telegram process's world, built the same way: the same people, ids, answers
    profiles = demo_prospects(world)
    contacts = seed_prospects(owner, profiles)
    english = [(p, c) for p, c in zip(profiles, contacts, strict=True) if p.language == "en"]
    russian = [(p, c) for p, c in zip(profiles, contacts, strict=True) if p.language == "ru"]
    seed_finished_campaign(owner, accounts, world, english[RUNNING_EN_SHARE:])
    audiences = {"en": english[:RUNNING_EN_SHARE], "ru": russian}
    for name, language, steps in RUNNING_CAMPAIGNS:
        campaign = campaigns.create_campaign(owner, _campaign_body(name, accounts, ALWAYS_OPEN, steps))
        campaigns.add_contacts(owner, campaign, contact_ids=[c.id for _, c in audiences[language]])
        campaigns.launch(owner, campaign)
    return True


def seed_prospects(owner: Membership, profiles: list) -> list:
    """A contact per prospect as a list bought or gathered would give them (no persona: that is the
    sandbox's secret), owned by the team in turn."""
    from sqlalchemy import select

    from app.blueprints.crm import public as crm

    team = list(db.session.scalars(select(Membership.user_id).where(Membership.org_id == owner.org_id)
                                   .order_by(Membership.id)))
    return [crm.create_record(owner, "contact", {
        "first_name": p.first_name, "last_name": p.last_name, "phone": p.phone,
        "telegram_username": p.username,
        "timezone": PROSPECT_ZONES[p.language], "source": PROSPECT_SOURCES[p.language],
        "tags": f"prospect, {p.language}", "owner": team[i % len(team)],
    }) for i, p in enumerate(profiles)]


def seed_finished_campaign(owner: Membership, accounts: list, world, audience: list) -> None:
    """The autumn campaign as it went, decided by the code that runs campaigns now: each step's time
    from the send window (``windows.schedule``), its variant (``variants.choose``) and text
    (``rendering.render``) as the dispatcher picks them, the answers the sandbox's prospects give
    (``prospects.reaction``), an opt-out told by the organization's phrases, and, for two contacts of
    the book whom Telegram does not know, the failure the telegram process records. The chats and
    messages enter through the telegram process's own write path (``store.import_dialog``, as a
    first import), with the read marks the sandbox sets (a person who answers has read what came
    before). What this history cannot be is held by the sandbox: it builds its world afresh at every
    start, so these conversations are in the CRM only, with the world's own ids and access hashes
    for these people, so that writing to them again reaches the same person."""
    import random
    from datetime import timedelta

    from sqlalchemy import func, select

    from app.blueprints.campaigns import public as campaigns
    from app.blueprints.campaigns.public import (
        ORIGIN,
        CampaignSend,
        CampaignStatus,
        Enrollment,
        EnrollmentStatus,
        SendStatus,
        is_opt_out,
        rendering,
        suppress_contact,
        variables,
        variants,
        windows,
    )
    from app.blueprints.crm.public import Contact
    from app.blueprints.messaging.public import Item, Marks, Message, MessageStatus, Peer, store
    from app.blueprints.team.public import Organization
    from app.integrations.telegram.runtime.outbox import NOT_ON_TELEGRAM
    from app.integrations.telegram.sandbox import prospects
    from app.integrations.telegram.sandbox.render import access_hash

    name, steps = FINISHED_CAMPAIGN
    campaign = campaigns.create_campaign(owner, _campaign_body(name, accounts, OFFICE_HOURS, steps))
    failing = [c for c in db.session.scalars(select(Contact).where(
        Contact.org_id == owner.org_id, Contact.phone.like("+44%")).order_by(Contact.id.desc()))
        if not world.by_username(c.telegram_username or "")][:FAILED_FROM_BOOK]
    people = [c for _, c in audience] + failing
    campaigns.add_contacts(owner, campaign, contact_ids=[c.id for c in people])
    enrollments = {e.contact_id: e for e in db.session.scalars(
        select(Enrollment).where(Enrollment.campaign_id == campaign.id))}
    launched = (utcnow() - timedelta(days=FINISHED_DAYS_AGO)).replace(hour=14, minute=0, second=0,
                                                                       microsecond=0)
    campaign.created_at, campaign.launched_at = launched - timedelta(days=1), launched
    window = windows.SendWindow.parse(campaign.window)
    org_zone = db.session.get(Organization, owner.org_id).timezone or "UTC"
    values = variables.values_for(owner.org_id, [c.id for c in people])
    phrases = campaigns.settings_for(owner.org_id).opt_out_phrases
    live_steps = campaigns.live_steps(campaign)
    by_username = {p.username: p for p, _ in audience}

    # What happened, person by person: (when, account, contact, out, text, the send it was), then
    # Telegram's ids in the order it happened, per account.
    happened: list[dict] = []
    for n, contact in enumerate(people):
        enrollment = enrollments[contact.id]
        account = accounts[n % len(accounts)]
        zone = windows.contact_zone(contact.timezone, contact.phone, org_zone)
        profile = by_username.get(contact.telegram_username)
        person = world.by_username(contact.telegram_username) if profile else None
        enrollment.account_id, enrollment.started_at = account.id, launched
        enrollment.status = EnrollmentStatus.SENDING.value  # until it ends below
        due = windows.schedule(launched, window, zone, random.Random(f"{enrollment.id}:launch"))
        for step in live_steps:
            if step.position:
                due = windows.schedule(due + timedelta(minutes=step.wait_minutes), window, zone,
                                       random.Random(f"{enrollment.id}:{step.id}:{due}"))
            weights = [(v.id, v.weight) for v in step.variants if v.weight > 0]
            chosen = (variants.choose(weights, f"{enrollment.id}:{step.id}") if len(weights) > 1
                      else weights[0][0])
            variant = next(v for v in step.variants if v.id == chosen)
            text = rendering.render(variant.text, values[contact.id], seed=f"{enrollment.id}:{step.id}").text
            send = CampaignSend(org_id=owner.org_id, campaign_id=campaign.id, enrollment_id=enrollment.id,
                                step_id=step.id, position=step.position, variant_id=variant.id,
                                contact_id=contact.id, account_id=account.id, created_at=due)
            db.session.add(send)
            enrollment.step_index = step.position
            if person is None:  # not on Telegram: the telegram process found nobody
                message = Message(org_id=owner.org_id, chat_id=None, account_id=account.id, out=True,
                                  text=text, date=due, created_at=due, status=MessageStatus.FAILED.value,
                                  error=NOT_ON_TELEGRAM, origin=ORIGIN, attempts=1,
                                  author_id=campaign.owner_id,
                                  recipient={"contact_id": contact.id, "username": contact.telegram_username,
                                             "phone": contact.phone})
                db.session.add(message)
                db.session.flush()
                send.message_id, send.status = message.id, SendStatus.FAILED.value
                send.reason = NOT_ON_TELEGRAM
                enrollment.status, enrollment.reason, enrollment.detail = (
                    EnrollmentStatus.FAILED.value, "send_failed", NOT_ON_TELEGRAM)
                enrollment.ended_at = due
                break
            sent = due + timedelta(seconds=2)
            send.status, send.sent_at = SendStatus.SENT.value, sent
            enrollment.last_sent_at, enrollment.step_index = sent, step.position + 1
            happened.append({"at": sent, "account": account, "person": person, "out": True, "text": text,
                             "send": send, "contact": contact})
            answers = prospects.reaction(world, world.account(account.phone.lstrip("+")),
                                         world.people[person.id]) if step.position == 0 else []
            for wait, answer in answers:
                happened.append({"at": sent + timedelta(seconds=wait * HISTORY_SCALE), "account": account,
                                 "person": person, "out": False, "text": answer, "contact": contact})
            if answers:
                replied = sent + timedelta(seconds=answers[0][0] * HISTORY_SCALE)
                send.replied_at = enrollment.replied_at = enrollment.ended_at = replied
                if is_opt_out(answers[0][1], phrases):
                    enrollment.status, enrollment.reason = EnrollmentStatus.STOPPED.value, "opt_out"
                    for row in suppress_contact(owner.org_id, contact, reason="opt_out"):
                        row.created_at = replied
                else:
                    enrollment.status = EnrollmentStatus.REPLIED.value
                break
        if enrollment.status == EnrollmentStatus.SENDING:
            enrollment.status, enrollment.ended_at = EnrollmentStatus.FINISHED.value, enrollment.last_sent_at
        enrollment.due_at = None

    # Telegram numbers an account's private messages in one sequence: this history's ids come after
    # those of the world's own conversations and of any the app already synced, never reusing one.
    telegram_ids: dict[int, int] = {
        account.id: max(world.account(account.phone.lstrip("+")).mailbox.last_id,
                        db.session.scalar(select(func.max(Message.telegram_id))
                                          .where(Message.account_id == account.id)) or 0)
        for account in accounts}
    for event in sorted(happened, key=lambda e: e["at"]):
        account_id = event["account"].id
        telegram_ids[account_id] = event["id"] = telegram_ids.get(account_id, 0) + 1
    chats: dict[tuple[int, int], list[dict]] = {}
    for event in happened:
        chats.setdefault((event["account"].id, event["person"].id), []).append(event)
    for (account_id, _), events in chats.items():
        account, person = events[0]["account"], events[0]["person"]
        me = world.account(account.phone.lstrip("+")).profile
        peer = Peer(person.id, access_hash(world.secret, me.id, person.id), person.first_name,
                    person.last_name, person.username, (person.phone or "").lstrip("+") or None)
        theirs = [e["id"] for e in events if not e["out"]]
        marks = Marks(unread_count=0, read_inbox_max_id=max(theirs, default=0),  # the team read them then
                      read_outbox_max_id=max((e["id"] for e in events if e["out"] and theirs
                                              and e["id"] < min(theirs)), default=0))
        items = [Item(e["id"], e["out"], e["text"], e["at"]) for e in events]
        saved = store.import_dialog(account_id, owner.org_id, peer, marks, items, announce=False)
        stored = {m.telegram_id: m
                  for m in db.session.scalars(select(Message).where(Message.chat_id == saved.chat_id))}
        answered = min((e["at"] for e in events if not e["out"]), default=None)
        for event in events:
            message = stored[event["id"]]
            message.created_at = event["at"]
            if event["out"]:
                message.origin, message.author_id = ORIGIN, campaign.owner_id
                event["send"].message_id = message.id
                if event["id"] <= marks.read_outbox_max_id:  # the receipt came as they answered
                    event["send"].read_at = answered
    campaign.status = CampaignStatus.FINISHED.value
    campaign.finished_at = max(e.ended_at for e in enrollments.values())
    db.session.flush()

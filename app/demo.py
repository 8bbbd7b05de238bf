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
    """Create the demo organization and team unless present; returns whether it created anything."""
    if find_user(DEMO_EMAIL) is not None:
        return False
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

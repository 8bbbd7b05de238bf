"""Demo data: an organization with a team in every role. Later domains add their records here."""

from __future__ import annotations

import random

from app.blueprints.auth.public import User, find_user, hash_password
from app.blueprints.team.public import Membership, Role, create_organization
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
    owner = User(email=DEMO_EMAIL, name="Dana Demo", password_hash=password_hash)
    db.session.add(owner)
    db.session.flush()
    membership = create_organization(owner=owner, name=DEMO_ORG)
    for name, email, role in TEAM:
        user = User(email=email, name=name, password_hash=password_hash)
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
    seed_pipeline(owner, contacts, rng)
    for (name, domain, industry) in COMPANIES:
        company = service.resolve_company(owner.org_id, name)
        service.update_record(owner, "company", company.id, {"domain": domain, "industry": industry,
                                                             "website": f"https://{domain}"})


def seed_pipeline(owner: Membership, contacts: list, rng: random.Random) -> None:
    """Deals over the Sales board (owned by the team, some days into their stage), a stage rule,
    and a second, smaller Partnerships pipeline."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from app.blueprints.crm import public as service
    from app.blueprints.pipeline import public as pipelines
    from app.db_types import utcnow

    sales = pipelines.default_pipeline(owner.org_id)
    negotiation = next(s for s in sales.stages if s.name == "Negotiation")
    pipelines.update_stage(owner, negotiation.id, {"required_fields": ["value", "expected_close"]})
    team = list(db.session.scalars(select(Membership.user_id).where(Membership.org_id == owner.org_id)))
    kinds = ("pilot", "annual plan", "integration", "expansion", "renewal")
    for i in range(32):
        contact = contacts[i % len(contacts)]
        deal = service.create_record(owner, "deal", {
            "title": f"{contact.company.name} - {kinds[i % len(kinds)]}",
            "value": str(rng.choice((5000, 12000, 25000, 48000, 90000))), "currency": "USD",
            "contact": contact.id, "company": contact.company_id, "owner": team[i % len(team)],
            "expected_close": (date.today() + timedelta(days=rng.randint(7, 120))).isoformat(),
            "stage": sales.stages[i % len(sales.stages)].id,
        })
        deal.stage_entered_at = utcnow() - timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
    partners = pipelines.create_pipeline(owner, "Partnerships")
    for i, contact in enumerate(contacts[-6:]):
        service.create_record(owner, "deal", {
            "title": f"{contact.company.name} - co-marketing", "contact": contact.id,
            "company": contact.company_id, "stage": partners.stages[i % 3].id})


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

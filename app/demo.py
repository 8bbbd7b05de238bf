"""Demo data: an organization with a team in every role. Later domains add their records here."""

from __future__ import annotations

import random

from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import hash_password
from app.blueprints.auth.service import find_user
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Role
from app.blueprints.team.service import create_organization
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
    from app.blueprints.crm import service
    from app.blueprints.pipeline.service import default_pipeline

    rng = random.Random(7)  # the same demo every time
    stages = [s.name for s in default_pipeline(owner.org_id).stages]
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
    for i, contact in enumerate(contacts[:14]):
        service.create_record(owner, "deal", {
            "title": f"{contact.company.name} - {rng.choice(('pilot', 'annual plan', 'integration'))}",
            "value": str(rng.choice((5000, 12000, 25000, 48000, 90000))), "currency": "USD",
            "contact": contact.id, "company": contact.company_id, "stage": stages[i % len(stages)],
        })
    for (name, domain, industry) in COMPANIES:
        company = service.resolve_company(owner.org_id, name)
        service.update_record(owner, "company", company.id, {"domain": domain, "industry": industry,
                                                             "website": f"https://{domain}"})

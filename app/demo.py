"""Demo data: an organization with a team in every role. Later domains add their records here."""

from __future__ import annotations

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
    return True

"""Row factories: committed rows with sensible defaults (one module, reused by every domain's tests)."""

from __future__ import annotations

import itertools
from functools import cache

from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import hash_password
from app.blueprints.team.models import Membership, Organization
from app.blueprints.team.permissions import Role
from app.extensions import db

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once per run


def make_user(name: str | None = None, email: str | None = None) -> User:
    n = next(_seq)
    user = User(name=name or f"User {n}", email=(email or f"user{n}@example.com").lower(),
                password_hash=_password_hash())
    db.session.add(user)
    db.session.commit()
    return user


def make_org(name: str | None = None, owner: User | None = None) -> Organization:
    org = Organization(name=name or f"Org {next(_seq)}")
    db.session.add(org)
    if owner is not None:
        db.session.add(Membership(organization=org, user=owner, role=Role.OWNER.value))
    db.session.commit()
    return org


def add_member(org: Organization, user: User | None = None, role: Role = Role.AGENT) -> Membership:
    membership = Membership(organization=org, user=user or make_user(), role=role.value)
    db.session.add(membership)
    db.session.commit()
    return membership


def make_member(role: Role = Role.OWNER, org: Organization | None = None) -> Membership:
    """A user with ``role`` in ``org`` (a new organization if None)."""
    return add_member(org or make_org(), role=role)


def make_contact(member: Membership, **fields):
    from app.blueprints.crm import service

    data = {"first_name": "Ann", "last_name": f"Lee {next(_seq)}", **fields}
    contact = service.create_record(member, "contact", data)
    db.session.commit()
    return contact


def make_company(member: Membership, **fields):
    from app.blueprints.crm import service

    company = service.create_record(member, "company", {"name": f"Company {next(_seq)}", **fields})
    db.session.commit()
    return company


def make_deal(member: Membership, **fields):
    from app.blueprints.crm import service

    deal = service.create_record(member, "deal", {"title": f"Deal {next(_seq)}", **fields})
    db.session.commit()
    return deal

"""Row factories: committed rows with sensible defaults (one module, reused by every domain's tests)."""

from __future__ import annotations

import itertools
from functools import cache

from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import hash_password
from app.blueprints.team.models import Membership, Organization
from app.blueprints.team.permissions import Role
from app.db_types import utcnow
from app.extensions import db

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # Argon2 is slow on purpose: hash once per run


def make_user(name: str | None = None, email: str | None = None, verified: bool = True) -> User:
    """A user whose address is verified unless ``verified`` is False (what an unverified one may
    not do is tested on purpose, not met by accident)."""
    n = next(_seq)
    user = User(name=name or f"User {n}", email=(email or f"user{n}@example.com").lower(),
                password_hash=_password_hash(), email_verified_at=utcnow() if verified else None)
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
    from app.blueprints.crm.records import service

    data = {"first_name": "Ann", "last_name": f"Lee {next(_seq)}", **fields}
    contact = service.create_record(member, "contact", data)
    db.session.commit()
    return contact


def make_company(member: Membership, **fields):
    from app.blueprints.crm.records import service

    company = service.create_record(member, "company", {"name": f"Company {next(_seq)}", **fields})
    db.session.commit()
    return company


def make_deal(member: Membership, **fields):
    from app.blueprints.crm.records import service

    deal = service.create_record(member, "deal", {"title": f"Deal {next(_seq)}", **fields})
    db.session.commit()
    return deal


# -- telegram accounts, chats, messages ---------------------------------------------------------

def make_account(org: Organization, phone: str | None = None, status: str = "online", **fields):
    from app.blueprints.accounts.models import BDAccount

    n = next(_seq)
    account = BDAccount(org_id=org.id, phone=phone or f"+4477009{n:05d}", status=status,
                        display_name=fields.pop("display_name", f"Sales {n}"), **fields)
    db.session.add(account)
    db.session.commit()
    return account


def give_account(account, *members: Membership) -> None:
    """Give ``account`` to these members (agents see its chats)."""
    from app.blueprints.accounts.models import bd_account_agent

    db.session.execute(bd_account_agent.insert(), [{"account_id": account.id, "user_id": m.user_id}
                                                   for m in members])
    db.session.commit()


def make_chat(account, title: str | None = None, **fields):
    from datetime import timedelta

    from app.blueprints.messaging.models import Chat
    from app.db_types import utcnow

    n = next(_seq)
    defaults = {"peer_id": 700_000 + n, "title": title or f"Person {n}", "username": f"person{n}",
                "last_message_at": utcnow() - timedelta(minutes=n), "last_message_preview": "Hello"}
    chat = Chat(org_id=account.org_id, account_id=account.id, **{**defaults, **fields})
    db.session.add(chat)
    db.session.commit()
    return chat


def make_message(chat, text: str = "Hello", out: bool = False, **fields):
    from app.blueprints.messaging.models import Message
    from app.db_types import utcnow

    n = next(_seq)
    defaults = {"telegram_id": n, "date": utcnow(), "status": "sent" if out else "received"}
    message = Message(org_id=chat.org_id, chat_id=chat.id, account_id=chat.account_id, text=text, out=out,
                      **{**defaults, **fields})
    db.session.add(message)
    db.session.commit()
    return message


# -- two-factor authentication -------------------------------------------------------------------

def give_totp(user: User) -> str:
    """Turn on ``user``'s authenticator (confirmed, no code used yet); returns its secret, from
    which ``pyotp.TOTP(secret).now()`` is a code."""
    import pyotp
    from flask import current_app

    from app.blueprints.auth import mfa
    from app.blueprints.auth.models import TotpFactor

    secret = pyotp.random_base32()
    keys = mfa.MfaKeys(tuple(current_app.config["SETTINGS"].session_keys))
    db.session.add(TotpFactor(user_id=user.id, secret_encrypted=keys.cipher.encrypt(secret.encode()).decode(),
                              confirmed_at=utcnow()))
    db.session.commit()
    return secret

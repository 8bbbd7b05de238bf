"""What a step's text may say about its contact: the variables and their values.

Names are flat strings the template engine (``rendering``) looks up: the contact's own fields at
the top (``first_name``), the company's, the contact's latest open deal's and the contact owner's
behind a prefix (``company.name``, ``deal.title``, ``owner.first_name``), custom fields behind
``custom.`` (``custom.segment``, ``company.custom.tier``). Values are loaded for many contacts at
once (launch previews and the dispatcher render thousands).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app.blueprints.auth.public import User
from app.blueprints.crm.public import Company, Contact, Deal, DealStatus, custom_fields
from app.extensions import db


@dataclass(frozen=True)
class Variable:
    name: str
    label: str  # lazy: in the reader's language
    group: str  # "contact" | "company" | "deal" | "owner"


BUILT_IN: tuple[Variable, ...] = (
    Variable("first_name", _l("First name"), "contact"),
    Variable("last_name", _l("Last name"), "contact"),
    Variable("full_name", _l("Full name"), "contact"),
    Variable("title", _l("Job title"), "contact"),
    Variable("email", _l("Email"), "contact"),
    Variable("phone", _l("Phone"), "contact"),
    Variable("username", _l("Telegram username"), "contact"),
    Variable("company.name", _l("Company name"), "company"),
    Variable("company.website", _l("Company website"), "company"),
    Variable("company.industry", _l("Industry"), "company"),
    Variable("deal.title", _l("Deal title"), "deal"),
    Variable("deal.value", _l("Deal value"), "deal"),
    Variable("owner.first_name", _l("Owner's first name"), "owner"),
    Variable("owner.name", _l("Owner's name"), "owner"),
)


def available(org_id: int) -> list[Variable]:
    """Every variable a step of the organization may use, custom fields included."""
    found = list(BUILT_IN)
    found += [Variable(f"custom.{f.key}", f.label, "contact") for f in custom_fields(org_id, "contact")]
    found += [Variable(f"company.custom.{f.key}", f.label, "company")
              for f in custom_fields(org_id, "company")]
    return found


def names(org_id: int) -> set[str]:
    return {v.name for v in available(org_id)}


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _owner_first_name(user: User | None) -> str | None:
    if user is None:
        return None
    name = (user.name or "").strip()
    return name.split()[0] if name else None


def values_for(org_id: int, contact_ids: Iterable[int]) -> dict[int, dict[str, str | None]]:
    """Each contact's variable values (None where a field is blank), in three queries."""
    ids = list(contact_ids)
    if not ids:
        return {}
    contacts = db.session.scalars(select(Contact).where(Contact.org_id == org_id, Contact.id.in_(ids))
                                  .options(lazyload(Contact.tags))).unique().all()
    deals: dict[int, Deal] = {}
    for deal in db.session.scalars(
            select(Deal).where(Deal.org_id == org_id, Deal.contact_id.in_(ids), Deal.deleted_at.is_(None),
                               Deal.status == DealStatus.OPEN.value)
            .order_by(Deal.created_at, Deal.id).options(lazyload(Deal.tags))).unique():
        deals[deal.contact_id] = deal  # the latest open deal wins
    owner_ids = {c.owner_id for c in contacts if c.owner_id}
    owners = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(owner_ids)))} \
        if owner_ids else {}
    out: dict[int, dict[str, str | None]] = {}
    for contact in contacts:
        company: Company | None = contact.company
        deal = deals.get(contact.id)
        owner = owners.get(contact.owner_id) if contact.owner_id else None
        values: dict[str, str | None] = {
            "first_name": _text(contact.first_name), "last_name": _text(contact.last_name),
            "full_name": _text(f"{contact.first_name} {contact.last_name}"),
            "title": _text(contact.title), "email": _text(contact.email), "phone": _text(contact.phone),
            "username": f"@{contact.telegram_username}" if contact.telegram_username else None,
            "company.name": _text(company.name) if company else None,
            "company.website": _text(company.website) if company else None,
            "company.industry": _text(company.industry) if company else None,
            "deal.title": _text(deal.title) if deal else None,
            "deal.value": _text(deal.value) if deal else None,
            "owner.first_name": _owner_first_name(owner), "owner.name": _text(owner.name) if owner else None,
        }
        for key, value in (contact.custom or {}).items():
            values[f"custom.{key}"] = _text(value)
        for key, value in ((company.custom or {}) if company else {}).items():
            values[f"company.custom.{key}"] = _text(value)
        out[contact.id] = values
    return out

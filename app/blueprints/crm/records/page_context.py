"""What the CRM pages share: URL words for entities, the team for owner pickers, the list context."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.models import Company, DealStatus, Entity
from app.blueprints.crm.records import queries, service
from app.blueprints.crm.records.fields import number
from app.blueprints.crm.records.forms import build_inputs
from app.blueprints.team.public import people
from app.extensions import db

ENTITIES = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY, "deals": Entity.DEAL}
PLURAL = {v: k for k, v in ENTITIES.items()}
NOUNS = {Entity.CONTACT: ("contact", "contacts"), Entity.COMPANY: ("company", "companies"),
         Entity.DEAL: ("deal", "deals")}  # URL and log words; pages say ``WORDS``
# What the pages say of each kind of record, whole sentences each (Russian words change with the
# noun's gender and case: «Новая сделка», «Новый контакт»).
WORDS = {
    Entity.CONTACT: {
        "kind": _l("Contact"), "plural": _l("Contacts"), "trash": _l("Contacts trash"),
        "back": _l("Back to contacts"), "all": _l("All contacts"), "new": _l("New contact"),
        "search": _l("Search contacts"), "none": _l("No contacts"), "none_yet": _l("No contacts yet"),
        "trash_hint": _l("Deleted contacts stay here for 30 days, then they are removed for good."),
        "edit": _l("Edit contact"), "create": _l("Create contact"), "saved": _l("Contact saved."),
    },
    Entity.COMPANY: {
        "kind": _l("Company"), "plural": _l("Companies"), "trash": _l("Companies trash"),
        "back": _l("Back to companies"), "all": _l("All companies"), "new": _l("New company"),
        "search": _l("Search companies"), "none": _l("No companies"), "none_yet": _l("No companies yet"),
        "trash_hint": _l("Deleted companies stay here for 30 days, then they are removed for good."),
        "edit": _l("Edit company"), "create": _l("Create company"), "saved": _l("Company saved."),
    },
    Entity.DEAL: {
        "kind": _l("Deal"), "plural": _l("Deals"), "trash": _l("Deals trash"),
        "back": _l("Back to deals"), "all": _l("All deals"), "new": _l("New deal"),
        "search": _l("Search deals"), "none": _l("No deals"), "none_yet": _l("No deals yet"),
        "trash_hint": _l("Deleted deals stay here for 30 days, then they are removed for good."),
        "edit": _l("Edit deal"), "create": _l("Create deal"), "saved": _l("Deal saved."),
    },
}
SORTABLE = {
    Entity.CONTACT: {"name": "Name", "email": "Email", "created": "Created"},
    Entity.COMPANY: {"name": "Name", "domain": "Domain", "created": "Created"},
    Entity.DEAL: {"title": "Title", "value": "Value", "close": "Close", "created": "Created"},
}
CUSTOM_COLUMNS = 3
COMPANY_CHOICES = 300
SEARCH_COUNT_LIMIT = 1000  # a broad search says "1,000+" instead of counting every match


def entity_of(entities: str) -> str:
    return ENTITIES[entities].value


def count_of(entity: str, n: int) -> str:
    """ "3 contacts", "3 контакта": the count and its noun, in the plural form the count takes."""
    count = number(n)
    if entity == Entity.CONTACT:
        return ngettext("%(count)s contact", "%(count)s contacts", n, count=count)
    if entity == Entity.COMPANY:
        return ngettext("%(count)s company", "%(count)s companies", n, count=count)
    return ngettext("%(count)s deal", "%(count)s deals", n, count=count)


def optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to a page another part of the app provides, or None while it does not exist."""
    return url_for(endpoint, **values) if endpoint in current_app.view_functions else None


def company_names(org_id: int) -> list[tuple[int, str]]:
    return [tuple(row) for row in db.session.execute(
        select(Company.id, Company.name).where(Company.org_id == org_id, Company.deleted_at.is_(None))
        .order_by(Company.name).limit(COMPANY_CHOICES))]


def list_context(org_id: int, entities: str, query: queries.ListQuery) -> dict[str, Any]:
    """Everything the list page and its ``results`` block render from."""
    entity = entity_of(entities)
    custom = service.custom_fields(org_id, entity)
    page = queries.list_records(org_id, entity, query, count_limit=SEARCH_COUNT_LIMIT)
    members = people(org_id)
    first = (page.page - 1) * page.per_page + 1 if page.total else 0
    return {
        "entity": entity, "entities": entities, "query": query, "page": page, "custom": custom,
        "custom_columns": custom[:CUSTOM_COLUMNS], "team": members,
        "owners": {u.id: u for u in members},
        "tags": queries.org_tags(org_id), "sortable": SORTABLE[Entity(entity)],
        "sort": query.sort or queries.DEFAULT_SORT[Entity(entity)],
        "companies": company_names(org_id) if entity != Entity.COMPANY else [],
        "company_choices": COMPANY_CHOICES,
        "stages": stage_keeper().choices(org_id) if entity == Entity.DEAL else [],
        "statuses": [s.value for s in DealStatus],
        "first": first, "last": min(page.total, first + len(page.items) - 1) if page.total else 0,
        "noun": NOUNS[Entity(entity)], "words": WORDS[Entity(entity)],
        "list_url": url_for("crm.trash", entities=entities) if query.trashed else url_for(f"crm.{entities}"),
        "args_with": lambda **changes: page_args(query, **changes),
        "pager": pager(page.page, page.pages), "days_left": service.trashed_since,
        "column_inputs": {i.name: i for i in build_inputs(entity, custom)},
        "import_url": optional_url("crm_import.new", entities=entities),
        "export_url": optional_url("crm_export.export", entities=entities, **query.as_args()),
    }


def pager(current: int, pages: int) -> list[tuple[str, int | None]]:
    """Page links: first, last, and two either side of the current page; None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    links: list[tuple[str, int | None]] = []
    if current > 1:
        links.append((gettext("Previous"), current - 1))
    for n, page in enumerate(wanted):
        if n and page - wanted[n - 1] > 1:
            links.append(("…", None))
        links.append((number(page), page))
    if current < pages:
        links.append((gettext("Next"), current + 1))
    return links


def page_args(query: queries.ListQuery, **changes: Any) -> dict[str, str]:
    """The list's query-string with some arguments changed (sort links, pagination)."""
    args = query.as_args()
    if query.page > 1:
        args["page"] = str(query.page)
    for key, value in changes.items():
        if value in (None, ""):
            args.pop(key, None)
        else:
            args[key] = str(value)
    return args

"""What the CRM pages share: URL words for entities, the team for owner pickers, the list context."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.models import Company, DealStatus, Entity
from app.blueprints.crm.records import queries, service
from app.blueprints.crm.records.forms import build_inputs
from app.blueprints.team.public import people
from app.extensions import db

ENTITIES = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY, "deals": Entity.DEAL}
PLURAL = {v: k for k, v in ENTITIES.items()}
NOUNS = {Entity.CONTACT: ("contact", "contacts"), Entity.COMPANY: ("company", "companies"),
         Entity.DEAL: ("deal", "deals")}
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
    one, many = NOUNS[Entity(entity)]
    return f"{n:,} {one if n == 1 else many}"


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
        "noun": NOUNS[Entity(entity)],
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
        links.append(("Previous", current - 1))
    for n, number in enumerate(wanted):
        if n and number - wanted[n - 1] > 1:
            links.append(("…", None))
        links.append((f"{number:,}", number))
    if current < pages:
        links.append(("Next", current + 1))
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

"""The read side of the CRM: filtered, searched, sorted, paginated lists; timelines; id sets.

Lists are org-scoped and exclude the trash unless asked. Search runs on ``search_text`` through
SQLite FTS5 (trigram) or PostgreSQL pg_trgm, so it matches any part of a name, email, phone or
Telegram handle. ``search_text`` and the terms are both folded by ``canonical.search_fold`` (lower
case, Cyrillic too, and ё as its plain letter: Ёжик as ежик), so neither database has to fold
case itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Integer, Select, and_, column, func, or_, select, text

from app.blueprints.auth.public import User
from app.blueprints.crm import panels
from app.blueprints.crm.models import Activity, Company, Contact, Deal, Entity, Import, Tag
from app.blueprints.crm.records.service import model_for
from app.blueprints.team.public import phone_region
from app.canonical import ID_MAX, phone_search_digits, search_fold
from app.extensions import db

MAX_PER_PAGE = 200

SORTS: dict[str, dict[str, Any]] = {
    Entity.CONTACT: {"name": (Contact.last_name, Contact.first_name), "created": (Contact.created_at,),
                     "updated": (Contact.updated_at,), "email": (Contact.email,)},
    Entity.COMPANY: {"name": (Company.name,), "created": (Company.created_at,),
                     "updated": (Company.updated_at,), "domain": (Company.domain,)},
    Entity.DEAL: {"title": (Deal.title,), "created": (Deal.created_at,), "updated": (Deal.updated_at,),
                  "value": (Deal.value,), "close": (Deal.expected_close,)},
}
DEFAULT_SORT = {Entity.CONTACT: "-created", Entity.COMPANY: "name", Entity.DEAL: "-created"}


@dataclass
class ListQuery:
    q: str = ""
    owner_id: int | None = None
    unowned: bool = False
    tag: str | None = None
    company_id: int | None = None
    company_name: str | None = None  # a company named instead of picked (orgs with many companies)
    stage_id: int | None = None
    status: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    trashed: bool = False
    sort: str | None = None
    page: int = 1
    per_page: int = 50
    custom: dict[str, str] = field(default_factory=dict)


    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ListQuery:
        """Parse query-string arguments (pages and API alike); bad values are ignored, not fatal."""

        def number(key: str) -> int | None:
            value = str(args.get(key) or "").strip()
            # "²" is a digit to str.isdigit but no number to int(); past ID_MAX no row has it.
            return int(value) if value.isascii() and value.isdigit() and int(value) <= ID_MAX else None

        def day(key: str) -> date | None:
            try:
                return date.fromisoformat(str(args.get(key) or "").strip())
            except ValueError:
                return None

        owner = str(args.get("owner") or "")
        return cls(
            q=str(args.get("q") or "")[:200],
            owner_id=number("owner"),
            unowned=owner == "none",
            tag=(str(args.get("tag") or "").strip() or None),
            company_id=number("company"),
            company_name=None if number("company") else str(args.get("company") or "").strip()[:200] or None,
            stage_id=number("stage"),
            status=(str(args.get("status") or "").strip() or None),
            created_from=day("created_from"),
            created_to=day("created_to"),
            trashed=str(args.get("trashed") or "") in {"1", "true", "yes"},
            sort=(str(args.get("sort") or "").strip() or None),
            page=number("page") or 1,
            per_page=min(number("per_page") or 50, MAX_PER_PAGE),
            custom={k[len("custom."):]: str(v) for k, v in args.items()
                    if k.startswith("custom.") and str(v).strip()},
        )

    def as_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this query (for links: pages, export, sort)."""
        pairs = {"q": self.q, "owner": "none" if self.unowned else self.owner_id, "tag": self.tag,
                 "company": self.company_id or self.company_name, "stage": self.stage_id,
                 "status": self.status,
                 "created_from": self.created_from, "created_to": self.created_to,
                 "trashed": "1" if self.trashed else None, "sort": self.sort}
        pairs.update({f"custom.{k}": v for k, v in self.custom.items()})
        return {k: str(v) for k, v in pairs.items() if v not in (None, "")}


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int
    capped: bool = False  # more than ``total`` match (a search counted only up to count_limit)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_prev(self) -> bool:
        return self.page > 1


_TERM = re.compile(r"[^\s\"']+")


def _search(stmt: Select, model, q: str, org_id: int) -> Select:
    number = phone_search_digits(q, phone_region(org_id)) if any(c.isdigit() for c in q) else ()
    if number:
        return _search_number(stmt, model, number)
    terms = [search_fold(t) for t in _TERM.findall(q)][:8]
    if not terms:
        return stmt
    if db.engine.dialect.name == "sqlite":
        long_terms = [t for t in terms if len(t) >= 3]
        if long_terms:
            match = " AND ".join('"' + t.replace('"', '""') + '"' for t in long_terms)
            # The table name comes from our model, never from input; the terms are bound.
            fts_table = f"{model.__tablename__}_fts"
            sql = f"SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH :match"  # noqa: S608
            fts = text(sql).bindparams(match=match).columns(column("rowid", Integer))
            stmt = stmt.where(model.id.in_(fts))
        for t in terms:
            if len(t) < 3:  # trigram indexes need three characters; short terms match a word start
                stmt = stmt.where(model.search_text.like(f"{_escape(t)}%", escape="\\")
                                  | model.search_text.like(f"% {_escape(t)}%", escape="\\"))
        return stmt
    for t in terms:
        stmt = stmt.where(model.search_text.ilike(f"%{_escape(t)}%", escape="\\"))
    return stmt


def _search_number(stmt: Select, model, forms: tuple[str, ...]) -> Select:
    """A phone number as people write it ("8 916 111-22-33"): records holding one of its ``forms``
    (``canonical.phone_search_digits``: the E.164 digits search_text holds, read in the
    organization's default country, or the digits as typed): digits only, and long enough for the
    trigram indexes."""
    if db.engine.dialect.name == "sqlite":
        fts_table = f"{model.__tablename__}_fts"
        sql = f"SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH :match"  # noqa: S608
        match = " OR ".join(f'"{f}"' for f in forms)  # digits only: nothing to quote
        return stmt.where(model.id.in_(text(sql).bindparams(match=match).columns(column("rowid", Integer))))
    return stmt.where(or_(*(model.search_text.like(f"%{f}%") for f in forms)))


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(org_id: int, entity: str, query: ListQuery) -> Select:
    """SELECT of the records matching ``query`` (unsorted, unpaginated)."""
    model = model_for(entity)
    stmt = select(model).where(model.org_id == org_id)
    stmt = stmt.where(model.deleted_at.is_not(None) if query.trashed else model.deleted_at.is_(None))
    if query.q.strip():
        stmt = _search(stmt, model, query.q, org_id)
    if query.unowned:
        stmt = stmt.where(model.owner_id.is_(None))
    elif query.owner_id:
        stmt = stmt.where(model.owner_id == query.owner_id)
    if query.tag:
        tag_table = model.tags.property.secondary
        tag_id = select(Tag.id).where(Tag.org_id == org_id, func.lower(Tag.name) == query.tag.lower())
        stmt = stmt.where(model.id.in_(select(tag_table.c[f"{entity}_id"])
                                       .where(tag_table.c.tag_id.in_(tag_id))))
    if query.company_id and entity in (Entity.CONTACT, Entity.DEAL):
        stmt = stmt.where(model.company_id == query.company_id)
    elif query.company_name and entity in (Entity.CONTACT, Entity.DEAL):
        named = select(Company.id).where(Company.org_id == org_id, Company.deleted_at.is_(None),
                                         func.lower(Company.name) == query.company_name.lower())
        stmt = stmt.where(model.company_id.in_(named))
    if entity == Entity.DEAL:
        if query.stage_id:
            stmt = stmt.where(Deal.stage_id == query.stage_id)
        if query.status:
            stmt = stmt.where(Deal.status == query.status)
    if query.created_from:
        stmt = stmt.where(model.created_at >= datetime.combine(query.created_from, time.min, UTC))
    if query.created_to:
        stmt = stmt.where(model.created_at <= datetime.combine(query.created_to, time.max, UTC))
    for key, value in query.custom.items():
        if value not in (None, ""):
            stmt = stmt.where(model.custom[key].as_string() == str(value))
    return stmt


def _ordering(entity: str, sort: str | None, model, live: bool = False) -> tuple[list, str]:
    sort = sort or DEFAULT_SORT[entity]
    name = sort.lstrip("-")
    if name not in SORTS[entity]:
        sort, name = DEFAULT_SORT[entity], DEFAULT_SORT[entity].lstrip("-")
    descending = sort.startswith("-")
    # Live rows all have deleted_at NULL, so leading with it changes no order; it lets PostgreSQL
    # walk the (org_id, deleted_at, <sort>, id) indexes in order (IS NULL is not an equality there).
    keys = ((model.deleted_at,) if live else ()) + tuple(SORTS[entity][name])
    columns = [c.desc() if descending else c.asc() for c in keys]
    columns.append(model.id.desc() if descending else model.id.asc())
    return columns, sort


def list_records(org_id: int, entity: str, query: ListQuery, count_limit: int | None = None) -> Page:
    """One page of ``query``'s records and their total.

    With ``count_limit``, a search counts at most that many matches (``Page.capped`` says there are
    more): counting every match of a broad search is the slowest part of a list. The page itself
    is found on ids alone and only its rows are loaded, so deep pages skip rows cheaply.
    """
    model = model_for(entity)
    per_page = max(1, min(int(query.per_page or 50), MAX_PER_PAGE))
    page = max(1, int(query.page or 1))
    ids_stmt = filtered(org_id, entity, query).with_only_columns(model.id)
    order, _ = _ordering(entity, query.sort, model, live=not query.trashed)
    capped = False
    if count_limit and query.q.strip() and page * per_page <= count_limit:
        # One pass serves both: the first count_limit + 1 matching ids, in order.
        ranked = list(db.session.scalars(ids_stmt.order_by(*order).limit(count_limit + 1)))
        total, capped = min(len(ranked), count_limit), len(ranked) > count_limit
        ids = ranked[(page - 1) * per_page:page * per_page]
    else:
        counted = ids_stmt.order_by(None)
        if count_limit and query.q.strip():
            counted = counted.limit(count_limit + 1)
        total = db.session.scalar(select(func.count()).select_from(counted.subquery())) or 0
        if count_limit and query.q.strip() and total > count_limit:
            total, capped = count_limit, True
        ids = list(db.session.scalars(ids_stmt.order_by(*order).limit(per_page)
                                      .offset((page - 1) * per_page)))
    rows = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(ids))).unique()
            } if ids else {}
    items = [rows[i] for i in ids if i in rows]
    return Page(items=items, total=total, page=page, per_page=per_page, capped=capped)


def matching_ids(org_id: int, entity: str, query: ListQuery, limit: int | None = None) -> list[int]:
    model = model_for(entity)
    stmt = filtered(org_id, entity, query).with_only_columns(model.id).order_by(model.id)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class ImportedEntry:
    """The timeline entry of a record an import created (kept on the record, not as an Activity
    row); shaped like an Activity where the template reads one."""

    import_id: int
    filename: str
    actor: Any
    created_at: datetime
    kind: str = "imported"

    @property
    def id(self) -> str:
        return f"import-{self.import_id}"


def timeline(org_id: int, entity: str, record: Any, limit: int = 100, also: Sequence[Any] = ()) -> list[Any]:
    """The newest ``limit`` entries: activities, the histories other domains keep of the record
    (``panels.register_history``: a deal's stage moves), ``also`` (entries of other domains with a
    ``created_at``: a contact's messages), and for an imported record the import that created it;
    newest first."""
    entries: list[Any] = list(db.session.scalars(
        select(Activity).where(and_(Activity.org_id == org_id, Activity.subject_type == entity,
                                    Activity.subject_id == record.id))
        .order_by(Activity.id.desc()).limit(limit)
    ))
    entries += panels.history(org_id, entity, record, limit)
    entries += also
    if record.import_id is not None:
        found = db.session.execute(
            select(Import.filename, User).outerjoin(User, User.id == Import.created_by_id)
            .where(Import.org_id == org_id, Import.id == record.import_id)).first()
        if found is not None:
            entries.append(ImportedEntry(record.import_id, found[0], found[1], record.created_at))
    # Newest first; at one instant the import's entry goes below what the import wrote with it.
    entries.sort(key=lambda e: (e.created_at, e.kind != "imported"), reverse=True)
    return entries[:limit]


def company_names_like(org_id: int, prefix: str, limit: int = 50) -> list[str]:
    """Live company names starting with ``prefix`` (the company filter's suggestions)."""
    pattern = _escape(prefix.strip().lower()) + "%"
    return list(db.session.scalars(select(Company.name).where(
        Company.org_id == org_id, Company.deleted_at.is_(None),
        func.lower(Company.name).like(pattern, escape="\\")).order_by(Company.name).limit(limit)))


def suggestions(org_id: int, entity: str, q: str, limit: int = 10) -> list[Any]:
    """Live records matching what is typed so far, as the list's search finds them (any word of
    the name, email, handle or phone; folded as search folds it), the newest first: a form's pickers."""
    model = model_for(entity)
    stmt = select(model).where(model.org_id == org_id, model.deleted_at.is_(None))
    return list(db.session.scalars(_search(stmt, model, q.strip()[:100], org_id)
                                   .order_by(model.id.desc()).limit(limit)))


def org_tags(org_id: int) -> list[Tag]:
    return list(db.session.scalars(select(Tag).where(Tag.org_id == org_id).order_by(Tag.name)))


def related(record: Any) -> dict[str, list[Any]]:
    """What a detail page lists beside a record: a contact's deals, a company's people and deals."""

    def live(model, column) -> list[Any]:
        return list(db.session.scalars(select(model).where(
            model.org_id == record.org_id, column == record.id, model.deleted_at.is_(None))
            .order_by(model.id.desc()).limit(50)))

    if isinstance(record, Contact):
        return {"deals": live(Deal, Deal.contact_id)}
    if isinstance(record, Company):
        return {"contacts": live(Contact, Contact.company_id), "deals": live(Deal, Deal.company_id)}
    return {}


def lost_reasons(org_id: int, limit: int = 12) -> list[str]:
    """The reasons this organization gives most for lost deals: suggestions for the next one."""
    return list(db.session.scalars(
        select(Deal.lost_reason).where(Deal.org_id == org_id, Deal.lost_reason.is_not(None),
                                       Deal.deleted_at.is_(None))
        .group_by(Deal.lost_reason).order_by(func.count().desc(), Deal.lost_reason).limit(limit)))

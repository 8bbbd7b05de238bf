"""The activity log: what each member did, from every domain, in one stream, newest first.

Team keeps the audit log (sign-ins, the team, settings, accounts, imports, exports) but not the
records, messages or stage moves, which domains built on team hold; so it declares a registry and
they register a source (``register_source``): a function that, given the filters, returns the
newest entries of its own kind. The page merges them by time. Pages go on from a cursor (time,
source, id), so entries written in the same instant (a bulk action) are neither skipped nor shown
twice. Flask-free but for the viewer's language the sources write their summaries in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, or_, select, true

from app import audit
from app.blueprints.team import log_filters
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Permission, require
from app.extensions import db

PAGE = 50
CSV_MAX = 50_000  # rows in one export: a longer history is exported a date range at a time

# What the page's "What" filter offers, in words (lazy: the viewer's language).
GROUPS: dict[str, Any] = {
    "records": _l("Records changed"),
    "messages": _l("Messages sent"),
    "moves": _l("Deals moved"),
    "imports": _l("Imports and exports"),
    "sign_ins": _l("Sign-ins and security"),
    "team": _l("Team and settings"),
    "accounts": _l("Telegram accounts"),
}
# Audit actions by the group their code's first part falls in.
_AUDIT_GROUPS = {"auth": "sign_ins", "member": "team", "org": "team", "import": "imports",
                 "export": "imports", "account": "accounts"}


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last entry's time, its source's rank and its id."""

    at: datetime
    rank: int
    row_id: int

    def encode(self) -> str:
        # Whole microseconds since the epoch: a float would lose the last digit, and entries of one
        # instant would then be skipped or shown twice.
        return f"{(self.at - _EPOCH) // _MICROSECOND}_{self.rank}_{self.row_id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        """Raises ValueError (or OverflowError) for anything that is not a cursor of ours."""
        micros, rank, row_id = raw.split("_")
        return cls(_EPOCH + int(micros) * _MICROSECOND, int(rank), int(row_id))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class ActivityQuery:
    """Whose actions, of which group, on which UTC days (inclusive), after which cursor."""

    org_id: int
    actor_id: int | None = None
    group: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    before: Cursor | None = None

    @property
    def since(self) -> datetime | None:
        return datetime.combine(self.date_from, time.min, UTC) if self.date_from else None

    @property
    def until(self) -> datetime | None:
        """The exclusive end: the day after ``date_to``."""
        if self.date_to is None or self.date_to >= date.max:
            return None
        return datetime.combine(self.date_to + timedelta(days=1), time.min, UTC)

    def as_args(self, **override: Any) -> dict[str, str]:
        pairs = {"member": self.actor_id, "what": self.group, "from": self.date_from, "to": self.date_to,
                 "before": self.before.encode() if self.before else None, **override}
        return {k: str(v) for k, v in pairs.items() if v not in (None, "")}

    @property
    def narrowed(self) -> bool:
        return any((self.actor_id, self.group, self.date_from, self.date_to))


@dataclass(frozen=True)
class ActivityEntry:
    at: datetime
    actor_id: int | None
    group: str  # a key of GROUPS
    summary: str  # in the viewer's language
    rank: int  # its source's
    row_id: int  # its id in the source
    link: tuple[str, dict[str, Any]] | None = None  # an endpoint and its values (the page links it)
    details: list[tuple[str, str]] = field(default_factory=list)
    ip: str | None = None


@dataclass(frozen=True)
class Source:
    group: str
    rank: int  # unique: orders entries of one instant, and names the source in a cursor
    entries: Callable[[ActivityQuery, int], list[ActivityEntry]]


_SOURCES: dict[int, Source] = {}


Entries = Callable[["ActivityQuery", int], list["ActivityEntry"]]


def register_source(group: str, rank: int, entries: Entries) -> None:
    """Add a domain's entries to the log: ``entries(query, limit)`` returns at most ``limit`` of
    them, newest first, honouring the query (``narrow`` does the common part in SQL)."""
    if rank in _SOURCES and _SOURCES[rank].entries is not entries:
        raise ValueError(f"an activity source has rank {rank}")
    _SOURCES[rank] = Source(group, rank, entries)


def narrow(query: ActivityQuery, rank: int, at: Any, row_id: Any, actor: Any) -> ColumnElement[bool]:
    """The SQL condition a source's rows meet for ``query``: its member, its days, and strictly
    after the cursor in the log's order (time, source rank, id: all descending)."""
    conditions = []
    if query.actor_id is not None:
        conditions.append(actor == query.actor_id)
    if query.since is not None:
        conditions.append(at >= query.since)
    if query.until is not None:
        conditions.append(at < query.until)
    cursor = query.before
    if cursor is not None:
        if rank < cursor.rank:
            conditions.append(at <= cursor.at)
        elif rank == cursor.rank:
            conditions.append(or_(at < cursor.at, and_(at == cursor.at, row_id < cursor.row_id)))
        else:
            conditions.append(at < cursor.at)
    return and_(*conditions) if conditions else true()


@dataclass
class ActivityPage:
    entries: list[ActivityEntry] = field(default_factory=list)
    older: Cursor | None = None


def activity(actor: Membership, query: ActivityQuery, limit: int = PAGE) -> ActivityPage:
    """One page of the organization's activity, newest first. Raises Forbidden without AUDIT_VIEW."""
    require(actor, Permission.AUDIT_VIEW)
    sources = [s for s in _SOURCES.values() if query.group in (None, s.group) or s.group == "*"]
    found = [entry for source in sources for entry in source.entries(query, limit + 1)
             if query.group in (None, entry.group)]
    found.sort(key=lambda e: (e.at, e.rank, e.row_id), reverse=True)
    shown = found[:limit]
    older = Cursor(shown[-1].at, shown[-1].rank, shown[-1].row_id) if len(found) > limit else None
    return ActivityPage(shown, older)


def activity_csv(actor: Membership, query: ActivityQuery, people: Mapping[int, str]) -> Iterator[str]:
    """Every entry the query matches (up to ``CSV_MAX``) as CSV text: a page at a time."""
    require(actor, Permission.AUDIT_VIEW)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("When (UTC)"), _("Member"), _("What"), _("Summary"), _("Details"), "IP"])
    written, page = 0, activity(actor, query, PAGE * 4)
    while True:
        for entry in page.entries:
            writer.writerow([entry.at.strftime("%Y-%m-%d %H:%M:%S"), people.get(entry.actor_id, ""),
                             str(GROUPS[entry.group]), entry.summary,
                             "; ".join(f"{key}: {text}" for key, text in entry.details), entry.ip or ""])
        written += len(page.entries)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.older is None or written >= CSV_MAX:
            return
        page = activity(actor, replace(query, before=page.older), PAGE * 4)


def activity_query(org_id: int, args: Mapping[str, str], members: Mapping[int, str]) -> ActivityQuery:
    """The log's filters from query-string arguments: ``member`` (a user id of the organization),
    ``what`` (a key of GROUPS), ``from`` and ``to`` (UTC days, inclusive), ``before`` (a cursor).
    Raises DomainError naming each one that is not valid."""
    errors: dict[str, str] = {}
    actor_id = log_filters.member_of(args, members, errors)
    group = log_filters.text_of(args, "what") or None
    if group is not None and group not in GROUPS:
        errors["what"] = _("Pick one of the listed kinds of activity.")
    date_from, date_to = log_filters.days_of(args, errors)
    before = None
    if raw := log_filters.text_of(args, "before"):
        try:
            before = Cursor.decode(raw)
        except (ValueError, OverflowError, OSError):
            errors["before"] = _("Not a page of this log.")
    log_filters.refuse(errors)
    return ActivityQuery(org_id=org_id, actor_id=actor_id, group=group, date_from=date_from, date_to=date_to,
                         before=before)


# -- the audit log is one source: sign-ins, the team, settings, accounts, imports and exports ------

AUDIT_RANK = 1


def _audit_entries(query: ActivityQuery, limit: int) -> list[ActivityEntry]:
    event = audit.AuditEvent
    stmt = select(event).where(event.org_id == query.org_id,
                               narrow(query, AUDIT_RANK, event.created_at, event.id, event.actor_id))
    if query.group is not None:
        prefixes = [prefix for prefix, group in _AUDIT_GROUPS.items() if group == query.group]
        if not prefixes:
            return []
        stmt = stmt.where(or_(*(event.action.like(f"{prefix}.%") for prefix in prefixes)))
    rows = list(db.session.scalars(stmt.order_by(event.created_at.desc(), event.id.desc()).limit(limit)))
    people = _names(query.org_id) if rows else {}
    return [ActivityEntry(at=row.created_at, actor_id=row.actor_id,
                          group=_AUDIT_GROUPS.get(row.action.split(".", 1)[0], "team"),
                          summary=str(audit.label(row.action)), rank=AUDIT_RANK, row_id=row.id,
                          details=audit.details(row, people), ip=row.ip) for row in rows]


def _names(org_id: int) -> dict[int, str]:
    user = Membership.user.property.mapper.class_  # auth builds on team: reached, not imported
    return dict(db.session.execute(select(user.id, user.name).join(Membership, Membership.user_id == user.id)
                                   .where(Membership.org_id == org_id)).all())


register_source("*", AUDIT_RANK, _audit_entries)

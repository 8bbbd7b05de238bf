"""Bulk helpers of the import: search indexing in bulk, chunking, one-of lookups (rows are
inserted by ``app.bulk_insert``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import String, Table, any_, literal, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType

from app.blueprints.crm.models import Entity, company_tag, contact_tag, deal_tag
from app.extensions import db

TAG_TABLES = {Entity.CONTACT: contact_tag, Entity.COMPANY: company_tag, Entity.DEAL: deal_tag}


@contextmanager
def _bulk_search_index(table: Table, first_id: int, last_id: int) -> Iterator[None]:
    """SQLite: index the rows ``first_id..last_id`` written inside this block in the FTS5 table in
    one statement instead of through its per-row insert trigger.

    The trigger costs about six times as much: every row's trigger statement makes FTS5 flush a
    one-row segment, which it must then merge. The trigger is dropped and re-created (from its own
    stored SQL) inside this transaction, so no other connection ever sees the table without it.
    """
    name = f"{table.name}_fts_ai"
    trigger = db.session.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
                                {"n": name})
    if trigger is None:
        yield
        return
    if not db.session.connection().connection.dbapi_connection.in_transaction:
        raise RuntimeError("bulk search indexing needs an open transaction")  # DDL would autocommit
    db.session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    db.session.execute(text(f'INSERT INTO "{table.name}_fts"(rowid, search_text) '  # noqa: S608
                            f'SELECT id, search_text FROM "{table.name}" WHERE id BETWEEN :a AND :b'),
                       {"a": first_id, "b": last_id})
    db.session.execute(text(trigger))


def _one_of(column, values: list):
    """``column IN (values)``; on PostgreSQL ``= ANY(array)``: one parameter, one prepared plan."""
    if db.session.get_bind().dialect.name == "postgresql":
        kind = String() if isinstance(column.type, NullType) else column.type  # lower(...) has no type
        return column == any_(literal(values, ARRAY(kind)))
    return column.in_(values)


def _parts(values: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _same_keys(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    yield from groups.values()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _contact_name(row) -> str:
    full = f"{row.first_name} {row.last_name}".strip()
    return full or row.email or (f"@{row.telegram_username}" if row.telegram_username else "") \
        or row.phone or f"Contact #{row.id}"

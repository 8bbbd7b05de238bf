"""Bulk writing helpers: COPY or executemany, search indexing in bulk, chunking."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from enum import Enum
from operator import itemgetter
from typing import Any

from psycopg.adapt import Dumper
from sqlalchemy import JSON, String, Table, any_, literal, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType

from app.blueprints.crm.models import Entity, company_tag, contact_tag, deal_tag
from app.extensions import db

TAG_TABLES = {Entity.CONTACT: contact_tag, Entity.COMPANY: company_tag, Entity.DEAL: deal_tag}


class _EnumValue(Dumper):
    """Enums as their values (psycopg writes a plain Enum's name)."""

    def dump(self, obj: Enum) -> bytes:
        return str(obj.value).encode()


def _write_rows(table: Table, rows: Iterable[dict[str, Any]], meanwhile: Callable[[], None] | None = None
                ) -> None:
    """Insert ``rows`` (all with the same keys) in bulk: COPY on PostgreSQL, executemany elsewhere.

    Core, not the ORM: the ORM splits a batch into groups by which values are None. ``rows`` may be
    a generator, which must not use the database: on PostgreSQL it is consumed while the rows are
    sent, so that building them overlaps with the server's writing the rows already sent.
    ``meanwhile`` runs after the rows are sent and before waiting for PostgreSQL to have written
    them (and their indexes: the slow part); elsewhere, after the rows.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None or db.session.get_bind().dialect.name != "postgresql":
        if first is not None:
            db.session.execute(table.insert(), [first, *rows])
        if meanwhile is not None:
            meanwhile()
        return
    columns = list(first)
    values_of = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    json_columns = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    names = ", ".join(f'"{c}"' for c in columns)
    # Rows often share one dict (an activity's data): dumped once. The dict is kept with its text so
    # that its id is not reused by another while the rows are being made.
    serialized: dict[int, tuple[Any, str]] = {}
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    cursor.adapters.register_dumper(Enum, _EnumValue)
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in itertools.chain((first,), rows):
            values = values_of(row)
            if json_columns:
                values = list(values)
                for i in json_columns:
                    value = values[i]
                    if not value and value is not None:  # {} (most records' custom values) or []
                        values[i] = "{}" if isinstance(value, dict) else json.dumps(value)
                    elif value is not None:
                        known = serialized.get(id(value))
                        if known is None:
                            known = serialized[id(value)] = (value, json.dumps(value))
                        values[i] = known[1]
            copy.write_row(values)
        if meanwhile is not None:
            meanwhile()


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

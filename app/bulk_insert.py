"""Inserting many rows at once: COPY on PostgreSQL, executemany elsewhere.

For writers of thousands of rows (imports, their stage history, later rollups): Core, not the ORM.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from enum import Enum
from operator import itemgetter
from typing import Any

from psycopg.adapt import Dumper
from sqlalchemy import JSON, Table

from app.extensions import db


class _EnumValue(Dumper):
    """Enums as their values (psycopg writes a plain Enum's name)."""

    def dump(self, obj: Enum) -> bytes:
        return str(obj.value).encode()


def insert_rows(table: Table, rows: Iterable[dict[str, Any]], meanwhile: Callable[[], None] | None = None
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

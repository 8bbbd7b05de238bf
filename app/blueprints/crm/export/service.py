"""CSV export of a filtered list: streamed in keyset batches, so memory stays flat at any size.

The file re-imports without loss: the header row is ``ID``, then each field's label in English
(``Field.english``: what the import's mapping guess recognises whatever the importer's language, and
what programs reading the file expect), then ``Custom: <label>`` per custom field. References are
written as the value a person would type, which the service resolves again on import: company
name, contact email (the contact's id when it has no email), stage name, owner email, tags
joined with ", ".

Rows come in id order, not the list's sort order: keyset batches over the primary key are what
keep a million-row export cheap.

Formula injection: a cell that a spreadsheet would evaluate (it starts with ``= + - @``, a tab or
a carriage return) gets a leading ``'``. Plain signed numbers are left alone, so phone numbers in
E.164 (``+442079460958``) and negative values stay as they are; ``+1+cmd|...`` does not.
``unescape_cell`` is the exact inverse, for the import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from app.blueprints.auth.public import User
from app.blueprints.crm.models import Company, Contact, CustomField, Deal, Entity, Tag
from app.blueprints.crm.records.fields import FIELDS
from app.blueprints.crm.records.queries import ListQuery, filtered
from app.blueprints.crm.records.service import custom_fields, model_for
from app.extensions import db

ID_HEADER = "ID"
CUSTOM_PREFIX = "Custom: "
BATCH = 2000

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def _looks_like_formula(text: str) -> bool:
    bare = text.lstrip("'")
    return bare.startswith(_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(bare)


def escape_cell(text: str) -> str:
    """``text`` made inert for spreadsheet programs (a leading ``'`` when it could be a formula)."""
    return "'" + text if _looks_like_formula(text) else text


def unescape_cell(text: str) -> str:
    """The inverse of ``escape_cell``: ``unescape_cell(escape_cell(t)) == t`` for every ``t``."""
    return text[1:] if text.startswith("'") and _looks_like_formula(text) else text


def headers(entity: str, definitions: list[CustomField]) -> list[str]:
    return [ID_HEADER, *(f.english for f in FIELDS[entity] if f.exportable),
            *(f"{CUSTOM_PREFIX}{d.label}" for d in definitions)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)  # Decimal included: str keeps its exact digits


def _row_select(entity: str):
    """One row per record: plain columns plus the human value of each reference."""
    model = model_for(entity)
    columns = [model.id.label("id"), model.custom.label("custom"), User.email.label("owner")]
    columns += [getattr(model, f.name).label(f.name) for f in FIELDS[entity] if f.reference is None]
    stmt_joins = [(User, User.id == model.owner_id)]
    if entity in (Entity.CONTACT, Entity.DEAL):
        columns.append(Company.name.label("company"))
        stmt_joins.append((Company, Company.id == model.company_id))
    if entity == Entity.DEAL:
        stage = Deal.stage.property.mapper.class_  # the pipeline's stage, through the deal's own link
        columns += [Contact.email.label("contact_email"), Deal.contact_id.label("contact_id"),
                    stage.name.label("stage")]
        stmt_joins += [(Contact, Contact.id == Deal.contact_id), (stage, stage.id == Deal.stage_id)]
    stmt = select(*columns).select_from(model)
    for target, onclause in stmt_joins:
        stmt = stmt.outerjoin(target, onclause)
    return stmt, model


def _tags(entity: str, ids: list[int]) -> dict[int, list[str]]:
    table = model_for(entity).tags.property.secondary
    owner_column = table.c[f"{entity}_id"]
    found: dict[int, list[str]] = {}
    rows = db.session.execute(select(owner_column, Tag.name).join(Tag, Tag.id == table.c.tag_id)
                              .where(owner_column.in_(ids)).order_by(Tag.name))
    for record_id, name in rows:
        found.setdefault(record_id, []).append(name)
    return found


def _cells(entity: str, row: Any, tags: list[str], definitions: list[CustomField]) -> list[str]:
    cells = [str(row.id)]
    for f in FIELDS[entity]:
        if not f.exportable:
            continue
        if f.reference == "tags":
            value = ", ".join(tags)
        elif f.reference == "contact":
            value = row.contact_email or (str(row.contact_id) if row.contact_id else "")
        else:  # plain columns, and the owner / company / stage names the select labelled so
            value = getattr(row, f.name)
        cells.append(escape_cell(_text(value)))
    custom = row.custom or {}
    cells += [escape_cell(_text(custom.get(d.key))) for d in definitions]
    return cells


def export_csv(org_id: int, entity: str, query: ListQuery, batch: int = BATCH) -> Iterator[str]:
    """CSV text chunks (the header, then one chunk per batch of rows) of every record ``query``
    matches in ``org_id``, ignoring its pagination. Reads in keyset batches of ``batch`` ids."""
    definitions = custom_fields(org_id, entity)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in headers(entity, definitions)])
    yield buffer.getvalue()
    rows_stmt, model = _row_select(entity)
    ids_stmt = filtered(org_id, entity, query).with_only_columns(model.id).order_by(model.id)
    last = 0
    while True:
        ids = list(db.session.scalars(ids_stmt.where(model.id > last).limit(batch)))
        if not ids:
            return
        last = ids[-1]
        tags = _tags(entity, ids)
        rows = db.session.execute(rows_stmt.where(model.id.in_(ids)).order_by(model.id))
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow(_cells(entity, row, tags.get(row.id, []), definitions))
        yield buffer.getvalue()
        if len(ids) < batch:
            return

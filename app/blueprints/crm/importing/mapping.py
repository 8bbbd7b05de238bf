"""Mapping: matching column headers to fields, and checking and queueing a mapped import."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import BinaryIO

from app.blueprints.crm.export.service import CUSTOM_PREFIX
from app.blueprints.crm.models import Import, ImportStatus
from app.blueprints.crm.records.fields import FIELDS
from app.blueprints.crm.records.service import custom_fields
from app.blueprints.team.public import Membership, Permission, require
from app.errors import Conflict, DomainError
from app.extensions import db
from app.jobs import Queues, enqueue_after_commit

from .upload import MAX_COLUMNS, _entity, start_import

POLICIES = ("skip", "update", "create")
POLICY_LABELS = {"skip": "Skip rows that match an existing record",
                 "update": "Update the matching record with the row's non-blank values",
                 "create": "Always create a new record"}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-.:*]+", " ", text.strip().lower()).strip()


def field_choices(org_id: int, entity: str) -> list[tuple[str, str]]:
    """(field key, label) for every field a column may fill; custom fields are ``custom.<key>``."""
    entity = _entity(entity)
    choices = [(f.name, f.label) for f in FIELDS[entity]]
    choices += [(f"custom.{c.key}", c.label) for c in custom_fields(org_id, entity)]
    return choices


def guess_mapping(org_id: int, entity: str, headers: Iterable[str]) -> dict[str, str]:
    """header -> field key ("" = ignored), matching names and labels before aliases; each field once."""
    entity = _entity(entity)
    exact: dict[str, str] = {}
    loose: dict[str, str] = {}
    for f in FIELDS[entity]:
        exact.setdefault(_norm(f.name), f.name)
        exact.setdefault(_norm(f.label), f.name)
    for c in custom_fields(org_id, entity):
        exact.setdefault(_norm(c.label), f"custom.{c.key}")
        exact.setdefault(_norm(c.key), f"custom.{c.key}")
        exact.setdefault(_norm(f"{CUSTOM_PREFIX}{c.label}"), f"custom.{c.key}")  # as our export writes it
    for f in FIELDS[entity]:
        for alias in f.aliases:
            loose.setdefault(_norm(alias), f.name)
    mapping = dict.fromkeys(headers, "")
    taken: set[str] = set()
    for table in (exact, loose):
        for header in mapping:
            key = table.get(_norm(header))
            if not mapping[header] and key and key not in taken:
                mapping[header] = key
                taken.add(key)
    return mapping


def queue_import(actor: Membership, imp: Import, mapping: dict[str, str], dedupe: str = "skip",
                 dry_run: bool = False) -> Import:
    """Check the mapping and policy, and queue the run (enqueued once the caller commits).

    Raises Conflict (already started), Forbidden (``update`` without RECORDS_EDIT_ALL) or
    DomainError (fields ``mapping`` / ``dedupe``) for an unknown column or field, a field mapped
    twice, or a required field left unmapped.
    """
    if imp.status != ImportStatus.UPLOADED:
        raise Conflict("This import has already been started.")
    if dedupe not in POLICIES:
        raise DomainError("Choose what to do with duplicates.", {"dedupe": f"One of: {', '.join(POLICIES)}."})
    if dedupe == "update":
        require(actor, Permission.RECORDS_EDIT_ALL)
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str | None)
                                                for k, v in mapping.items()):
        raise DomainError("The mapping must map column headers to field names.", {"mapping": "Not valid."})
    fields = dict(field_choices(imp.org_id, imp.entity))
    headers = set(imp.headers)  # sets and counts throughout: linear in the columns and the mapping
    unknown_columns = [h for h in mapping if h not in headers]
    if unknown_columns:
        message = f"The file has no column named {_some(unknown_columns)}."
        raise DomainError(message, {"mapping": message})
    chosen = {h: f for h, f in mapping.items() if f}
    uses = Counter(chosen.values())  # field -> how many columns it is mapped from
    unknown_fields = sorted(f for f in uses if f not in fields)
    if unknown_fields:
        message = f"Unknown field(s): {_some(unknown_fields)}."
        raise DomainError(message, {"mapping": message})
    doubled = sorted({fields[f] for f, n in uses.items() if n > 1})
    if doubled:
        message = f"Map each field from one column only: {', '.join(doubled)}."
        raise DomainError(message, {"mapping": message})
    if not chosen:
        raise DomainError("Map at least one column to a field.", {"mapping": "Nothing is mapped."})
    missing = [f.label for f in FIELDS[imp.entity] if f.required and f.name not in uses]
    if missing:
        message = f"Map a column to {', '.join(missing)}: it is required."
        raise DomainError(message, {"mapping": message})
    imp.mapping, imp.dedupe, imp.dry_run = chosen, dedupe, bool(dry_run)
    imp.status = ImportStatus.QUEUED.value
    db.session.flush()
    enqueue_after_commit(Queues.IMPORTS, "app.blueprints.crm.importing.jobs.run_import", imp.id,
                         job_timeout=3 * 3600)
    return imp


def _some(names: list[str], shown: int = 5) -> str:
    """The first few names, and how many more (a mapping from an API client may name thousands)."""
    listed = ", ".join(names[:shown])
    return f"{listed} and {len(names) - shown:,} more" if len(names) > shown else listed


def import_file(actor: Membership, entity: str, filename: str, stream: BinaryIO,
                mapping: dict[str, str] | None = None, dedupe: str = "skip", dry_run: bool = False) -> Import:
    """Upload and queue in one step (the API); without a mapping the guessed one is used.

    Raises what ``start_import`` and ``queue_import`` raise; a mapping naming more columns than a
    file may have is refused (DomainError, field ``mapping``) before the upload is stored, so that
    checking it never runs while the stored upload's transaction is open.
    """
    if isinstance(mapping, dict) and len(mapping) > MAX_COLUMNS:
        message = f"The mapping names {len(mapping):,} columns; a file has at most {MAX_COLUMNS}."
        raise DomainError(message, {"mapping": message})
    imp = start_import(actor, entity, filename, stream)
    if mapping is None:
        mapping = guess_mapping(actor.org_id, imp.entity, imp.headers)
    return queue_import(actor, imp, mapping, dedupe, dry_run)

"""CSV import of contacts, companies and deals: upload, preview, mapping, and the run itself.

Flask-free, like every service: explicit actor, flush, never commit. The run is a generator of
batches (``import_batches``) so that its caller, the RQ job, commits after each one.

- **Upload** (``start_import``): the file is stored as it came, in ``ImportChunk`` rows (web and
  worker may run on different machines). Its encoding is found from a byte-order mark (UTF-8,
  UTF-16 LE/BE as Excel writes it), else UTF-16 without a mark from where its zero bytes fall,
  else UTF-8 if every byte decodes, else Windows-1252. The delimiter (``, ; tab |``) is sniffed.
  Empty, header-only, binary and workbook files are refused with a message saying what to do.
- **Mapping** (``guess_mapping``): column headers are matched to field names, labels, aliases and
  custom field labels; a person confirms it on the mapping screen (the API uses it as is).
- **Dedupe**: contacts match on normalized email, Telegram user id, Telegram username or phone
  (the first that matches wins); companies on domain when the row has one, else on the lower-cased
  name; deals on the lower-cased title together with the contact when a contact column is mapped,
  else on the title alone. Rows match live records and earlier rows of the same file.
  ``skip`` counts a matching row skipped; ``update`` writes the row's non-blank values into the
  match (tags are added; a row that changes nothing counts skipped); ``create`` always creates.
  Importing the same file twice with ``skip`` or ``update`` therefore creates nothing new.
- **Permissions**: any member may import with ``skip`` or ``create`` (new records belong to the
  importer unless an owner column says otherwise, as with the create form); ``update`` overwrites
  records other people own, so it needs ``Permission.RECORDS_EDIT_ALL``.
- **References**: companies named in a contact or deal row are found by name (or id) and created
  when missing, as the record form does; those companies are not counted in the import's figures.
  Owners are members' emails (or ids), stages the default pipeline's stage names (or ids), a deal's
  contact an email (or id); an unknown one rejects the row.
- **Counts**: every data row ends up created, updated, skipped or rejected; the figures are the
  rows written, and each created or updated record gets a timeline entry naming the import.
  Rejected rows are kept (``ImportRejection``) with their reasons and cells for the CSV download.
- **Dry run**: the same work, counted and rejected rows recorded, but no record is written.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Any, BinaryIO

from sqlalchemy import JSON, String, Table, any_, delete, func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import NullType

from app.blueprints.auth.models import User
from app.blueprints.crm import normalize
from app.blueprints.crm.export import CUSTOM_PREFIX, unescape_cell
from app.blueprints.crm.fields import FIELDS, Field, parse_custom
from app.blueprints.crm.models import (
    Activity,
    Company,
    Contact,
    Deal,
    DealStatus,
    Entity,
    Import,
    ImportChunk,
    ImportRejection,
    ImportStatus,
    Tag,
    company_tag,
    contact_tag,
    deal_tag,
)
from app.blueprints.crm.service import custom_fields, model_for, search_text_from
from app.blueprints.pipeline.models import Stage, StageKind
from app.blueprints.pipeline.service import default_pipeline
from app.blueprints.team.models import Membership
from app.blueprints.team.permissions import Permission, require
from app.db_types import utcnow
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.jobs import Queues, enqueue_after_commit
from app.tenancy import get_in_org

CHUNK_BYTES = 1 << 20  # one ImportChunk row
BATCH_ROWS = 2000  # rows looked up, written and committed together
PREVIEW_ROWS = 5
MAX_RAW_CELL = 32_768  # a rejected row's cells are kept up to this many characters each
POLICIES = ("skip", "update", "create")
POLICY_LABELS = {"skip": "Skip rows that match an existing record",
                 "update": "Update the matching record with the row's non-blank values",
                 "create": "Always create a new record"}
ENTITY_PATHS = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY, "deals": Entity.DEAL}
ENTITY_NAMES = {Entity.CONTACT: "contacts", Entity.COMPANY: "companies", Entity.DEAL: "deals"}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)", "utf-16": "UTF-16",
                   "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "cp1252": "Windows-1252"}
TAG_TABLES = {Entity.CONTACT: contact_tag, Entity.COMPANY: company_tag, Entity.DEAL: deal_tag}
# Control characters text never holds (tab, newlines, form feed, vertical tab and ^Z are allowed).
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_PLAIN_EMAIL = re.compile(r"([a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
                          r"@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")
IDENTITY = ("first_name", "last_name", "email", "phone", "telegram_username", "telegram_user_id")

csv.field_size_limit(1 << 30)  # a huge cell is rejected by its field's length rule, not by csv


# -- upload ------------------------------------------------------------------------------------

class _EncodingCheck:
    """Finds the encoding while the upload streams through: every candidate must decode it all."""

    def __init__(self) -> None:
        self.candidates: list[str] | None = None
        self.decoders: dict[str, codecs.IncrementalDecoder] = {}
        self.binary = False

    def feed(self, data: bytes) -> None:
        if self.candidates is None:
            self.candidates = _candidate_encodings(data)
            self.decoders = {name: codecs.getincrementaldecoder(name)() for name in self.candidates}
        if not self.candidates[0].startswith("utf-16") and _CONTROL_BYTES.search(data):
            self.binary = True
        for name in list(self.candidates):
            try:
                text = self.decoders[name].decode(data)
            except UnicodeDecodeError:
                self.candidates.remove(name)
                if not self.candidates:
                    return
                continue
            if name.startswith("utf-16") and _CONTROL_CHARS.search(text):
                self.binary = True

    def result(self) -> str | None:
        for name in list(self.candidates or ()):
            try:
                self.decoders[name].decode(b"", final=True)
            except UnicodeDecodeError:
                self.candidates.remove(name)
        return self.candidates[0] if self.candidates else None


def _candidate_encodings(head: bytes) -> list[str]:
    if head.startswith(codecs.BOM_UTF8):
        return ["utf-8-sig"]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ["utf-16"]
    sample = head[:4096]
    even, odd = sample[0::2].count(b"\x00"), sample[1::2].count(b"\x00")
    # UTF-16 without its mark: zero bytes (the high half of ASCII) on one side only
    if odd > len(sample) // 10 and even <= odd // 50:
        return ["utf-16-le"]
    if even > len(sample) // 10 and odd <= even // 50:
        return ["utf-16-be"]
    return ["utf-8", "cp1252"]


def start_import(actor: Membership, entity: str, filename: str, stream: BinaryIO) -> Import:
    """Store an uploaded CSV and read its header and first rows.

    Raises DomainError (field ``file``) for an empty, header-only, binary or unreadable file.
    """
    entity = _entity(entity)
    imp = Import(org_id=actor.org_id, entity=entity, filename=(filename or "upload.csv")[-255:],
                 created_by_id=actor.user_id, status=ImportStatus.UPLOADED.value, headers=[], mapping={})
    db.session.add(imp)
    db.session.flush()
    check = _EncodingCheck()
    size = 0
    for seq in itertools.count():
        data = stream.read(CHUNK_BYTES)
        if not data:
            break
        if seq == 0 and data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise _file_error("This looks like an Excel workbook. Save it as CSV (File > Save As > "
                              "CSV UTF-8) and upload that.")
        check.feed(data)
        if check.binary:
            raise _file_error("This does not look like a CSV file (it contains binary data).")
        size += len(data)
        db.session.execute(insert(ImportChunk), [{"import_id": imp.id, "seq": seq, "data": data}])
    if size == 0:
        raise _file_error("The file is empty. Upload a CSV whose first row names the columns.")
    encoding = check.result()
    if encoding is None:
        raise _file_error("The file's text encoding could not be read. Save it as CSV UTF-8 and "
                          "upload it again.")
    imp.size_bytes, imp.encoding = size, encoding
    imp.delimiter = _sniff_delimiter(_sample_text(imp))
    rows = _records(imp)
    header = next(rows, None)
    if header is None or not any(cell.strip() for cell in header[1]):
        raise _file_error("The file has no header row. Its first row should name the columns.")
    imp.headers = _unique_headers(header[1])
    if next(_data_rows(imp), None) is None:
        raise _file_error("The file has a header but no rows to import.")
    db.session.flush()
    return imp


def _file_error(message: str) -> DomainError:
    return DomainError(message, {"file": message})


def _entity(entity: str) -> Entity:
    entity = ENTITY_PATHS.get(entity, entity)
    try:
        return Entity(entity)
    except ValueError:
        raise NotFound("No such kind of record.") from None


def _sample_text(imp: Import, limit: int = 65_536) -> str:
    first = db.session.scalar(select(ImportChunk.data).where(ImportChunk.import_id == imp.id)
                              .order_by(ImportChunk.seq).limit(1)) or b""
    return codecs.getincrementaldecoder(imp.encoding)(errors="ignore").decode(first[:limit])


def _sniff_delimiter(sample: str) -> str:
    lines = sample.lstrip("\ufeff").splitlines()[:20]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    text = "\n".join(lines)
    try:
        delimiter = csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = None
    header = lines[0] if lines else ""
    if delimiter is None or header.count(delimiter) == 0:
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        delimiter = best if counts[best] else ","
    return delimiter


def _unique_headers(cells: list[str]) -> list[str]:
    headers: list[str] = []
    for n, cell in enumerate(cells, 1):
        name = cell.strip().lstrip("\ufeff")[:200] or f"Column {n}"
        base, k = name, 2
        while name in headers:
            name, k = f"{base} ({k})", k + 1
        headers.append(name)
    return headers


# -- reading the stored file -------------------------------------------------------------------

class _ChunkStream(io.RawIOBase):
    """The stored chunks as one byte stream, loaded one chunk at a time (constant memory)."""

    def __init__(self, import_id: int) -> None:
        self._ids = iter(list(db.session.scalars(
            select(ImportChunk.id).where(ImportChunk.import_id == import_id).order_by(ImportChunk.seq))))
        self._data = memoryview(b"")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self._pos >= len(self._data):
            chunk_id = next(self._ids, None)
            if chunk_id is None:
                return 0
            data = db.session.scalar(select(ImportChunk.data).where(ImportChunk.id == chunk_id))
            self._data = memoryview(data or b"")
            self._pos = 0
        n = min(len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def _records(imp: Import) -> Iterator[tuple[int, list[str]]]:
    """Every CSV record with its row number (the header is row 1, as in a spreadsheet)."""
    text = io.TextIOWrapper(io.BufferedReader(_ChunkStream(imp.id), 1 << 16), encoding=imp.encoding,
                            newline="")
    reader = csv.reader(text, delimiter=imp.delimiter or ",")
    for number, row in enumerate(reader, 1):
        if number == 1 and row:
            row[0] = row[0].lstrip("\ufeff")
        yield number, row


def _data_rows(imp: Import) -> Iterator[tuple[int, list[str]]]:
    """The data rows; wholly blank rows are passed over (they are neither counted nor rejected)."""
    rows = _records(imp)
    next(rows, None)
    for number, row in rows:
        if any(cell.strip() for cell in row):
            yield number, row


@dataclass
class Preview:
    headers: list[str]
    rows: list[list[str]]
    encoding: str
    encoding_note: str | None
    delimiter: str


def preview(imp: Import, limit: int = PREVIEW_ROWS) -> Preview:
    rows = [[cell[:200] for cell in row] for _, row in itertools.islice(_data_rows(imp), limit)]
    note = None
    if imp.encoding == "cp1252":
        note = ("The file is not UTF-8, so it was read as Windows-1252. If letters look wrong below, "
                "save it as CSV UTF-8 and upload it again.")
    delimiter = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(imp.delimiter or ",", "comma")
    return Preview(headers=list(imp.headers), rows=rows, encoding=ENCODING_LABELS.get(imp.encoding or "",
                   imp.encoding or ""), encoding_note=note, delimiter=delimiter)


# -- mapping -----------------------------------------------------------------------------------

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
    unknown_columns = [h for h in mapping if h not in imp.headers]
    if unknown_columns:
        message = f"The file has no column named {', '.join(unknown_columns)}."
        raise DomainError(message, {"mapping": message})
    chosen = {h: f for h, f in mapping.items() if f}
    unknown_fields = sorted({f for f in chosen.values() if f not in fields})
    if unknown_fields:
        message = f"Unknown field(s): {', '.join(unknown_fields)}."
        raise DomainError(message, {"mapping": message})
    doubled = sorted({fields[f] for f in chosen.values() if list(chosen.values()).count(f) > 1})
    if doubled:
        message = f"Map each field from one column only: {', '.join(doubled)}."
        raise DomainError(message, {"mapping": message})
    if not chosen:
        raise DomainError("Map at least one column to a field.", {"mapping": "Nothing is mapped."})
    missing = [f.label for f in FIELDS[imp.entity] if f.required and f.name not in chosen.values()]
    if missing:
        message = f"Map a column to {', '.join(missing)}: it is required."
        raise DomainError(message, {"mapping": message})
    imp.mapping, imp.dedupe, imp.dry_run = chosen, dedupe, bool(dry_run)
    imp.status = ImportStatus.QUEUED.value
    db.session.flush()
    enqueue_after_commit(Queues.IMPORTS, "app.blueprints.crm.import_jobs.run_import", imp.id,
                         job_timeout=3 * 3600)
    return imp


def import_file(actor: Membership, entity: str, filename: str, stream: BinaryIO,
                mapping: dict[str, str] | None = None, dedupe: str = "skip", dry_run: bool = False) -> Import:
    """Upload and queue in one step (the API); without a mapping the guessed one is used."""
    imp = start_import(actor, entity, filename, stream)
    if mapping is None:
        mapping = guess_mapping(actor.org_id, imp.entity, imp.headers)
    return queue_import(actor, imp, mapping, dedupe, dry_run)


# -- reading imports ---------------------------------------------------------------------------

def get_import(org_id: int, import_id: int) -> Import:
    """Raises NotFound for a missing or another organization's import."""
    return get_in_org(Import, import_id, org_id, "Import")


def list_imports(org_id: int, limit: int = 50) -> list[Import]:
    return list(db.session.scalars(select(Import).where(Import.org_id == org_id)
                                   .order_by(Import.id.desc()).limit(limit)))


def finished(imp: Import) -> bool:
    return imp.status in (ImportStatus.DONE, ImportStatus.FAILED)


def percent(imp: Import) -> int:
    if imp.status == ImportStatus.DONE:
        return 100
    return int(100 * imp.processed_rows / imp.total_rows) if imp.total_rows else 0


def rejected_csv(imp: Import, page: int = 1000) -> Iterator[str]:
    """The rejected rows as CSV text pieces: the file's header plus ``row`` and ``reason`` columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*imp.headers, "row", "reason"])
    yield "\ufeff" + out.getvalue()  # the mark makes Excel read UTF-8
    last = 0
    while True:
        rows = db.session.execute(
            select(ImportRejection.id, ImportRejection.row_number, ImportRejection.reason,
                   ImportRejection.raw)
            .where(ImportRejection.import_id == imp.id, ImportRejection.id > last)
            .order_by(ImportRejection.id).limit(page)).all()
        if not rows:
            return
        out.seek(0)
        out.truncate()
        for row in rows:
            writer.writerow([*row.raw, row.row_number, row.reason])
        last = rows[-1].id
        yield out.getvalue()


# -- the run -----------------------------------------------------------------------------------

def import_batches(import_id: int) -> Iterator[Import]:
    """Run a queued import, yielding after each batch of rows so the caller commits it.

    Counts and ``processed_rows`` on the Import row are current at each yield. Raises DomainError
    when the member who started it has left the organization. A finished import is left alone.
    """
    imp = db.session.get(Import, import_id)
    if imp is None or imp.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return
    actor = db.session.scalar(select(Membership).where(Membership.org_id == imp.org_id,
                                                       Membership.user_id == imp.created_by_id))
    if actor is None:
        raise DomainError("The member who started this import is no longer in the organization.")
    if imp.dedupe == "update":
        require(actor, Permission.RECORDS_EDIT_ALL)
    db.session.execute(delete(ImportRejection).where(ImportRejection.import_id == imp.id))
    imp.status, imp.started_at, imp.finished_at, imp.error = ImportStatus.RUNNING.value, utcnow(), None, None
    imp.processed_rows = imp.created_count = imp.updated_count = imp.skipped_count = imp.rejected_count = 0
    imp.total_rows = sum(1 for _ in _data_rows(imp))
    if db.session.get_bind().dialect.name == "sqlite":
        # The indexes (FTS5 trigram and the btrees) write less with a bigger page cache than
        # SQLite's 2 MB default; this lasts as long as the pooled connection.
        db.session.execute(text("PRAGMA cache_size = -65536"))
    db.session.flush()
    yield imp
    run = _Run(imp, actor)
    rows = _data_rows(imp)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    cleaned = run.clean(list(itertools.islice(rows, BATCH_ROWS)))
    for number in itertools.count(1):
        if not cleaned:
            break
        if postgres:
            # A batch's commit need not wait for the disk: a crash can lose only the last batches,
            # each whole with its counts (the Import row is in the same transaction), and running
            # the import again completes it.
            db.session.execute(text("SET LOCAL synchronous_commit = off"))
        upcoming = _Upcoming(run, list(itertools.islice(rows, BATCH_ROWS)))
        run.batch(cleaned, meanwhile=upcoming)
        cleaned = upcoming.rows()
        if postgres and number & (number - 1) == 0:
            # The table grows fast: refresh its statistics (after batches 1, 2, 4, 8...) so the
            # planner keeps using the (org, key) indexes for the dedupe lookups.
            db.session.execute(text(f"ANALYZE {run.table.name}"))
        db.session.flush()
        yield imp
    imp.status, imp.finished_at = ImportStatus.DONE.value, utcnow()
    db.session.flush()
    yield imp


def fail_import(import_id: int, message: str) -> None:
    imp = db.session.get(Import, import_id)
    if imp is not None:
        imp.status, imp.finished_at, imp.error = ImportStatus.FAILED.value, utcnow(), message[:2000]
        db.session.flush()


class _Upcoming:
    """The next batch, read; cleaned at the first call (``_Run.batch`` calls it while the database
    indexes the current batch's records, so that the two overlap).

    Read beforehand because reading uses the database connection (the stored chunks).
    """

    def __init__(self, run: _Run, batch: list[tuple[int, list[str]]]) -> None:
        self._run, self._batch, self._rows = run, batch, None

    def __call__(self) -> None:
        if self._rows is None:
            self._rows = self._run.clean(self._batch)

    def rows(self) -> list[_Row]:
        self()
        return self._rows


@dataclass(frozen=True)
class _FieldDef:
    """A custom field's definition as plain values (ORM rows expire at every batch's commit)."""

    key: str
    label: str
    kind: str
    options: list[str]


@dataclass
class _Row:
    number: int
    cells: list[str]
    values: dict[str, Any]  # column values (references resolved to ids); None = blank
    custom: dict[str, Any]
    tags: list[str]  # lower-cased tag names
    errors: list[str]
    keys: list[tuple] = field(default_factory=list)  # dedupe keys, once references are resolved


class _Run:
    """One import's state: reference caches, the policy, and (for dry runs) what it would create."""

    def __init__(self, imp: Import, actor: Membership) -> None:
        self.imp, self.actor, self.org_id = imp, actor, imp.org_id
        self.entity = Entity(imp.entity)
        self.model = model_for(self.entity)
        self.table = self.model.__table__
        self.dry = imp.dry_run
        self.policy = imp.dedupe
        index = {h: i for i, h in enumerate(imp.headers)}
        self.columns = [(index[h], f) for h, f in imp.mapping.items() if h in index]
        mapped = {f for _, f in self.columns}
        self.email_domains: dict[str, bool] = {}
        self.width = len(imp.headers)
        by_field = {f: i for i, f in self.columns}
        self.plan = [(f, by_field[f.name]) for f in FIELDS[self.entity] if f.name in by_field]
        self.custom_defs = [_FieldDef(c.key, c.label, c.kind, list(c.options or ()))
                            for c in custom_fields(self.org_id, self.entity) if f"custom.{c.key}" in mapped]
        self.custom_plan = [(d, by_field[f"custom.{d.key}"]) for d in self.custom_defs]
        self.fields: dict[str, Field] = {f.name: f for f in FIELDS[self.entity]}
        self.contact_mapped = "contact" in mapped
        self.owners = self._load_owners()
        self.companies: dict[str, int] = {}  # lower(name) -> id
        self.company_names: dict[int, str] = {}
        self.contact_names: dict[int, str] = {}
        self.contact_keys: dict[str, int] = {}  # lower(email) or str(id) -> contact id
        self.tags: dict[str, int] = {}
        self.tag_names: dict[str, str] = {}
        self.stages_by_name, self.stages_by_id, self.first_stage = self._load_stages()
        self.fake_ids = itertools.count(-1, -1)
        self.seen: dict[tuple, int] = {}  # dedupe key -> record id (negative: not written, dry run)
        self.dry_values: dict[int, dict[str, Any]] = {}  # dry run: what a not-written record holds

    # references ------------------------------------------------------------------------------

    def _load_owners(self) -> dict[str, int]:
        owners: dict[str, int] = {}
        for user_id, email in db.session.execute(
                select(User.id, User.email).join(Membership, Membership.user_id == User.id)
                .where(Membership.org_id == self.org_id)):
            owners[str(user_id)] = user_id
            owners[email.lower()] = user_id
        return owners

    def _load_stages(self) -> tuple[dict[str, Stage], dict[int, Stage], Stage | None]:
        if self.entity != Entity.DEAL:
            return {}, {}, None
        pipeline = default_pipeline(self.org_id)
        by_id = {s.id: s for s in db.session.scalars(select(Stage).where(Stage.org_id == self.org_id))}
        by_name: dict[str, Stage] = {}
        for stage in pipeline.stages:
            by_name.setdefault(stage.name.lower(), stage)
        return by_name, by_id, pipeline.stages[0] if pipeline.stages else None

    def _lookup_companies(self, rows: list[_Row]) -> None:
        names = {str(r.values["company"]).strip()[:200].lower() for r in rows
                 if r.values.get("company") is not None and not str(r.values["company"]).strip().isdigit()}
        ids = {int(str(r.values["company"]).strip()) for r in rows
               if r.values.get("company") is not None and str(r.values["company"]).strip().isdigit()}
        names -= self.companies.keys()
        ids -= self.company_names.keys()
        for part in _parts(sorted(names)):
            for cid, name in db.session.execute(
                    select(Company.id, Company.name).where(
                        Company.org_id == self.org_id, Company.deleted_at.is_(None),
                        func.lower(Company.name).in_(part))):
                if cid < self.companies.get(name.lower(), cid + 1):  # the oldest, as the form picks
                    self.companies[name.lower()] = cid
                self.company_names[cid] = name
        for part in _parts(sorted(ids)):
            for cid, name in db.session.execute(select(Company.id, Company.name).where(
                    Company.org_id == self.org_id, Company.deleted_at.is_(None), Company.id.in_(part))):
                self.company_names[cid] = name

    def _lookup_contacts(self, rows: list[_Row]) -> None:
        wanted = {str(r.values["contact"]).strip().lower() for r in rows
                  if r.values.get("contact") is not None}
        wanted -= self.contact_keys.keys()
        ids = sorted(int(v) for v in wanted if v.isdigit())
        emails = sorted(v for v in wanted if not v.isdigit())
        cols = (Contact.id, Contact.deleted_at, Contact.first_name, Contact.last_name, Contact.email,
                Contact.telegram_username, Contact.phone)
        base = select(*cols).where(Contact.org_id == self.org_id)
        for part in _parts(ids):
            for row in db.session.execute(base.where(Contact.id.in_(part))):
                if row.deleted_at is None:
                    self.contact_keys[str(row.id)] = row.id
                    self.contact_names[row.id] = _contact_name(row)
        for part in _parts(emails):
            for row in db.session.execute(base.where(Contact.email.in_(part))):
                if row.deleted_at is None and row.id < self.contact_keys.get(row.email, row.id + 1):
                    self.contact_keys[row.email] = row.id
                    self.contact_names[row.id] = _contact_name(row)

    def _names_for(self, company_ids: Iterable[int | None], contact_ids: Iterable[int | None]) -> None:
        missing = sorted({i for i in company_ids if i and i > 0 and i not in self.company_names})
        for part in _parts(missing):
            for cid, name in db.session.execute(select(Company.id, Company.name).where(Company.id.in_(part))):
                self.company_names[cid] = name
        missing = sorted({i for i in contact_ids if i and i > 0 and i not in self.contact_names})
        for part in _parts(missing):
            for row in db.session.execute(select(Contact.id, Contact.first_name, Contact.last_name,
                                                 Contact.email, Contact.telegram_username, Contact.phone)
                                          .where(Contact.id.in_(part))):
                self.contact_names[row.id] = _contact_name(row)

    def _resolve(self, row: _Row) -> None:
        """Turn reference cells into ids (companies are created later, for rows that are written)."""
        values = row.values
        if "owner" in values:
            owner = values.pop("owner")
            if owner is None:
                values["owner_id"] = None
            else:
                key = str(owner).strip().lower()
                if key in self.owners:
                    values["owner_id"] = self.owners[key]
                else:
                    row.errors.append(f"Owner: {owner} is not a member of this organization.")
        if "company" in values:
            company = values.pop("company")
            text = str(company).strip() if company is not None else ""
            if not text:
                values["company_id"] = None
            elif text.isdigit():
                if int(text) in self.company_names:
                    values["company_id"] = int(text)
                else:
                    row.errors.append(f"Company: no company has id {text}.")
            else:
                values["company_id"] = ("new", text[:200])  # found or created in _create_companies
        if "contact" in values:
            contact = values.pop("contact")
            if contact is None:
                values["contact_id"] = None
            else:
                found = self.contact_keys.get(str(contact).strip().lower())
                if found is None:
                    row.errors.append(f"Contact: no contact with email or id {contact}.")
                else:
                    values["contact_id"] = found
        if "stage" in values:
            stage = values.pop("stage")
            if stage is not None:
                text = str(stage).strip()
                found = (self.stages_by_id.get(int(text)) if text.isdigit()
                         else self.stages_by_name.get(text.lower()))
                if found is None:
                    row.errors.append(f"Stage: no stage named {stage} in the default pipeline.")
                else:
                    values["stage_id"] = found.id

    def _create_companies(self, rows: list[_Row]) -> None:
        """Fill ``company_id`` of written rows, creating the companies nobody has yet."""
        wanted: dict[str, str] = {}
        for row in rows:
            ref = row.values.get("company_id")
            if isinstance(ref, tuple) and ref[1].lower() not in self.companies:
                wanted.setdefault(ref[1].lower(), ref[1])
        if wanted:
            now = utcnow()
            new = [{"org_id": self.org_id, "name": name, "custom": {}, "owner_id": self.actor.user_id,
                    "search_text": search_text_from(Entity.COMPANY, {"name": name}),
                    "created_at": now, "updated_at": now} for name in wanted.values()]
            ids = self._insert(Company, new)
            for (key, name), cid in zip(wanted.items(), ids, strict=True):
                self.companies[key], self.company_names[cid] = cid, name
            if not self.dry:
                _log(self.org_id, self.actor.user_id, Entity.COMPANY, ids, "created",
                     {"source": "import", "import_id": self.imp.id})
        for row in rows:
            ref = row.values.get("company_id")
            if isinstance(ref, tuple):
                row.values["company_id"] = self.companies[ref[1].lower()]

    def _tag_ids(self, rows: list[_Row]) -> None:
        wanted: dict[str, str] = {}
        for row in rows:
            for key in row.tags:
                if key not in self.tags:
                    wanted.setdefault(key, self.tag_names[key])
        if not wanted:
            return
        for part in _parts(sorted(wanted)):
            for tid, name in db.session.execute(select(Tag.id, Tag.name).where(
                    Tag.org_id == self.org_id, func.lower(Tag.name).in_(part))):
                self.tags[name.lower()] = tid
        missing = [(k, n) for k, n in wanted.items() if k not in self.tags]
        if missing:
            ids = self._insert(Tag, [{"org_id": self.org_id, "name": n} for _, n in missing])
            for (key, _), tid in zip(missing, ids, strict=True):
                self.tags[key] = tid

    def _insert(self, model, rows: list[dict[str, Any]], meanwhile: Callable[[], None] | None = None
                ) -> list[int]:
        """Insert ``rows`` in bulk (running ``meanwhile`` as ``_write_rows`` does); their new ids."""
        if self.dry:
            return [next(self.fake_ids) for _ in rows]
        table = model.__table__
        if db.session.get_bind().dialect.name == "postgresql":
            ids = list(db.session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                {"t": table.name, "n": len(rows)}))
        else:
            # SQLite returns a batch's ids in no promised order (SQLAlchemy would insert row by row),
            # but it has one writer at a time: once this transaction has written, the ids after
            # max(id) stay ours until it commits.
            db.session.execute(update(Import).where(Import.id == self.imp.id)
                               .values(processed_rows=Import.processed_rows)
                               .execution_options(synchronize_session=False))
            start = (db.session.scalar(select(func.max(model.id))) or 0) + 1
            ids = list(range(start, start + len(rows)))
            with _bulk_search_index(table, start, start + len(rows) - 1):
                _write_rows(table, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)], meanwhile)
            return ids
        _write_rows(table, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)], meanwhile)
        return ids

    # a batch ---------------------------------------------------------------------------------

    def clean(self, batch: list[tuple[int, list[str]]]) -> list[_Row]:
        """The batch's rows cleaned (no database work)."""
        return [self._clean(number, cells) for number, cells in batch]

    def batch(self, rows: list[_Row], meanwhile: Callable[[], None] = lambda: None) -> None:
        """Resolve, dedupe and write one batch of cleaned rows, and add them to the import's counts.

        ``meanwhile`` (work needing neither the database nor this batch, which may be called more
        than once) is called while the database digests the batch's new records, if it has any.
        """
        if any("company" in r.values for r in rows):
            self._lookup_companies(rows)
        if self.contact_mapped:
            self._lookup_contacts(rows)
        for row in rows:
            if not row.errors:
                self._resolve(row)
        good = [r for r in rows if not r.errors]
        if self.entity == Entity.DEAL:  # a deal's keys hold its resolved contact; others were made in clean
            for row in good:
                row.keys = self._keys(row)
        matches = self._find_matches(good) if self.policy != "create" else {}
        if not self.dry:
            self.seen = {}  # earlier batches are committed: the database answers for them
        creates: list[_Row] = []
        pending: dict[int, _Row] = {}  # negative placeholder -> the row that will create it
        updates: dict[int, list[_Row]] = {}  # record id -> rows whose values go into it
        skipped = 0
        placeholders = itertools.count(-10**12, -1)
        for row in good:
            keys = row.keys
            match = None
            if self.policy != "create":
                match = next((self.seen[k] for k in keys if k in self.seen), None)
                if match is None:
                    match = next((matches[k] for k in keys if k in matches), None)
            if match is None:
                placeholder = next(placeholders)
                creates.append(row)
                pending[placeholder] = row
                for key in keys:
                    self.seen.setdefault(key, placeholder)
            elif self.policy == "skip":
                skipped += 1
            else:
                updates.setdefault(match, []).append(row)
                for key in keys:
                    self.seen.setdefault(key, match)
        written = creates + [r for rs in updates.values() for r in rs]
        self._create_companies(written)
        self._tag_ids(written)
        created_ids = self._write_creates(creates, meanwhile)
        meanwhile()
        ids_by_placeholder = dict(zip(pending, created_ids, strict=True))
        for key, value in list(self.seen.items()):
            if value in ids_by_placeholder:
                self.seen[key] = ids_by_placeholder[value]
        merged: dict[int, list[_Row]] = {}
        for match, rs in updates.items():
            merged.setdefault(ids_by_placeholder.get(match, match), []).extend(rs)
        changed = self._write_updates(merged)
        rejected = [r for r in rows if r.errors]
        self._write_rejections(rejected)
        imp = self.imp
        imp.created_count += len(creates)
        imp.updated_count += changed
        imp.skipped_count += skipped + sum(len(rs) for rs in merged.values()) - changed
        imp.rejected_count += len(rejected)
        imp.processed_rows += len(rows)

    def _clean(self, number: int, cells: list[str]) -> _Row:
        errors: list[str] = []
        width = self.width
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            errors.append(f"The row has {len(cells)} cells but the header names {width} columns.")
        # What fields.clean(entity, row, custom, partial=True) does, unrolled over the mapped columns
        # only (tests hold the two to the same answers). unescape_cell undoes the formula guard our
        # export puts on cells such as "=Ada".
        n = len(cells)
        values: dict[str, Any] = {}
        for f, i in self.plan:
            cell = unescape_cell(cells[i]) if i < n else ""
            if not cell.strip() and f.reference != "tags":
                if f.required:
                    errors.append(f"{f.label} is required.")
                else:
                    values[f.name] = None
            elif f.reference:
                values[f.name] = cell
            elif f.name == "email" and (email := self._plain_email(cell)) is not None:
                values["email"] = email
            else:
                try:
                    values[f.name] = f.parse(cell) if f.parse else cell.strip()
                except ValueError as err:
                    errors.append(f"{f.label}: {err}.")
        custom: dict[str, Any] = {}
        for definition, i in self.custom_plan:
            cell = unescape_cell(cells[i]) if i < n else ""
            if cell.strip():
                try:
                    custom[definition.key] = parse_custom(definition, cell)
                except ValueError as err:
                    errors.append(f"{definition.label}: {err}.")
        tags: list[str] = []
        if "tags" in values:
            for name in str(values.pop("tags") or "").replace(";", ",").split(","):
                name = name.strip()[:64]
                if name and name.lower() not in tags:
                    tags.append(name.lower())
                    self.tag_names.setdefault(name.lower(), name)
        if self.entity == Entity.CONTACT and not errors and not any(values.get(k) for k in IDENTITY):
            errors.append("The row has no name, email, phone or Telegram handle.")
        row = _Row(number, cells, values, custom, tags, errors)
        if self.entity != Entity.DEAL and not errors:
            row.keys = self._keys(row)  # from cleaned values alone: made here, on the overlapped side
        return row

    def _plain_email(self, raw: str) -> str | None:
        """``normalize.email(raw)`` for a plain ASCII address, its domain checked once per import
        (the costly part); None when the address needs the full check (or fails it)."""
        if not raw.isascii():
            return None
        text = raw.strip().lower()
        match = _PLAIN_EMAIL.fullmatch(text)
        if match is None or len(match.group(1)) > 64 or len(text) > 254:
            return None
        domain = match.group(2)
        ok = self.email_domains.get(domain)
        if ok is None:
            try:
                ok = normalize.email(f"a@{domain}") == f"a@{domain}"
            except ValueError:
                ok = False
            self.email_domains[domain] = ok
        return text if ok else None

    def _keys(self, row: _Row) -> list[tuple]:
        v = row.values
        if self.entity == Entity.CONTACT:
            return [(k, v[k]) for k in ("email", "telegram_user_id", "telegram_username", "phone")
                    if v.get(k) is not None]
        if self.entity == Entity.COMPANY:
            if v.get("domain"):
                return [("domain", v["domain"])]
            return [("name", v["name"].lower())] if v.get("name") else []
        if not v.get("title"):
            return []
        if self.contact_mapped:
            return [("title", v["title"].lower(), v.get("contact_id"))]
        return [("title", v["title"].lower())]

    def _find_matches(self, rows: list[_Row]) -> dict[tuple, int]:
        """Dedupe keys of ``rows`` that live records hold -> the oldest such record's id."""
        found: dict[tuple, int] = {}
        model = self.model
        postgres = db.session.get_bind().dialect.name == "postgresql"
        wanted: dict[str, set] = {}
        for row in rows:
            for key in row.keys:
                wanted.setdefault(key[0], set()).add(key[1])
        for kind, values in wanted.items():
            if kind == "title":
                column = func.lower(Deal.title)
                extra = (Deal.contact_id,)
            elif kind == "name":
                column, extra = func.lower(Company.name), ()
            else:
                column, extra = getattr(model, kind), ()
            # PostgreSQL takes the whole set as one array parameter: one round trip per kind.
            size = len(values) if postgres else 500
            for part in _parts(sorted(values, key=str), max(size, 1)):
                # Neither deleted_at nor ORDER BY in SQL: either steers SQLite off the (org, key) index.
                stmt = select(model.id, model.deleted_at, column, *extra).where(
                    model.org_id == self.org_id, _one_of(column, part))
                for rid, deleted_at, value, *rest in db.session.execute(stmt):
                    if deleted_at is not None:
                        continue
                    if kind == "title":
                        key = ("title", value, rest[0]) if self.contact_mapped else ("title", value)
                    else:
                        key = (kind, value)
                    if rid < found.get(key, rid + 1):
                        found[key] = rid
        return found

    # writing ---------------------------------------------------------------------------------

    def _full_values(self, row: _Row) -> dict[str, Any]:
        """A new record's column values: the row's, then the defaults the record form would use."""
        v = {k: val for k, val in row.values.items() if val is not None}
        v.setdefault("owner_id", self.actor.user_id)
        if self.entity == Entity.CONTACT:
            v.setdefault("first_name", "")
            v.setdefault("last_name", "")
            v.setdefault("do_not_contact", False)
        elif self.entity == Entity.DEAL:
            self._settle_deal(v, new=True)
        return v

    def _settle_deal(self, v: dict[str, Any], new: bool) -> None:
        """Stage, status, probability and currency, as ``service`` settles a deal."""
        stage = self.stages_by_id.get(v.get("stage_id")) if v.get("stage_id") else None
        if new and stage is None:
            stage = self.first_stage
            v["stage_id"] = stage.id if stage else None
        if stage is not None:
            v["pipeline_id"] = stage.pipeline_id
            v["stage_entered_at"] = utcnow()
            if stage.kind in (StageKind.WON, StageKind.LOST):
                v["status"] = stage.kind
            elif not new:
                v.setdefault("status", DealStatus.OPEN.value)  # moved back to an open stage
            if new and v.get("probability") is None:
                v["probability"] = stage.probability
        if new:
            v.setdefault("status", DealStatus.OPEN.value)
            v.setdefault("currency", "USD")
            v.setdefault("position", 0.0)
            v.setdefault("stage_entered_at", utcnow())
        if "status" in v and v["status"] != DealStatus.LOST:
            v["lost_reason"] = None

    def _search_text(self, v: dict[str, Any]) -> str:
        return search_text_from(self.entity, v, company_name=self.company_names.get(v.get("company_id")),
                                contact_name=self.contact_names.get(v.get("contact_id")))

    def _write_creates(self, creates: list[_Row], meanwhile: Callable[[], None]) -> list[int]:
        if not creates:
            return []
        now = utcnow()
        records = [(self._full_values(row), dict(row.custom), list(row.tags)) for row in creates]
        self._names_for((r[0].get("company_id") for r in records), (r[0].get("contact_id") for r in records))
        base = dict.fromkeys(c.key for c in self.table.columns if c.key != "id")
        base.update(org_id=self.org_id, created_at=now, updated_at=now)
        params = []
        for v, custom, _ in records:
            row = base.copy()
            row.update(v)
            row["custom"], row["search_text"] = custom, self._search_text(v)
            params.append(row)
        ids = self._insert(self.model, params, meanwhile)
        if self.dry:
            for rid, (v, custom, tags) in zip(ids, records, strict=True):
                self.dry_values[rid] = {**v, "custom": custom, "tags": {self.tags[t] for t in tags}}
            return ids
        table = TAG_TABLES[self.entity]
        links = [{f"{self.entity}_id": rid, "tag_id": self.tags[t]}
                 for rid, (_, _, tags) in zip(ids, records, strict=True) for t in tags]
        if links:
            _write_rows(table, links)
        _log(self.org_id, self.actor.user_id, self.entity, ids, "created",
             {"source": "import", "import_id": self.imp.id})
        return ids

    def _current(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        current: dict[int, dict[str, Any]] = {}
        real = [i for i in ids if i > 0]
        for part in _parts(real):
            for row in db.session.execute(select(self.table).where(self.table.c.id.in_(part))):
                current[row.id] = dict(row._mapping)
        if real:
            table = TAG_TABLES[self.entity]
            column = table.c[f"{self.entity}_id"]
            for part in _parts(real):
                for rid, tid in db.session.execute(select(column, table.c.tag_id).where(column.in_(part))):
                    current[rid].setdefault("tags", set()).add(tid)
        for i in ids:
            if i < 0:
                current[i] = self.dry_values[i]
        return current

    def _write_updates(self, updates: dict[int, list[_Row]]) -> int:
        """Merge each row's non-blank values into its record; returns how many records changed."""
        if not updates:
            return 0
        current = self._current(list(updates))
        self._names_for([c.get("company_id") for c in current.values()]
                        + [r.values.get("company_id") for rs in updates.values() for r in rs],
                        [c.get("contact_id") for c in current.values()]
                        + [r.values.get("contact_id") for rs in updates.values() for r in rs])
        now = utcnow()
        params: list[dict[str, Any]] = []
        new_links: list[dict[str, int]] = []
        activities: list[tuple[int, dict]] = []
        changed_rows = 0
        for rid, rows in updates.items():
            record = current[rid]
            tags = set(record.get("tags", set()))
            for row in rows:
                new = {k: v for k, v in row.values.items() if v is not None}
                if self.entity == Entity.DEAL and new.get("stage_id") == record.get("stage_id"):
                    new.pop("stage_id", None)
                if self.entity == Entity.DEAL and "stage_id" in new:
                    self._settle_deal(new, new=False)
                changes = {k: [_plain(record.get(k)), _plain(v)] for k, v in new.items()
                           if record.get(k) != v and k != "stage_entered_at"}
                custom = {**(record.get("custom") or {}), **row.custom}
                if custom != (record.get("custom") or {}):
                    changes.update({f"custom.{k}": [(record.get("custom") or {}).get(k), v]
                                    for k, v in row.custom.items()
                                    if (record.get("custom") or {}).get(k) != v})
                added = [self.tags[t] for t in row.tags if self.tags[t] not in tags]
                if added:
                    changes["tags"] = ["+", sorted(self.tag_names[t] for t in row.tags
                                                   if self.tags[t] in added)]
                if not changes:
                    continue
                changed_rows += 1
                changed_cols = {k: v for k, v in new.items() if record.get(k) != v}
                record.update(changed_cols)
                record["custom"] = custom
                tags.update(added)
                new_links.extend({f"{self.entity}_id": rid, "tag_id": t} for t in added)
                activities.append((rid, changes))
                params.append({"id": rid, **changed_cols, "custom": custom})
            if rid < 0:
                record["tags"] = tags
        if self.dry:
            return changed_rows
        final: dict[int, dict[str, Any]] = {}
        for p in params:  # one UPDATE per record, with everything its rows changed
            final.setdefault(p["id"], {"id": p["id"]}).update(p)
        rows = []
        for rid, p in final.items():
            p["search_text"] = self._search_text(current[rid])
            p["updated_at"] = now
            rows.append(p)
        for group in _same_keys(rows):
            db.session.execute(update(self.model).execution_options(synchronize_session=False), group)
        if new_links:
            _write_rows(TAG_TABLES[self.entity], new_links)
        if activities:
            _write_rows(Activity.__table__, [
                {"org_id": self.org_id, "subject_type": self.entity, "subject_id": rid, "kind": "updated",
                 "actor_id": self.actor.user_id, "created_at": now,
                 "data": {"source": "import", "import_id": self.imp.id, "changes": changes}}
                for rid, changes in activities])
        return changed_rows

    def _write_rejections(self, rows: list[_Row]) -> None:
        if rows:
            _write_rows(ImportRejection.__table__, [
                {"import_id": self.imp.id, "row_number": r.number, "reason": " ".join(r.errors),
                 "raw": [c[:MAX_RAW_CELL] for c in r.cells]} for r in rows])


def _log(org_id: int, actor_id: int | None, entity: str, ids: list[int], kind: str, data: dict) -> None:
    if ids:
        now = utcnow()
        _write_rows(Activity.__table__, [
            {"org_id": org_id, "subject_type": entity, "subject_id": i, "kind": kind, "actor_id": actor_id,
             "data": data, "created_at": now} for i in ids])


def _write_rows(table: Table, rows: list[dict[str, Any]], meanwhile: Callable[[], None] | None = None
                ) -> None:
    """Insert ``rows`` (all with the same keys) in bulk: COPY on PostgreSQL, executemany elsewhere.

    Core, not the ORM: the ORM splits a batch into groups by which values are None. ``meanwhile``
    runs after the rows are sent and before waiting for PostgreSQL to have written them (and their
    indexes: the slow part), so that it overlaps with the server's work; elsewhere, after the rows.
    """
    if not rows or db.session.get_bind().dialect.name != "postgresql":
        if rows:
            db.session.execute(table.insert(), rows)
        if meanwhile is not None:
            meanwhile()
        return
    columns = list(rows[0])
    json_columns = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    names = ", ".join(f'"{c}"' for c in columns)
    serialized: dict[int, str] = {}  # rows often share one dict (an activity's data): dump it once
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    with cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [v.value if isinstance(v, Enum) else v for v in map(row.__getitem__, columns)]
            for i in json_columns:
                value = values[i]
                if value is not None:
                    text_value = serialized.get(id(value))
                    if text_value is None:
                        text_value = serialized[id(value)] = json.dumps(value)
                    values[i] = text_value
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


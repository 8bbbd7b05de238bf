"""The run: ``import_batches`` cleans, resolves, dedupes and writes the rows batch by batch."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, text, update

from app import audit
from app.blueprints.crm.events import ContactsImported, DealCreated, ImportFinished
from app.blueprints.crm.models import (
    Activity,
    Company,
    Deal,
    DealStatus,
    Entity,
    Import,
    ImportRejection,
    ImportStatus,
)
from app.blueprints.crm.records.service import search_text_from
from app.blueprints.team.public import Membership, Permission, default_currency, require
from app.bulk_insert import insert_rows
from app.db_types import utcnow
from app.errors import DomainError
from app.events import emit
from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE

from .bulk import TAG_TABLES, _one_of, _parts, _plain, _same_keys
from .cleaning import _Row
from .references import _References
from .status import every_language, every_language_of, in_language
from .upload import _data_rows

BATCH_ROWS = 5000  # rows looked up, written and committed together (each batch has fixed costs)
MAX_RAW_CELL = 32_768  # a rejected row's cells are kept up to this many characters each
# The columns of the dedupe lookups' indexes, where they are plain columns (companies and deals match
# on lower(...) expressions, whose statistics a column list would leave out).
_KEY_COLUMNS = {Entity.CONTACT: "org_id, email, telegram_user_id, telegram_username, phone"}


def import_batches(import_id: int) -> Iterator[Import]:
    """Run a queued import, yielding after each batch of rows so the caller commits it.

    Counts and ``processed_rows`` on the Import row are current at each yield. Raises DomainError
    when the member who started it has left the organization. A finished import is left alone.
    """
    imp = db.session.get(Import, import_id)
    if imp is None or imp.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        return
    actor = may_run(imp)
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
            columns = _KEY_COLUMNS.get(run.entity)  # the lookups need no other column's statistics
            db.session.execute(text(f"ANALYZE {run.table.name}" + (f" ({columns})" if columns else "")))
        db.session.flush()
        yield imp
    imp.status, imp.finished_at = ImportStatus.DONE.value, utcnow()
    _announce_end(imp)
    db.session.flush()
    yield imp


def may_run(imp: Import) -> Membership:
    """The member the import runs as. Raises DomainError when they have left the organization, and
    Forbidden when an ``update`` import's member may no longer edit others' records."""
    actor = db.session.scalar(select(Membership).where(Membership.org_id == imp.org_id,
                                                       Membership.user_id == imp.created_by_id))
    if actor is None:
        raise DomainError(_("The member who started this import is no longer in the organization."))
    if imp.dedupe == "update":
        require(actor, Permission.RECORDS_EDIT_ALL)
    return actor


def refusal(import_id: int, err: DomainError) -> Callable[[], str]:
    """Why the run was refused, said again in the language current when it is called: the check
    that refused it (``may_run``) is asked again; a refusal from further in is as it was said."""

    def say() -> str:
        imp = db.session.get(Import, import_id)
        try:
            if imp is not None:
                may_run(imp)
        except DomainError as again:
            return again.message
        return err.message

    return say


def fail_import(import_id: int, message: str | Callable[[], str]) -> None:
    """Mark the import failed. ``message``: a text, or a function saying it in the language
    current when it is called, so that it is kept in every language (``status.every_language``)."""
    imp = db.session.get(Import, import_id)
    if imp is not None:
        say = message if callable(message) else (lambda: message)
        imp.status, imp.finished_at = ImportStatus.FAILED.value, utcnow()
        imp.error = every_language(lambda: say()[:2000])
        _announce_end(imp)
        db.session.flush()


def _announce_end(imp: Import) -> None:
    failed = imp.status == ImportStatus.FAILED
    error = in_language(imp.error, DEFAULT_LANGUAGE) or None  # the audit and the event keep English
    audit.record("import.failed" if failed else "import.finished", org_id=imp.org_id,
                 actor_id=imp.created_by_id, target=imp, file=imp.filename, entity=imp.entity,
                 dry_run=imp.dry_run, rows=imp.total_rows, created=imp.created_count,
                 updated=imp.updated_count, skipped=imp.skipped_count, rejected=imp.rejected_count,
                 **({"error": error} if failed else {}))
    emit(ImportFinished(org_id=imp.org_id, actor_id=imp.created_by_id, import_id=imp.id, entity=imp.entity,
                        status=imp.status, dry_run=imp.dry_run, created=imp.created_count,
                        updated=imp.updated_count, skipped=imp.skipped_count,
                        rejected=imp.rejected_count, error=error))


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


class _Run(_References):
    """One import's run: its policy, the keys seen so far, and (dry runs) what it would create."""

    def __init__(self, imp: Import, actor: Membership) -> None:
        super().__init__(imp, actor)
        self.policy = imp.dedupe
        self.seen: dict[tuple, int] = {}  # dedupe key -> record id (negative: not written, dry run)
        self.dry_values: dict[int, dict[str, Any]] = {}  # dry run: what a not-written record holds
        self.currency = default_currency(imp.org_id)  # a new deal's, when its row gives none

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
            for part in [list(values)] if postgres else _parts(sorted(values, key=str)):
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
        v.setdefault("owner_id", self.actor_id)
        if self.entity == Entity.CONTACT:
            v.setdefault("first_name", "")
            v.setdefault("last_name", "")
            v.setdefault("do_not_contact", False)
        elif self.entity == Entity.DEAL:
            self._settle_deal(v, new=True)
        return v

    def _settle_deal(self, v: dict[str, Any], new: bool) -> None:
        """Stage (the pipeline settles its columns), status and currency, as creating or editing a deal
        in the app settles them (``records.service``)."""
        self.stages.settle(v, new)
        if new:
            v.setdefault("status", DealStatus.OPEN.value)
            v.setdefault("currency", self.currency)
            v.setdefault("position", 0.0)
            v.setdefault("stage_entered_at", utcnow())
        if "status" in v and v["status"] != DealStatus.LOST:
            v["lost_reason"] = None

    def _record_moves(self, moves: list[tuple[int, int | None, int, Any]], created: bool) -> None:
        """Stage history and stage events for imported deals: (id, from stage, to stage, entered)."""
        if not moves or self.dry:
            return
        self.stages.entered(self.actor_id, moves, created)

    def _search_text(self, v: dict[str, Any]) -> str:
        return search_text_from(self.entity, v, company_name=self.company_names.get(v.get("company_id")),
                                contact_name=self.contact_names.get(v.get("contact_id")))

    def _write_creates(self, creates: list[_Row], meanwhile: Callable[[], None]) -> list[int]:
        if not creates:
            return []
        self._names_for((r.values.get("company_id") for r in creates),
                        (r.values.get("contact_id") for r in creates))
        now = utcnow()
        base = dict.fromkeys(c.key for c in self.table.columns)
        base.update(org_id=self.org_id, import_id=self.import_ref, created_at=now, updated_at=now)
        # Made beforehand: a deal's may read its stage's top position, or a stage expired by a commit.
        values = [self._full_values(row) for row in creates]

        def make(ids: list[int]) -> Iterator[dict[str, Any]]:  # no database work: see insert_rows
            for rid, row, v in zip(ids, creates, values, strict=True):
                params = base.copy()
                params.update(v)
                params.update(id=rid, custom=dict(row.custom), search_text=self._search_text(v))
                yield params

        ids = self._insert(self.model, len(creates), make, meanwhile)
        if self.dry:
            for rid, v, row in zip(ids, values, creates, strict=True):
                self.dry_values[rid] = {**v, "custom": dict(row.custom),
                                        "tags": {self.tags[t] for t in row.tags}}
            return ids
        column, tag_ids = f"{self.entity}_id", self.tags
        insert_rows(TAG_TABLES[self.entity], ({column: rid, "tag_id": tag_ids[t]}
                                              for rid, row in zip(ids, creates, strict=True)
                                              for t in row.tags))
        if self.entity == Entity.CONTACT:
            emit(ContactsImported(org_id=self.org_id, actor_id=self.actor_id, import_id=self.import_ref,
                                  contact_ids=tuple(ids)))
        if self.entity == Entity.DEAL:
            placed = [(rid, v) for rid, v in zip(ids, values, strict=True) if v.get("stage_id")]
            for rid, v in placed:
                emit(DealCreated(org_id=self.org_id, actor_id=self.actor_id, deal_id=rid,
                                 pipeline_id=v["pipeline_id"], stage_id=v["stage_id"]))
            self._record_moves([(rid, None, v["stage_id"], None) for rid, v in placed], created=True)
        return ids

    def _current(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        current: dict[int, dict[str, Any]] = {}
        real = [i for i in ids if i > 0]
        for part in _parts(real):
            for row in db.session.execute(select(self.table).where(self.table.c.org_id == self.org_id,
                                                                   self.table.c.id.in_(part))):
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
        moved: list[tuple[int, int | None, int, Any]] = []  # deals whose stage the import changes
        changed_rows = 0
        for rid, rows in updates.items():
            record = current[rid]
            tags = set(record.get("tags", set()))
            for row in rows:
                new = {k: v for k, v in row.values.items() if v is not None}
                if self.entity == Entity.DEAL and new.get("stage_id") == record.get("stage_id"):
                    new.pop("stage_id", None)
                if self.entity == Entity.DEAL and "stage_id" in new:
                    moved.append((rid, record.get("stage_id"), new["stage_id"],
                                  record.get("stage_entered_at")))
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
            insert_rows(TAG_TABLES[self.entity], new_links)
        if activities:
            insert_rows(Activity.__table__, [
                {"org_id": self.org_id, "subject_type": self.entity, "subject_id": rid, "kind": "updated",
                 "actor_id": self.actor_id, "created_at": now,
                 "data": {"source": "import", "import_id": self.imp.id, "changes": changes}}
                for rid, changes in activities])
        self._record_moves(moved, created=False)
        return changed_rows

    def _write_rejections(self, rows: list[_Row]) -> None:
        """Each row's reasons are written in every language of the interface (read back in the
        viewer's: ``status.in_viewers_language``)."""
        if rows:
            reasons = every_language_of(
                (lambda errors=r.errors: " ".join(str(e) for e in errors)) for r in rows)
            insert_rows(ImportRejection.__table__, [
                {"import_id": self.imp.id, "row_number": r.number, "reason": reason,
                 "raw": [c[:MAX_RAW_CELL] for c in r.cells]}
                for r, reason in zip(rows, reasons, strict=True)])

"""Reading imports: one or the latest, their progress, and their rejected rows as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select

from app.blueprints.crm.models import Entity, Import, ImportRejection, ImportStatus
from app.extensions import db
from app.tenancy import get_in_org

ENTITY_NAMES = {Entity.CONTACT: "contacts", Entity.COMPANY: "companies", Entity.DEAL: "deals"}
# An import's status as the pages say it; a dry run checks rather than imports.
STATUS_WORDS = {ImportStatus.UPLOADED: "Uploaded", ImportStatus.QUEUED: "Queued",
                ImportStatus.RUNNING: "Importing…", ImportStatus.DONE: "Finished",
                ImportStatus.FAILED: "Failed"}
DRY_RUN_WORDS = {ImportStatus.RUNNING: "Checking…", ImportStatus.DONE: "Checked"}


def get_import(org_id: int, import_id: int) -> Import:
    """Raises NotFound for a missing or another organization's import."""
    return get_in_org(Import, import_id, org_id, "Import")


def list_imports(org_id: int, limit: int = 50) -> list[Import]:
    return list(db.session.scalars(select(Import).where(Import.org_id == org_id)
                                   .order_by(Import.id.desc()).limit(limit)))


def status_word(imp: Import) -> str:
    """"Finished", "Failed", ... (a finished dry run: "Checked"); an unknown code as it is."""
    words = {**STATUS_WORDS, **DRY_RUN_WORDS} if imp.dry_run else STATUS_WORDS
    return words.get(imp.status, imp.status)


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

"""Reading imports: one or the latest, their progress, and their rejected rows as CSV.

Texts an import stores for later (a rejected row's reason, a failed import's error) are kept in
every language of the interface at once (``every_language``: a JSON object, language -> text,
written by the run) and read back in the viewer's (``in_viewers_language``); a text stored before
that (plain English) is shown as it is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator

from flask_babel import force_locale, get_locale, pgettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.blueprints.crm.models import Entity, Import, ImportRejection, ImportStatus
from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES
from app.tenancy import get_in_org

ENTITY_NAMES = {Entity.CONTACT: "contacts", Entity.COMPANY: "companies", Entity.DEAL: "deals"}
# What the pages say of each kind of record (whole phrases: Russian declines the noun in each).
ENTITY_WORDS = {
    "contacts": {"noun": _l("contacts"), "title": _l("Import contacts"),
                 "upload": _l("Upload a CSV of contacts"), "open": _l("Open contacts")},
    "companies": {"noun": _l("companies"), "title": _l("Import companies"),
                  "upload": _l("Upload a CSV of companies"), "open": _l("Open companies")},
    "deals": {"noun": _l("deals"), "title": _l("Import deals"),
              "upload": _l("Upload a CSV of deals"), "open": _l("Open deals")},
}
# An import's status as the pages say it; a dry run checks rather than imports.
STATUS_WORDS = {ImportStatus.UPLOADED: _l("Uploaded"), ImportStatus.QUEUED: _l("Queued"),
                ImportStatus.RUNNING: _l("Importing…"), ImportStatus.DONE: _l("Finished"),
                ImportStatus.FAILED: _l("Failed")}
DRY_RUN_WORDS = {ImportStatus.RUNNING: _l("Checking…"), ImportStatus.DONE: _l("Checked")}


def get_import(org_id: int, import_id: int) -> Import:
    """Raises NotFound for a missing or another organization's import."""
    return get_in_org(Import, import_id, org_id, "Import")


def list_imports(org_id: int, limit: int = 50) -> list[Import]:
    return list(db.session.scalars(select(Import).where(Import.org_id == org_id)
                                   .order_by(Import.id.desc()).limit(limit)))


def status_word(imp: Import) -> str:
    """"Finished", "Failed", ... (a finished dry run: "Checked"); an unknown code as it is."""
    words = {**STATUS_WORDS, **DRY_RUN_WORDS} if imp.dry_run else STATUS_WORDS
    return str(words.get(imp.status, imp.status))


def finished(imp: Import) -> bool:
    return imp.status in (ImportStatus.DONE, ImportStatus.FAILED)


def percent(imp: Import) -> int:
    if imp.status == ImportStatus.DONE:
        return 100
    return int(100 * imp.processed_rows / imp.total_rows) if imp.total_rows else 0


# -- texts kept for later, in every language -----------------------------------------------------

def every_language(make: Callable[[], str]) -> str:
    """``make``'s text in each language of the interface, as stored: a JSON object."""
    return every_language_of([make])[0]


def every_language_of(makers: Iterable[Callable[[], str]]) -> list[str]:
    """``every_language`` for many texts, switching language once per language, not per text."""
    makers = list(makers)
    texts: list[dict[str, str]] = [{} for _ in makers]
    for language in LANGUAGES:
        with force_locale(language):
            for text, make in zip(texts, makers, strict=True):
                text[language] = make()
    return [json.dumps(text, ensure_ascii=False) for text in texts]


def in_language(stored: str | None, language: str) -> str:
    """A stored text in ``language`` (else English); a plain one, stored before texts were kept in
    every language, as it is."""
    if not stored:
        return ""
    if stored.startswith("{"):
        try:
            texts = json.loads(stored)
        except ValueError:
            return stored
        if isinstance(texts, dict):
            return str(texts.get(language) or texts.get(DEFAULT_LANGUAGE) or next(iter(texts.values()), ""))
    return stored


def in_viewers_language(stored: str | None) -> str:
    """A stored text in the language the current request (or ``force_locale``) is answered in."""
    locale = get_locale()
    return in_language(stored, locale.language if locale else DEFAULT_LANGUAGE)


def error_text(imp: Import) -> str:
    """Why the import failed, in the viewer's language ("" when it did not)."""
    return in_viewers_language(imp.error)


# -- the rejected rows ----------------------------------------------------------------------------

def rejected_csv(imp: Import, page: int = 1000, for_people: bool = False) -> Iterator[str]:
    """The rejected rows as CSV text pieces: the file's header plus ``row`` and ``reason`` columns,
    each reason in the viewer's language. ``for_people`` (the page's download, which a person opens
    in a spreadsheet): those two columns are named in the viewer's language too; the API keeps
    ``row`` and ``reason``, which programs read."""
    out = io.StringIO()
    writer = csv.writer(out)
    if for_people:
        extra = [pgettext("rejected rows CSV column", "row"), pgettext("rejected rows CSV column", "reason")]
    else:
        extra = ["row", "reason"]
    writer.writerow([*imp.headers, *extra])
    yield "\ufeff" + out.getvalue()  # the mark makes Excel read UTF-8
    locale = get_locale()
    language = locale.language if locale else DEFAULT_LANGUAGE
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
            writer.writerow([*row.raw, row.row_number, in_language(row.reason, language)])
        last = rows[-1].id
        yield out.getvalue()


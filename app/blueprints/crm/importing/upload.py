"""Upload: checking a CSV and storing it as it came (in ``ImportChunk`` rows), finding its encoding
and delimiter, and reading it back as numbered records (constant memory) for the preview and the run.

The upload is read and checked whole before anything is written: no transaction is open (and on
SQLite no write lock, which every organization shares) while a stranger's file is parsed. The caps
on the header (MAX_COLUMNS, MAX_HEADER_BYTES) keep that reading linear in the file's size, and the
preview, like the check that the file has data rows, reads no more than PREVIEW_BYTES of it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select

from app.blueprints.crm.models import Entity, Import, ImportChunk, ImportStatus
from app.blueprints.team.public import Membership
from app.errors import DomainError, NotFound
from app.extensions import db

CHUNK_BYTES = 1 << 20  # one ImportChunk row
PREVIEW_ROWS = 5
# CRM files have tens of columns, a wide spreadsheet export a couple of hundred. Past this a file is
# not a list of records, and every column costs the mapping screen a select of every field.
MAX_COLUMNS = 500
# The header row must end within this many bytes (500 names of 130 bytes each); a file whose first
# line runs on (a 60 MB single line) is refused having read no more than this of it.
MAX_HEADER_BYTES = 64 * 1024
# The preview reads no further into the stored file than this (its first chunk), however long its
# rows or its run of blank lines.
PREVIEW_BYTES = CHUNK_BYTES
# csv.Sniffer's guess of quotes is quadratic in its sample (15 s for 64 KB of ';"a'); the first lines'
# first 8 KB tell , ; tab and | apart as well.
SNIFF_CHARS = 8192
ENTITY_PATHS = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY, "deals": Entity.DEAL}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": _l("UTF-8 (with BOM)"), "utf-16": "UTF-16",
                   "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "cp1252": "Windows-1252"}
# Control characters text never holds (tab, newlines, form feed, vertical tab and ^Z are allowed).
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_WORKBOOK_MARKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (a zip) and .xls
# The delimiter as the mapping page names it ("Read as UTF-8, comma-separated").
DELIMITER_WORDS = {",": _l("comma"), ";": _l("semicolon"), "\t": _l("tab"), "|": _l("pipe")}

csv.field_size_limit(1 << 30)  # a huge cell is rejected by its field's length rule, not by csv


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
        if not self.candidates:  # nothing decodes the file: the caller refuses it
            return
        if not self.candidates[0].startswith("utf-16") and _CONTROL_BYTES.search(data):
            self.binary = True
        for name in list(self.candidates):
            try:
                text = self.decoders[name].decode(data)
            except UnicodeDecodeError:
                self.candidates.remove(name)
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


@dataclass
class _HeaderRow:
    """The header row as read from the start of the file."""

    delimiter: str
    cells: list[str]


@dataclass
class _Checked:
    """What reading an upload through found: all an Import row needs before its chunks."""

    size: int
    encoding: str
    delimiter: str
    headers: list[str]


def start_import(actor: Membership, entity: str, filename: str, stream: BinaryIO) -> Import:
    """Check an uploaded CSV, then store it with its header (flushed, not committed).

    Nothing is written until the whole file has been read and checked, so a hostile file holds no
    lock while it is parsed. Raises NotFound for an unknown kind of record, and DomainError (field
    ``file``) for an empty, Excel, binary or undecodable file, a header row that is blank, has more
    than MAX_COLUMNS columns or does not end within MAX_HEADER_BYTES, or a file without data rows
    in its first PREVIEW_BYTES.
    """
    entity = _entity(entity)
    with _Rewindable(stream) as upload:
        checked = _check(upload)
        return _store(actor, entity, filename, upload.rewound(), checked)


def _check(upload: _Rewindable) -> _Checked:
    """Read the upload through (writing nothing) and find its encoding, delimiter and header.

    Raises DomainError (field ``file``) as ``start_import`` says.
    """
    head = upload.read(MAX_HEADER_BYTES)
    if not head:
        raise _file_error(_("The file is empty. Upload a CSV whose first row names the columns."))
    if head.startswith(_WORKBOOK_MARKS):
        raise _file_error(_("This looks like an Excel workbook. Save it as CSV (File > Save As > "
                            "CSV UTF-8) and upload that."))
    check = _EncodingCheck()
    _feed(check, head)
    whole = len(head) < MAX_HEADER_BYTES  # the head is all the file
    # The header is checked with the encoding the head suggests before any more is read: a file
    # whose first line runs on is refused having read MAX_HEADER_BYTES of it.
    guessed = check.candidates[0]
    header = _header(head, guessed, whole)
    size = len(head)
    while data := upload.read(CHUNK_BYTES):
        _feed(check, data)
        size += len(data)
    encoding = check.result()
    if encoding is None:
        raise _encoding_error()
    if encoding != guessed:  # Windows-1252 after all: read the header as that
        header = _header(head, encoding, whole)
    headers = _unique_headers(header.cells)
    if not _has_data_row(upload, encoding, header.delimiter):
        raise _file_error(_("The file has a header but no rows to import."))
    return _Checked(size=size, encoding=encoding, delimiter=header.delimiter, headers=headers)


def _feed(check: _EncodingCheck, data: bytes) -> None:
    """Raises DomainError (``file``) once the data shows the file is binary or decodes in no encoding."""
    check.feed(data)
    if check.binary:
        raise _file_error(_("This does not look like a CSV file (it contains binary data)."))
    if not check.candidates:
        raise _encoding_error()


def _header(head: bytes, encoding: str, whole: bool) -> _HeaderRow:
    """The delimiter and the header row, read from the file's first MAX_HEADER_BYTES.

    ``whole``: the head is the entire file, so a header ending with it is complete. Raises
    DomainError (``file``) for more than MAX_COLUMNS columns, a header that does not end within the
    head, or a blank one.
    """
    text = codecs.getincrementaldecoder(encoding)(errors="ignore").decode(head)  # may end mid-character
    delimiter = _sniff_delimiter(text)
    cells, ended = _first_record(text, delimiter)
    if len(cells) > MAX_COLUMNS:
        raise _file_error(_("The file has more than %(most)s columns. Delete the columns you do not "
                            "need to import (empty ones too) and upload it again.", most=MAX_COLUMNS))
    if not (ended or whole):
        raise _file_error(_("The header row is longer than %(kb)s KB; is this a CSV file? Its first line "
                            "should name the columns, separated by commas or semicolons.",
                            kb=MAX_HEADER_BYTES // 1024))
    if not any(cell.strip() for cell in cells):
        raise _file_error(_("The file has no header row. Its first row should name the columns."))
    cells[0] = cells[0].lstrip("\ufeff")
    return _HeaderRow(delimiter=delimiter, cells=cells)


class _Lines:
    """A text's lines for ``csv.reader``, remembering the last one given and whether it ran out."""

    def __init__(self, text: str) -> None:
        self._text = io.StringIO(text, newline="")  # splits at \n, \r and \r\n, as csv ends records
        self.last = ""
        self.ran_out = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._text.readline()
        if not line:
            self.ran_out = True
            raise StopIteration
        self.last = line
        return line


def _first_record(text: str, delimiter: str) -> tuple[list[str], bool]:
    """The first CSV record of ``text``, and whether a line end closed it before the text ran out
    (if not, it may go on past the text: the reader hands back what it had)."""
    lines = _Lines(text)
    cells = next(csv.reader(lines, delimiter=delimiter), [])
    return cells, not lines.ran_out and lines.last.endswith(("\n", "\r"))


def _has_data_row(upload: _Rewindable, encoding: str, delimiter: str) -> bool:
    """Whether the first PREVIEW_BYTES of the file hold a row after the header with a cell that is
    not blank, read as the run and the preview read rows (``_nonblank`` over ``_csv_records``).

    Only that window is looked at, so the check costs no more than the preview: 63 MB of ``"\\n``
    lines (every one a blank quoted cell) are 31 million records for csv to read, 10 s. A file
    whose data starts further in is refused as having no rows, which is acceptable: no export puts
    a megabyte of blank rows before its first record, the mapping screen would show such a file
    with an empty preview to check the columns against, and deleting the blank lines fixes it.
    A record the window cuts short is what the reader had (content only where the whole record
    has it), and a character cut in two there is dropped (the encoding was checked on the whole
    file), so a cut never looks like content.
    """
    window = _Unclosing(upload.rewound(), PREVIEW_BYTES)
    return next(_nonblank(_csv_records(window, encoding, delimiter, "ignore")), None) is not None


def _store(actor: Membership, entity: Entity, filename: str, stream: BinaryIO, checked: _Checked) -> Import:
    """Write a checked upload: its Import row, then its bytes as they came in ImportChunk rows."""
    imp = Import(org_id=actor.org_id, entity=entity, filename=(filename or "upload.csv")[-255:],
                 created_by_id=actor.user_id, status=ImportStatus.UPLOADED.value, headers=checked.headers,
                 mapping={}, size_bytes=checked.size, encoding=checked.encoding, delimiter=checked.delimiter)
    db.session.add(imp)
    db.session.flush()
    for seq in itertools.count():
        data = _read_up_to(stream, CHUNK_BYTES)
        if not data:
            break
        db.session.execute(insert(ImportChunk), [{"import_id": imp.id, "seq": seq, "data": data}])
    return imp


def _file_error(message: str) -> DomainError:
    return DomainError(message, {"file": message})


def _encoding_error() -> DomainError:
    return _file_error(_("The file's text encoding could not be read. Save it as CSV UTF-8 and "
                         "upload it again."))


def _entity(entity: str) -> Entity:
    entity = ENTITY_PATHS.get(entity, entity)
    try:
        return Entity(entity)
    except ValueError:
        raise NotFound(_("No such kind of record.")) from None


def _sniff_delimiter(sample: str) -> str:
    lines = sample.lstrip("\ufeff").splitlines()[:20]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    try:
        delimiter = csv.Sniffer().sniff(_sniff_text(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = None
    header = lines[0] if lines else ""
    if delimiter is None or header.count(delimiter) == 0:
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        delimiter = best if counts[best] else ","
    return delimiter


def _sniff_text(lines: list[str]) -> str:
    """The whole lines that fit in SNIFF_CHARS (or the start of the first, when it alone is longer)."""
    text = "\n".join(lines)
    if len(text) <= SNIFF_CHARS:
        return text
    cut = text.rfind("\n", 0, SNIFF_CHARS + 1)
    return text[:cut] if cut > 0 else text[:SNIFF_CHARS]


def _unique_headers(cells: list[str]) -> list[str]:
    """The cells as column names: blank ones "Column <n>", repeated ones suffixed " (2)", " (3)"...

    Linear in the cells: a set says which names are taken, and each name remembers the next suffix
    to try, so 500 identical names cost 500 steps (not 125,000).
    """
    headers: list[str] = []
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}
    for n, cell in enumerate(cells, 1):
        base = cell.strip().lstrip("\ufeff")[:200] or f"Column {n}"
        name, k = base, next_suffix.get(base, 2)
        while name in taken:
            name, k = f"{base} ({k})", k + 1
        next_suffix[base] = k
        taken.add(name)
        headers.append(name)
    return headers


def _read_up_to(stream: BinaryIO, size: int) -> bytes:
    """``size`` bytes of the stream, fewer only at its end (a read may return less than asked)."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        data = stream.read(wanted)
        if not data:
            break
        parts.append(data)
        wanted -= len(data)
    return b"".join(parts)


def _start_of(stream: BinaryIO) -> int | None:
    """Where a seekable stream stands (its data starts there); None when it cannot seek."""
    try:
        return stream.tell() if stream.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


class _Rewindable:
    """The upload, read through once and then again from its start, as often as needed.

    Werkzeug spools large uploads to a temporary file, which seeks. Any other stream is copied to a
    spooled temporary file as it is read, so a refusal still reads no more than the checks did.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._start = _start_of(stream)
        self._copy = (tempfile.SpooledTemporaryFile(max_size=CHUNK_BYTES)  # noqa: SIM115 - closed by __exit__
                      if self._start is None else None)

    def __enter__(self) -> _Rewindable:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._copy is not None:
            self._copy.close()

    def read(self, size: int) -> bytes:
        data = _read_up_to(self._stream, size)
        if self._copy is not None:
            self._copy.write(data)
        return data

    def rewound(self) -> BinaryIO:
        """The upload from its start (read through first: the copy holds what was read)."""
        if self._copy is not None:
            self._copy.seek(0)
            return self._copy
        self._stream.seek(self._start)
        return self._stream


class _Unclosing(io.RawIOBase):
    """The first ``limit`` bytes of a binary stream as a raw one that leaves it open when closed (a
    text wrapper closes what it wraps, and the upload is stored after the check)."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self._stream = stream
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(min(len(buffer), self._left)) if self._left > 0 else b""
        self._left -= len(data)
        buffer[:len(data)] = data
        return len(data)


class _ChunkStream(io.RawIOBase):
    """The stored chunks as one byte stream, loaded one chunk at a time (constant memory); with a
    ``limit``, only the first ``limit`` bytes."""

    def __init__(self, import_id: int, limit: int | None = None) -> None:
        self._ids = iter(list(db.session.scalars(
            select(ImportChunk.id).where(ImportChunk.import_id == import_id).order_by(ImportChunk.seq))))
        self._data = memoryview(b"")
        self._pos = 0
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._left is not None and self._left <= 0:
            return 0
        while self._pos >= len(self._data):
            chunk_id = next(self._ids, None)
            if chunk_id is None:
                return 0
            data = db.session.scalar(select(ImportChunk.data).where(ImportChunk.id == chunk_id))
            self._data = memoryview(data or b"")
            self._pos = 0
        n = min(len(buffer), len(self._data) - self._pos)
        if self._left is not None:
            n = min(n, self._left)
            self._left -= n
        buffer[:n] = self._data[self._pos:self._pos + n]
        self._pos += n
        return n


def _csv_records(raw: io.RawIOBase, encoding: str, delimiter: str | None,
                 errors: str = "strict") -> Iterator[tuple[int, list[str]]]:
    """Every CSV record of a raw byte stream with its row number (the header is row 1, as in a
    spreadsheet)."""
    text = io.TextIOWrapper(io.BufferedReader(raw, 1 << 16), encoding=encoding, errors=errors, newline="")
    reader = csv.reader(text, delimiter=delimiter or ",")
    for number, row in enumerate(reader, 1):
        if number == 1 and row:
            row[0] = row[0].lstrip("\ufeff")
        yield number, row


def _records(imp: Import, limit: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """The stored file's records; with ``limit``, those in its first ``limit`` bytes (the last one
    perhaps cut short, and a character cut in two replaced)."""
    yield from _csv_records(_ChunkStream(imp.id, limit), imp.encoding, imp.delimiter,
                            "strict" if limit is None else "replace")


def _nonblank(records: Iterable[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    """The records after the header, passing over wholly blank ones (neither counted nor rejected)."""
    rows = iter(records)
    next(rows, None)
    for number, row in rows:
        if "".join(row).strip():  # some cell is not blank
            yield number, row


def _data_rows(imp: Import, limit: int | None = None) -> Iterator[tuple[int, list[str]]]:
    """The stored file's data rows (see ``_nonblank``); ``limit`` as for ``_records``."""
    return _nonblank(_records(imp, limit))


@dataclass
class Preview:
    headers: list[str]
    rows: list[list[str]]
    encoding: str
    encoding_note: str | None
    delimiter: str  # in words, in the viewer's language


def preview(imp: Import, limit: int = PREVIEW_ROWS) -> Preview:
    """The header and the first ``limit`` data rows found in the first PREVIEW_BYTES of the file, each
    cut to the header's columns and 200 characters a cell: the mapping page costs no more for a file
    with huge rows or a long run of blank lines."""
    width = len(imp.headers)
    rows = [[cell[:200] for cell in row[:width]]
            for _, row in itertools.islice(_data_rows(imp, PREVIEW_BYTES), limit)]
    note = None
    if imp.encoding == "cp1252":
        note = _("The file is not UTF-8, so it was read as Windows-1252. If letters look wrong below, "
                 "save it as CSV UTF-8 and upload it again.")
    delimiter = str(DELIMITER_WORDS.get(imp.delimiter or ",", DELIMITER_WORDS[","]))
    return Preview(headers=list(imp.headers), rows=rows, encoding=str(ENCODING_LABELS.get(imp.encoding or "",
                   imp.encoding or "")), encoding_note=note, delimiter=delimiter)

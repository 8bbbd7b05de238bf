"""Upload: storing a CSV as it came (in ``ImportChunk`` rows), finding its encoding and delimiter,
and reading it back as numbered records (constant memory) for the preview and the run."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import insert, select

from app.blueprints.crm.models import Entity, Import, ImportChunk, ImportStatus
from app.blueprints.team.models import Membership
from app.errors import DomainError, NotFound
from app.extensions import db

CHUNK_BYTES = 1 << 20  # one ImportChunk row
PREVIEW_ROWS = 5
ENTITY_PATHS = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY, "deals": Entity.DEAL}
ENCODING_LABELS = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)", "utf-16": "UTF-16",
                   "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE", "cp1252": "Windows-1252"}
# Control characters text never holds (tab, newlines, form feed, vertical tab and ^Z are allowed).
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1b-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x19\x1b-\x1f]")

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
        if "".join(row).strip():  # some cell is not blank
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

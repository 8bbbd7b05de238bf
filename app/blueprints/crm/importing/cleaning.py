"""Cleaning rows: a CSV record's mapped cells turned into canonical values, errors and dedupe keys.

No database work once constructed: the run cleans the next batch while the database writes the
current one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from app import canonical
from app.blueprints.crm.export.service import unescape_cell
from app.blueprints.crm.models import Entity, Import
from app.blueprints.crm.records.fields import FIELDS, parse_custom
from app.blueprints.crm.records.service import custom_fields
from app.blueprints.team.public import phone_region

from .names import FULL_NAME, split_full_name

_PLAIN_EMAIL = re.compile(r"([a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
                          r"@([a-z0-9-]+(?:\.[a-z0-9-]+)+)")
IDENTITY = ("first_name", "last_name", "email", "phone", "telegram_username", "telegram_user_id")


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
    errors: list[Any]  # lazy texts (``_l``): the run writes them in every language (``status``)
    keys: list[tuple] = field(default_factory=list)  # dedupe keys, once references are resolved


class _Refusal:
    """Why ``parse`` refuses ``cell``, in the language current when it is read: the refusal is
    made again then (parsing is pure), so that a row's reason can be written in every language."""

    __slots__ = ("cell", "parse")

    def __init__(self, parse: Any, cell: str) -> None:
        self.parse, self.cell = parse, cell

    def __str__(self) -> str:
        try:
            self.parse(self.cell)
        except ValueError as err:
            return str(err)
        return ""


class _Lower:
    """A label in lower case, in the language current when it is read."""

    __slots__ = ("label",)

    def __init__(self, label: Any) -> None:
        self.label = label

    def __str__(self) -> str:
        return str(self.label).lower()


class _Cleaner:
    """What cleaning needs of an import: the mapped columns' fields, and a few per-import caches."""

    def __init__(self, imp: Import) -> None:
        self.org_id = imp.org_id
        self.entity = Entity(imp.entity)
        index = {h: i for i, h in enumerate(imp.headers)}
        self.columns = [(index[h], f) for h, f in imp.mapping.items() if h in index]
        mapped = {f for _, f in self.columns}
        self.email_domains: dict[str, bool] = {}
        self.width = len(imp.headers)
        by_field = {f: i for i, f in self.columns}
        region = phone_region(self.org_id)  # phones without a country code are read in it
        self.plan = [(f.in_region(region), by_field[f.name])
                     for f in FIELDS[self.entity] if f.name in by_field]
        self.custom_defs = [_FieldDef(c.key, c.label, c.kind, list(c.options or ()))
                            for c in custom_fields(self.org_id, self.entity) if f"custom.{c.key}" in mapped]
        self.custom_plan = [(d, by_field[f"custom.{d.key}"]) for d in self.custom_defs]
        self.contact_mapped = "contact" in mapped
        # A full name column (contacts) fills first and last name on rows that have neither.
        self.full_name = by_field.get(FULL_NAME) if self.entity == Entity.CONTACT else None
        self.name_fields = [f for f in FIELDS[Entity.CONTACT] if f.name in ("first_name", "last_name")]
        self.tag_names: dict[str, str] = {}  # lower(tag) -> the tag as first written

    def clean(self, batch: list[tuple[int, list[str]]]) -> list[_Row]:
        """The batch's rows cleaned (no database work)."""
        return [self._clean(number, cells) for number, cells in batch]
    def _clean(self, number: int, cells: list[str]) -> _Row:
        errors: list[str] = []
        width = self.width
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            errors.append(_l("The row has %(cells)s cells but the header names %(columns)s columns.",
                             cells=len(cells), columns=width))
        # What fields.clean(entity, row, custom, partial=True) does, unrolled over the mapped columns
        # only (tests hold the two to the same answers). unescape_cell undoes the formula guard our
        # export puts on cells such as "=Ada".
        n = len(cells)
        values: dict[str, Any] = {}
        for f, i in self.plan:
            cell = unescape_cell(cells[i]) if i < n else ""
            if not cell.strip() and f.reference != "tags":
                if f.required:
                    errors.append(_l("%(field)s is required.", field=f.label))
                else:
                    values[f.name] = None
            elif f.reference:
                values[f.name] = cell
            elif f.name == "email" and (email := self._plain_email(cell)) is not None:
                values["email"] = email
            else:
                try:
                    values[f.name] = f.parse(cell) if f.parse else cell.strip()
                except ValueError:
                    errors.append(_l("%(field)s: %(error)s.", field=f.label, error=_Refusal(f.parse, cell)))
        if self.full_name is not None and not values.get("first_name") and not values.get("last_name"):
            cell = unescape_cell(cells[self.full_name]) if self.full_name < n else ""
            self._split_name(cell, values, errors)
        custom: dict[str, Any] = {}
        for definition, i in self.custom_plan:
            cell = unescape_cell(cells[i]) if i < n else ""
            if cell.strip():
                try:
                    custom[definition.key] = parse_custom(definition, cell)
                except ValueError:
                    errors.append(_l("%(field)s: %(error)s.", field=definition.label,
                                     error=_Refusal(lambda c, d=definition: parse_custom(d, c), cell)))
        tags: list[str] = []
        if "tags" in values:
            for name in str(values.pop("tags") or "").replace(";", ",").split(","):
                name = name.strip()[:64]
                if name and name.lower() not in tags:
                    tags.append(name.lower())
                    self.tag_names.setdefault(name.lower(), name)
        if self.entity == Entity.CONTACT and not errors and not any(values.get(k) for k in IDENTITY):
            errors.append(_l("The row has no name, email, phone or Telegram handle."))
        row = _Row(number, cells, values, custom, tags, errors)
        if self.entity != Entity.DEAL and not errors:
            row.keys = self._keys(row)  # from cleaned values alone: made here, on the overlapped side
        return row

    def _split_name(self, cell: str, values: dict[str, Any], errors: list[str]) -> None:
        """First and last name from the full name cell; a blank cell leaves the row's values alone."""
        if not cell.strip():
            return
        split = split_full_name(cell)
        for f, part in zip(self.name_fields, split, strict=True):  # first_name, last_name
            try:
                values[f.name] = f.parse(part) or None
            except ValueError:
                errors.append(_l("Full name: the %(part)s is %(error)s.", part=_Lower(f.label),
                                 error=_Refusal(f.parse, part)))

    def _plain_email(self, raw: str) -> str | None:
        """``canonical.email(raw)`` for a plain ASCII address, its domain checked once per import
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
                ok = canonical.email(f"a@{domain}") == f"a@{domain}"
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

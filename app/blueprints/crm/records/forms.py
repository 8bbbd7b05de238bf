"""Record forms built from the field registry plus the organization's custom fields.

No WTForms here: the fields are data (``fields.FIELDS`` + ``CustomField`` rows), validation is
``fields.clean`` inside the service, so a form is just the inputs to draw, their typed-in values
and the service's field messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from app.blueprints.crm.models import CustomField, CustomFieldKind, DealStatus, Record
from app.blueprints.crm.records.fields import FIELDS
from app.canonical import currency_choices, timezone_label

KINDS = {"email": "email", "phone": "tel", "notes": "textarea", "do_not_contact": "checkbox",
         "expected_close": "date", "company": "company", "contact": "contact", "owner": "owner",
         "stage": "stage", "status": "status", "website": "url", "currency": "select", "timezone": "select"}
HINTS = {"phone": _l("With the country code, e.g. +44 20 7946 0958; a number of the organization's default "
                     "country (its settings) may go without."), "tags": _l("Separate tags with commas."),
         "contact": _l("Type a name, email, @handle or phone, and pick the contact."),
         "company": _l("Pick one, or type a new name to add the company."),
         "telegram_username": _l("Without the @.")}
# A deal's status as people read it (a deal is feminine in Russian: выиграна, проиграна).
STATUS_LABELS = {DealStatus.OPEN: _lp("deal status", "Open"),
                 DealStatus.WON: _lp("deal status", "Won"),
                 DealStatus.LOST: _lp("deal status", "Lost")}
UNASSIGNED = _l("Unassigned")


@dataclass
class Input:
    name: str  # the form key: a field name or custom.<key>
    label: str
    kind: str  # text email tel url textarea checkbox date number select company owner stage status
    value: str = ""
    error: str | None = None
    required: bool = False
    hint: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "f-" + self.name.replace(".", "-")


def display(value: Any) -> str:
    """A stored value as the text an input holds."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal | date):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return str(value)


def record_value(record: Record, name: str) -> str:
    """The form text of field ``name`` (or ``custom.<key>``) of ``record``."""
    if name.startswith("custom."):
        return display((record.custom or {}).get(name[len("custom."):]))
    if name == "owner":
        return display(record.owner_id)
    if name == "tags":
        return ", ".join(t.name for t in record.tags)
    if name == "company":
        return record.company.name if record.company else ""
    if name == "contact":
        contact = record.contact
        return contact.label if contact else ""
    if name == "stage":
        return display(record.stage_id)
    return display(getattr(record, name))


@cache
def timezone_choices(language: str) -> tuple[tuple[str, str], ...]:
    """Every time zone as (IANA name, the name people read: "Europe/London", «Россия (Москва)»),
    by what they read."""
    zones = ((zone, timezone_label(zone, language)) for zone in available_timezones())
    return tuple(sorted(zones, key=lambda zone: zone[1]))


def custom_input(definition: CustomField) -> Input:
    kind = {CustomFieldKind.NUMBER: "number", CustomFieldKind.DATE: "date",
            CustomFieldKind.SELECT: "select"}.get(CustomFieldKind(definition.kind), "text")
    return Input(f"custom.{definition.key}", definition.label, kind,
                 choices=[("", "—")] + [(o, o) for o in definition.options])


def build_inputs(entity: str, custom: list[CustomField], record: Record | None = None,
                 data: Mapping[str, str] | None = None, errors: Mapping[str, str] | None = None,
                 can_assign: bool = True, members: Iterable[Any] = (),
                 stage_rows: Iterable[Any] = ()) -> list[Input]:
    """The inputs of ``entity``'s form, filled from ``data`` (a re-render), else ``record``.

    ``members`` (users) and ``stage_rows`` give the owner and stage pickers their choices.
    """
    inputs = []
    for f in FIELDS[entity]:
        if f.name == "owner" and not can_assign:
            continue
        kind = KINDS.get(f.name, "text")
        inputs.append(Input(f.name, f.label, kind, required=f.required, hint=HINTS.get(f.name),
                            choices=[(c, c.capitalize()) for c in (f.choices or ())]))
        if f.name == "status":
            inputs[-1].choices = [(s.value, STATUS_LABELS[s]) for s in DealStatus]
        elif f.name == "owner":
            inputs[-1].choices = [("", UNASSIGNED)] + [(str(u.id), u.name) for u in members]
        elif f.name == "stage":
            inputs[-1].choices = [(str(s.id), s.name) for s in stage_rows]
        elif f.name == "currency":
            inputs[-1].choices = currency_choices(record.currency if record is not None else "")
        elif f.name == "timezone":
            inputs[-1].choices = [("", "—"), *timezone_choices(str(get_locale() or "en"))]
    inputs.extend(custom_input(d) for d in custom)
    for item in inputs:
        if data is not None:
            item.value = ("yes" if item.name in data else "") if item.kind == "checkbox" else \
                str(data.get(item.name, ""))
        elif record is not None:
            item.value = record_value(record, item.name)
        if errors:
            item.error = errors.get(item.name)
    return inputs


def raw_from(form: Mapping[str, str], inputs: list[Input]) -> dict[str, Any]:
    """What the service gets from a submitted form: every drawn input, checkboxes as yes/no."""
    raw: dict[str, Any] = {}
    for item in inputs:
        if item.kind == "checkbox":
            raw[item.name] = "yes" if item.name in form else "no"
        else:
            raw[item.name] = form.get(item.name, "")
    return raw

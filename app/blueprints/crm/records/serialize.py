"""A CRM record as the JSON the API returns: every field of ``fields.py``, references as ids plus a
small nested object, tags as names, custom values, owner, timestamps.

The shape is what a client may send back: ``PUT`` accepts a ``GET`` body as it is (nested
references are read by their ``id``; read-only keys such as ``created_at`` are ignored).
``schema`` and ``body_schema`` state both shapes for the API's contract, which checks a body
before ``from_json`` reads it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import String

from app.api import docs
from app.api.docs import ID, NULL_ID, obj, string
from app.blueprints.crm.models import Contact, CustomField, Deal, DealStatus, Entity, Record
from app.blueprints.crm.records.fields import FIELDS, Field
from app.canonical import ID_MAX
from app.errors import DomainError

# Keys a response carries that a request body may repeat but cannot set, by kind of record.
_READ_ONLY = ("id", "entity", "created_at", "updated_at", "deleted_at")
READ_ONLY = {Entity.CONTACT: (*_READ_ONLY, "display_name"), Entity.COMPANY: _READ_ONLY,
             Entity.DEAL: (*_READ_ONLY, "pipeline_id", "stage_entered_at", "position")}
_SINGLE_REFERENCES = ("company", "contact", "stage", "owner")

# The longest text a field's cleaner reads: its column's length, except where what may be typed
# is longer than what is stored (a website without its scheme, a phone without its spaces).
_RAW_LENGTH = {"email": 254, "phone": 64, "telegram_username": 64, "timezone": 64, "domain": 253,
               "website": 500}
_LONG_TEXT = 20_000  # notes, as fields.py cleans them
_CUSTOM_TEXT = 2_000  # a text custom value, as fields.parse_custom cleans it
_CUSTOM_KEY = r"^[a-z0-9_]{1,64}$"  # as custom_fields makes keys
_LARGEST_VALUE = 999_999_999_999.99  # what a deal's NUMERIC(14, 2) holds
_MAX_TAGS = 100
_TAG_LENGTH = 64  # Tag.name
_NAME_LENGTH = 254  # a reference by name: a company's or stage's name, a contact's or member's email
_BY_NAME = {"company": "a company's name (created when no company has it)", "contact": "a contact's email",
            "stage": "a stage's name in the default pipeline", "owner": "a member's email"}


def plain(value: Any) -> Any:
    """A JSON-safe scalar: Decimal as an exact string, dates and times as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _ref(related: Any) -> dict[str, Any] | None:
    return None if related is None else {"id": related.id, "name": related.name}


def record_json(entity: str, record: Record) -> dict[str, Any]:
    data: dict[str, Any] = {"id": record.id, "entity": str(entity)}
    for f in FIELDS[entity]:
        if f.reference == "tags":
            data["tags"] = [t.name for t in record.tags]
        elif f.reference == "owner":
            owner = record.owner
            data["owner_id"] = record.owner_id
            data["owner"] = None if owner is None else {"id": owner.id, "name": owner.name,
                                                        "email": owner.email}
        elif f.reference in ("company", "contact", "stage"):
            data[f"{f.name}_id"] = getattr(record, f"{f.name}_id")
            data[f.name] = _ref(getattr(record, f.name))
        else:
            data[f.name] = plain(getattr(record, f.name))
    if isinstance(record, Contact):
        data["display_name"] = record.name
    if isinstance(record, Deal):
        data["pipeline_id"] = record.pipeline_id
        data["position"] = record.position
        data["stage_entered_at"] = plain(record.stage_entered_at)
    data["custom"] = dict(record.custom or {})
    data["created_at"] = plain(record.created_at)
    data["updated_at"] = plain(record.updated_at)
    data["deleted_at"] = plain(record.deleted_at)
    return data


# -- the record as the API sends it --------------------------------------------------------------

def always(**properties: Any) -> dict[str, Any]:
    """An object schema whose every property is always sent, and no other."""
    return {**docs.always(**properties), "additionalProperties": False}


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


_INTEGER = {"type": "integer"}
_REF = always(id=_INTEGER, name=string())
_OWNER = always(id=_INTEGER, name=string(), email=string())
_TIME = string(format="date-time")
_CUSTOM = {"type": "object", "additionalProperties": {"type": ["string", "number"]},
           "description": "custom values by the custom field's key: text, a number, or a date YYYY-MM-DD"}


def _column(entity: str, name: str):
    from app.blueprints.crm.records.service import model_for

    return model_for(entity).__table__.c[name]


def _column_type(entity: str, name: str) -> dict[str, Any]:
    """A plain field as ``record_json`` sends it."""
    column = _column(entity, name)
    python_type = column.type.python_type
    kind = {bool: "boolean", int: "integer"}.get(python_type, "string")
    spec: dict[str, Any] = {"type": [kind, "null"] if column.nullable else kind}
    if python_type is date:
        spec["format"] = "date"
    elif python_type is Decimal:
        spec.update(format="decimal", pattern=r"^-?[0-9]+\.[0-9]{2}$")
    return spec


def schema(entity: str) -> dict[str, Any]:
    """The OpenAPI schema of ``record_json(entity, ...)``: every key, always sent."""
    props: dict[str, Any] = {"id": _INTEGER, "entity": string(const=str(entity))}
    for f in FIELDS[entity]:
        if f.reference == "tags":
            props["tags"] = {"type": "array", "items": string()}
        elif f.reference == "owner":
            props["owner_id"] = {"type": ["integer", "null"]}
            props["owner"] = _or_null(_OWNER)
        elif f.reference:
            props[f"{f.name}_id"] = {"type": ["integer", "null"]}
            props[f.name] = _or_null(_REF)
        else:
            props[f.name] = {**_column_type(entity, f.name), "description": f.english}
    if entity == Entity.CONTACT:
        props["display_name"] = string(description="the name, else the email, handle or phone")
    if entity == Entity.DEAL:
        props.update(pipeline_id={"type": ["integer", "null"]}, stage_entered_at=_TIME,
                     position={"type": "number", "description": "its place in its stage's column"})
    props.update(custom=_CUSTOM, created_at=_TIME, updated_at=_TIME,
                 deleted_at={"type": ["string", "null"], "format": "date-time"})
    return always(**props)


# -- the record as the API reads it --------------------------------------------------------------

def _text_limit(entity: str, name: str) -> int:
    if name in _RAW_LENGTH:
        return _RAW_LENGTH[name]
    column_type = _column(entity, name).type
    return column_type.length if isinstance(column_type, String) and column_type.length else _LONG_TEXT


def _plain_input(entity: str, f: Field) -> dict[str, Any]:
    """What a plain field takes: a value of its type (text within its limit), or null, which
    clears it (or keeps it, for a field that cannot be empty); a required field takes text only."""
    python_type = _column(entity, f.name).type.python_type
    if entity == Entity.DEAL and f.name == "status":
        return {"enum": [*(s.value for s in DealStatus), None],
                "description": "won or lost moves the deal to its pipeline's won or lost stage"}
    if python_type is Decimal:
        return {"type": ["number", "string", "null"], "minimum": -_LARGEST_VALUE, "maximum": _LARGEST_VALUE,
                "maxLength": 32, "description": f'{f.english}: a number, or text such as "12,500.50"'}
    if python_type is date:
        return {"type": ["string", "null"], "format": "date", "description": f"{f.english}, YYYY-MM-DD"}
    if python_type is int:
        low, high = (0, 100) if f.name == "probability" else (1, 2**63 - 1)
        return {"type": ["integer", "null"], "minimum": low, "maximum": high, "description": f.english}
    if python_type is bool:
        return {"type": ["boolean", "null"], "description": f.english}
    return {"type": "string" if f.required else ["string", "null"], "maxLength": _text_limit(entity, f.name),
            "description": f.english}


def _reference_input(f: Field) -> dict[str, Any]:
    """A reference: an id, the nested object a response carries (read by its id), a name, or null."""
    nested = {"id": ID, "name": string()} | ({"email": string()} if f.reference == "owner" else {})
    return {"type": ["integer", "string", "object", "null"], "minimum": 1, "maximum": ID_MAX,
            "maxLength": _NAME_LENGTH, "properties": nested, "required": ["id"],
            "description": f'{f.english}: an id, {{"id": n}}, {_BY_NAME[f.reference]}, or null for none'}


_TAGS_INPUT = {"type": ["array", "string", "null"], "items": string(maxLength=_TAG_LENGTH),
               "maxItems": _MAX_TAGS, "maxLength": _MAX_TAGS * (_TAG_LENGTH + 1),
               "description": "tag names (new ones are created), as a list or separated by commas; "
                              "the record's tags become these"}
_CUSTOM_INPUT = {"type": "object", "propertyNames": {"pattern": _CUSTOM_KEY},
                 "additionalProperties": {"type": ["string", "number", "null"], "maxLength": _CUSTOM_TEXT},
                 "description": "custom values by the custom field's key (null clears one)"}


def body_schema(entity: str, *, whole: bool) -> dict[str, Any]:
    """The JSON body that writes a record of ``entity``: every field, with the required ones
    required when the body is the ``whole`` record (create, replace)."""
    props: dict[str, Any] = {}
    for f in FIELDS[entity]:
        if f.reference == "tags":
            props["tags"] = _TAGS_INPUT
        elif f.reference:
            props[f.name] = _reference_input(f)
            props[f"{f.name}_id"] = {**NULL_ID, "description": f"as {f.name} (which wins if both are sent)"}
        else:
            props[f.name] = _plain_input(entity, f)
    props["custom"] = _CUSTOM_INPUT
    props.update({key: {"description": "read-only: accepted as a response sends it, ignored"}
                  for key in READ_ONLY[entity]})
    return obj([f.name for f in FIELDS[entity] if f.required] if whole else None, **props)


def from_json(entity: str, data: dict[str, Any], definitions: list[CustomField]) -> dict[str, Any]:
    """The service's loosely typed input from a body ``body_schema`` admits: read-only keys dropped,
    ``<reference>_id`` and a nested ``{"id": n}`` read as the reference, custom values keyed
    ``custom.<key>``. Raises DomainError naming every custom value no custom field has."""
    fields = {f.name for f in FIELDS[entity]}
    references = {f"{f.name}_id": f.name for f in FIELDS[entity] if f.reference in _SINGLE_REFERENCES}
    raw: dict[str, Any] = {}
    for key, value in data.items():
        if key in fields:
            raw[key] = value["id"] if isinstance(value, dict) else value
        elif key in references:
            raw.setdefault(references[key], value)  # the reference itself wins when both are sent
    custom = data.get("custom", {})
    unknown = sorted(set(custom) - {d.key for d in definitions})
    if unknown:
        raise DomainError(_("Unknown custom fields: %(keys)s.", keys=", ".join(unknown)),
                          {f"custom.{key}": _("Unknown custom field.") for key in unknown})
    raw.update({f"custom.{key}": value for key, value in custom.items()})
    return raw


def full_replacement(entity: str, raw: dict[str, Any], definitions: list[CustomField]) -> dict[str, Any]:
    """``raw`` for a PUT: every field absent from it is cleared, except the owner, which is kept
    (clearing it would be a reassignment)."""
    full = {f.name: None for f in FIELDS[entity] if f.reference != "owner"}
    full.update({f"custom.{d.key}": None for d in definitions})
    full.update(raw)
    return full

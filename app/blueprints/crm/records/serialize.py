"""A CRM record as the JSON the API returns: every field of ``fields.py``, references as ids plus a
small nested object, tags as names, custom values, owner, timestamps.

The shape is what a client may send back: ``PUT`` accepts a ``GET`` body as it is (nested
references are read by their ``id``; read-only keys such as ``created_at`` are ignored).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.blueprints.crm.models import Contact, CustomField, Deal, Entity, Record
from app.blueprints.crm.records.fields import FIELDS
from app.errors import DomainError

# Keys a response carries that a request body may repeat but cannot set.
READ_ONLY = frozenset({"id", "entity", "created_at", "updated_at", "deleted_at", "pipeline_id",
                       "stage_entered_at", "position", "display_name"})
_SINGLE_REFERENCES = ("company", "contact", "stage", "owner")


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


def _column_type(entity: str, name: str) -> dict[str, Any]:
    from app.blueprints.crm.records.service import model_for

    column = model_for(entity).__table__.c[name]
    python_type = column.type.python_type
    kind = {bool: "boolean", int: "integer"}.get(python_type, "string")
    spec: dict[str, Any] = {"type": [kind, "null"] if column.nullable else kind}
    if python_type is date:
        spec["format"] = "date"
    elif python_type is Decimal:
        spec["format"] = "decimal"
    return spec


def schema(entity: str) -> dict[str, Any]:
    """The OpenAPI schema of ``record_json(entity, ...)``."""
    props: dict[str, Any] = {"id": {"type": "integer"}, "entity": {"type": "string"}}
    ref = {"type": ["object", "null"], "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
    for f in FIELDS[entity]:
        if f.reference == "tags":
            props["tags"] = {"type": "array", "items": {"type": "string"}}
        elif f.reference == "owner":
            props["owner_id"] = {"type": ["integer", "null"]}
            props["owner"] = {"type": ["object", "null"], "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"}, "email": {"type": "string"}}}
        elif f.reference:
            props[f"{f.name}_id"] = {"type": ["integer", "null"]}
            props[f.name] = ref
        else:
            props[f.name] = {**_column_type(entity, f.name), "description": f.label}
    props.update({"custom": {"type": "object"},
                  "created_at": {"type": "string", "format": "date-time"},
                  "updated_at": {"type": "string", "format": "date-time"},
                  "deleted_at": {"type": ["string", "null"], "format": "date-time"}})
    if entity == Entity.CONTACT:
        props["display_name"] = {"type": "string"}
    return {"type": "object", "properties": props}


# -- request bodies ----------------------------------------------------------------------------

def from_json(entity: str, data: dict[str, Any], definitions: list[CustomField]) -> dict[str, Any]:
    """The service's loosely typed input from a JSON body; read-only keys are dropped.

    References may be an id, a nested ``{"id": ...}`` (as responses carry them), a name/email, or
    ``<reference>_id``. Raises DomainError naming every unknown key or ill-shaped value.
    """
    fields = {f.name: f for f in FIELDS[entity]}
    references = {f"{f.name}_id": f.name for f in FIELDS[entity] if f.reference in _SINGLE_REFERENCES}
    known_custom = {d.key for d in definitions}
    raw: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in data.items():
        if key in fields:
            raw[key] = value
        elif key in references:
            raw.setdefault(references[key], value)  # the reference itself wins when both are sent
        elif key == "custom" and isinstance(value, dict):
            for custom_key, custom_value in value.items():
                if custom_key in known_custom:
                    raw[f"custom.{custom_key}"] = custom_value
                else:
                    errors[f"custom.{custom_key}"] = "Unknown custom field."
        elif key == "custom":
            errors["custom"] = "Send custom values as an object: {\"key\": value}."
        elif key.startswith("custom.") and key[len("custom."):] in known_custom:
            raw[key] = value
        elif key not in READ_ONLY:
            errors[key] = "Unknown field."
    for key, value in list(raw.items()):
        f = fields.get(key)
        if f is not None and f.reference in _SINGLE_REFERENCES and isinstance(value, dict):
            if isinstance(value.get("id"), int) and not isinstance(value.get("id"), bool):
                raw[key] = value["id"]
            else:
                errors[key] = "Give the id, e.g. {\"id\": 12}, or the name."
        elif f is not None and f.reference == "tags":
            if not (value is None or isinstance(value, str)
                    or (isinstance(value, list) and all(isinstance(t, str) for t in value))):
                errors[key] = "Tags are a list of names."
        elif isinstance(value, dict | list):
            errors[key] = "Must be a single value."
    if errors:
        unknown = sorted(k for k, v in errors.items() if v.startswith("Unknown"))
        message = f"Unknown fields: {', '.join(unknown)}." if unknown else "Some fields need attention."
        raise DomainError(message, errors)
    return raw


def full_replacement(entity: str, raw: dict[str, Any], definitions: list[CustomField]) -> dict[str, Any]:
    """``raw`` for a PUT: every field absent from it is cleared, except the owner, which is kept
    (clearing it would be a reassignment)."""
    full = {f.name: None for f in FIELDS[entity] if f.reference != "owner"}
    full.update({f"custom.{d.key}": None for d in definitions})
    full.update(raw)
    return full

"""An organization's own fields: defined here, stored in each record's ``custom`` JSON.

Flask-free like the rest of the domain: explicit actor, flush, never commit.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.blueprints.crm.models import CustomField, CustomFieldKind, Entity
from app.blueprints.crm.records.fields import FIELDS
from app.blueprints.team.public import Membership, Permission, require
from app.errors import DomainError
from app.extensions import db
from app.tenancy import get_in_org

MAX_PER_ENTITY = 30


# Keys are Latin (the API's and the CSV's ``custom.<key>``): Cyrillic names are transliterated
# ("Уровень" -> "uroven"), so a field named in Russian gets a key too.
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p",
                      "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
                      "i", "yi", "ye", "g", "u"], strict=True))


def _key(label: str) -> str:
    latin = "".join(_CYRILLIC.get(c, c) for c in label.lower())
    return re.sub(r"[^a-z0-9]+", "_", latin).strip("_")[:64]


def create_custom_field(actor: Membership, entity: str, label: str, kind: str,
                        options: str | list[str] = "") -> CustomField:
    """A new field on ``entity``. Raises Forbidden (owners and admins only) or DomainError with
    field messages (blank or taken label, unknown kind, a select without options)."""
    require(actor, Permission.ORG_UPDATE)
    errors: dict[str, str] = {}
    label = (label or "").strip()[:100]
    if entity not in {e.value for e in Entity}:
        errors["entity"] = _("Choose contacts, companies or deals.")
    if kind not in {k.value for k in CustomFieldKind}:
        errors["kind"] = _("Choose text, number, date or select.")
    key = _key(label)
    if not key:
        errors["label"] = _("Give the field a name with at least one letter or digit.")
    elif entity in FIELDS and key in {f.name for f in FIELDS[entity]}:
        errors["label"] = _("That name is already a built-in field.")
    names = options if isinstance(options, list) else re.split(r"[,\n]", options or "")
    choices = list(dict.fromkeys(n.strip()[:100] for n in names if n.strip()))
    if kind == CustomFieldKind.SELECT and not choices:
        errors["options"] = _("List the choices, separated by commas.")
    if errors:
        raise DomainError(_("Some fields need attention."), errors)
    existing = db.session.scalars(select(CustomField.key).where(
        CustomField.org_id == actor.org_id, CustomField.entity == entity)).all()
    if key in existing:
        raise DomainError(_("That field exists already."), {"label": _("A field with this name exists.")})
    if len(existing) >= MAX_PER_ENTITY:
        raise DomainError(_("At most %(num)s custom fields per kind of record.", num=MAX_PER_ENTITY))
    position = db.session.scalar(select(func.coalesce(func.max(CustomField.position), -1)).where(
        CustomField.org_id == actor.org_id, CustomField.entity == entity)) + 1
    field = CustomField(org_id=actor.org_id, entity=entity, key=key, label=label, kind=kind,
                        options=choices if kind == CustomFieldKind.SELECT else [], position=position)
    db.session.add(field)
    db.session.flush()
    return field


def delete_custom_field(actor: Membership, field_id: int) -> CustomField:
    """Remove a definition. Values stay in the records' JSON, so re-creating the field brings them
    back. Raises NotFound (another org's id) or Forbidden."""
    field = get_in_org(CustomField, field_id, actor.org_id, "Custom field")
    require(actor, Permission.ORG_UPDATE)
    db.session.delete(field)
    db.session.flush()
    return field

"""The CRM's part of the team's activity log: each record a member created, changed, noted,
merged, trashed, restored or shared, from the records' timelines."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import select

from app.blueprints.crm.models import Activity, Company, Contact, Deal
from app.blueprints.crm.records.fields import FIELDS
from app.blueprints.team.public import ActivityEntry, ActivityQuery, narrow_activity, register_activity_source
from app.extensions import db

RANK = 2
_PATHS = {"contact": "contacts", "company": "companies", "deal": "deals"}
_MODELS = {"contact": Contact, "company": Company, "deal": Deal}
_KINDS = {"contact": _l("Contact"), "company": _l("Company"), "deal": _l("Deal")}
# What was done, as a noun ("Change · Contact «Ann Lee»" reads alike in both languages).
_DONE = {
    "created": _lp("activity log", "Creation"),
    "updated": _lp("activity log", "Change"),
    "note": _lp("activity log", "Note"),
    "merged": _lp("activity log", "Merge"),
    "deleted": _lp("activity log", "Moved to the trash"),
    "restored": _lp("activity log", "Restored"),
    "imported": _lp("activity log", "Import"),
    "stage_moved": _lp("activity log", "Stage move"),
    "shared": _lp("activity log", "Shared"),
    "unshared": _lp("activity log", "No longer shared"),
}


def _names(rows: list[Activity]) -> dict[tuple[str, int], str]:
    wanted: dict[str, set[int]] = {}
    for row in rows:
        wanted.setdefault(row.subject_type, set()).add(row.subject_id)
    names = {}
    for entity, ids in wanted.items():
        model = _MODELS.get(entity)
        if model is not None:
            for record in db.session.scalars(select(model).where(model.id.in_(ids))):
                names[(entity, record.id)] = record.title if entity == "deal" else record.name
    return names


def _field_labels(entity: str, changes: dict) -> str:
    """The changed fields by their labels in the viewer's language (custom ones by their key)."""
    labels = {f.name: str(f.label) for f in FIELDS.get(entity, ())}
    return ", ".join(labels.get(name, name) for name in changes)


def activity_entries(query: ActivityQuery, limit: int) -> list[ActivityEntry]:
    rows = list(db.session.scalars(
        select(Activity).where(
            Activity.org_id == query.org_id, Activity.actor_id.is_not(None),
            narrow_activity(query, RANK, Activity.created_at, Activity.id, Activity.actor_id))
        .order_by(Activity.created_at.desc(), Activity.id.desc()).limit(limit)))
    names = _names(rows)
    entries = []
    for row in rows:
        name = names.get((row.subject_type, row.subject_id))
        record = _("%(kind)s «%(name)s»", kind=_KINDS.get(row.subject_type, row.subject_type),
                   name=name) if name else str(_KINDS.get(row.subject_type, row.subject_type))
        changes = (row.data or {}).get("changes", {}) if row.kind == "updated" else {}
        fields = _field_labels(row.subject_type, changes)
        entries.append(ActivityEntry(
            at=row.created_at, actor_id=row.actor_id, group="records", rank=RANK, row_id=row.id,
            summary=_("%(done)s · %(record)s", done=_DONE.get(row.kind, row.kind), record=record),
            link=("crm.detail", {"entities": _PATHS[row.subject_type], "record_id": row.subject_id})
            if name and row.subject_type in _PATHS else None,
            details=[(_("Fields"), fields)] if fields else []))
    return entries


register_activity_source("records", RANK, activity_entries)

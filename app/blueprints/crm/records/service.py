"""Operations on companies, contacts and deals. Flask-free: explicit actor, flush, never commit.

Every change writes the record's timeline. Deleting moves to the trash (restorable for
TRASH_DAYS days). Agents edit the records they own (or nobody owns) and the contacts shared with
them with those contacts' deals (``records.sharing``); managers and above edit all.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, delete, false, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.blueprints.auth.public import User
from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.events import (
    ContactCreated,
    ContactsMerged,
    DealCreated,
    DealDeleted,
    DealRestored,
    DealUpdated,
)
from app.blueprints.crm.models import (
    Activity,
    Company,
    Contact,
    ContactShare,
    CustomField,
    Deal,
    DealStatus,
    Entity,
    Record,
    Tag,
)
from app.blueprints.crm.records.fields import FIELDS, Cleaned, clean
from app.blueprints.team.public import Membership, Permission, can, default_currency, phone_region, require
from app.canonical import id_or_none, search_fold
from app.canonical import phone as canonical_phone
from app.db_types import utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.events import emit
from app.extensions import db

TRASH_DAYS = 30
MODELS: dict[str, type[Record]] = {Entity.CONTACT: Contact, Entity.COMPANY: Company, Entity.DEAL: Deal}
NOT_FOUND = {Entity.CONTACT: _l("Contact not found."), Entity.COMPANY: _l("Company not found."),
             Entity.DEAL: _l("Deal not found.")}


def model_for(entity: str) -> type[Record]:
    try:
        return MODELS[Entity(entity)]
    except ValueError:
        raise NotFound(_("No such kind of record.")) from None


# -- reading one record ------------------------------------------------------------------------

def get_record(org_id: int, entity: str, record_id: int, trashed: bool = False) -> Record:
    """The live (or, with ``trashed``, the deleted) record. Raises NotFound outside the org."""
    model = model_for(entity)
    stmt = select(model).where(model.org_id == org_id, model.id == record_id)
    stmt = stmt.where(model.deleted_at.is_not(None) if trashed else model.deleted_at.is_(None))
    record = db.session.scalar(stmt)
    if record is None:
        raise NotFound(str(NOT_FOUND[Entity(entity)]))
    return record


def custom_fields(org_id: int, entity: str) -> list[CustomField]:
    return list(db.session.scalars(
        select(CustomField).where(CustomField.org_id == org_id, CustomField.entity == entity)
        .order_by(CustomField.position, CustomField.id)
    ))


# -- search text -------------------------------------------------------------------------------

def search_text(entity: str, record: Record) -> str:
    """What search matches against, folded by ``canonical.search_fold`` (Ёжик as ежик): names,
    email, phone, Telegram handle, company."""
    columns = {c.key: getattr(record, c.key) for c in record.__table__.columns}
    company = getattr(record, "company", None)
    contact = getattr(record, "contact", None)
    return search_text_from(entity, columns, company_name=company.name if company else None,
                            contact_name=contact.name if contact else None)


def search_text_from(entity: str, values: dict[str, Any], company_name: str | None = None,
                     contact_name: str | None = None) -> str:
    """``search_text`` from plain column values: records and bulk writers (the CSV import) share it."""
    if entity == Entity.CONTACT:
        phone, username = values.get("phone"), values.get("telegram_username")
        parts = [values.get("first_name"), values.get("last_name"), values.get("email"), phone,
                 (phone or "").lstrip("+"), username, f"@{username}" if username else None,
                 str(values.get("telegram_user_id") or ""), company_name, values.get("title")]
    elif entity == Entity.COMPANY:
        parts = [values.get("name"), values.get("domain"), values.get("industry")]
    else:
        parts = [values.get("title"), contact_name, company_name]
    return search_fold(" ".join(p for p in parts if p))


# -- references --------------------------------------------------------------------------------

def resolve_owner(org_id: int, value: Any) -> int | None:
    """A user id of an org member, from an id or an email. Raises ValueError."""
    if value in (None, ""):
        return None
    user_id = id_or_none(value)
    stmt = select(Membership.user_id).join(User, User.id == Membership.user_id).where(
        Membership.org_id == org_id)
    if user_id is not None:
        stmt = stmt.where(Membership.user_id == user_id)
    else:
        stmt = stmt.where(func.lower(User.email) == str(value).strip().lower())
    found = db.session.scalar(stmt)
    if found is None:
        raise ValueError(_("not a member of this organization"))
    return found


def resolve_company(org_id: int, value: Any, create: bool = True) -> Company | None:
    """A live company from an id, or by name (created when missing and ``create``)."""
    if value in (None, ""):
        return None
    company_id = id_or_none(value)
    if company_id is not None:
        company = db.session.scalar(select(Company).where(
            Company.org_id == org_id, Company.id == company_id, Company.deleted_at.is_(None)))
        if company is None:
            raise ValueError(_("no such company"))
        return company
    name = str(value).strip()[:200]
    company = db.session.scalar(select(Company).where(
        Company.org_id == org_id, func.lower(Company.name) == name.lower(), Company.deleted_at.is_(None)
    ).order_by(Company.id).limit(1))
    if company is None and create:
        company = Company(org_id=org_id, name=name, custom={})
        company.search_text = search_text(Entity.COMPANY, company)
        db.session.add(company)
        db.session.flush()
    return company


def resolve_contact(org_id: int, value: Any) -> Contact | None:
    """A live contact from an id, or from what a person typed or picked: a suggestion's label
    (``Contact.label``: "Name · email"), an email, "#id", "@handle", a phone number, or a full
    name that only one contact has. ValueError says why none was found."""
    if value in (None, ""):
        return None
    stmt = select(Contact).where(Contact.org_id == org_id, Contact.deleted_at.is_(None))
    contact_id = id_or_none(value)
    text, by_name = str(value).strip(), False
    detail = text.rsplit(" · ", 1)[-1].strip()  # a label's distinguishing part; else all of it
    if contact_id is None and detail.startswith("#"):
        contact_id = id_or_none(detail[1:])
    if contact_id is not None:
        stmt = stmt.where(Contact.id == contact_id)
    elif "@" in detail[1:]:
        stmt = stmt.where(Contact.email == detail.lower())
    elif detail.startswith("@"):
        stmt = stmt.where(Contact.telegram_username == detail[1:].lower())
    elif sum(c.isdigit() for c in detail) >= 5:
        try:
            stmt = stmt.where(Contact.phone == canonical_phone(detail, phone_region(org_id)))
        except ValueError:
            raise ValueError(_("no such contact")) from None
    else:
        full_name = func.trim(Contact.first_name + " " + Contact.last_name)
        stmt, by_name = stmt.where(func.lower(full_name) == text.lower()), True
    found = list(db.session.scalars(stmt.order_by(Contact.id).limit(2)))
    if not found:
        raise ValueError(_("no such contact"))
    if len(found) > 1 and by_name:  # a handle or number two contacts share: the oldest, as before
        raise ValueError(_("more than one contact is called %(name)s; pick one of the suggestions",
                           name=text))
    return found[0]


def tags_from(org_id: int, value: Any) -> list[Tag]:
    """Tag rows for a list or comma/semicolon separated names, creating new names."""
    if value in (None, ""):
        return []
    names = value if isinstance(value, list | tuple) else str(value).replace(";", ",").split(",")
    wanted: dict[str, str] = {}
    for name in names:
        clean_name = str(name).strip()[:64]
        if clean_name:
            wanted.setdefault(clean_name.lower(), clean_name)
    if not wanted:
        return []
    existing = _tags_named(org_id, wanted)
    missing = [name for key, name in wanted.items() if key not in existing]
    if missing:
        # Names are unique per organization, and another request may be creating one of these.
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(dialect.insert(Tag.__table__).on_conflict_do_nothing(),
                           [{"org_id": org_id, "name": name} for name in missing])
        existing.update(_tags_named(org_id, dict(zip(map(str.lower, missing), missing, strict=True))))
    return [existing[key] for key in wanted]


def _tags_named(org_id: int, wanted: dict[str, str]) -> dict[str, Tag]:
    """The organization's tags by lower-cased name, for ``wanted`` (lower-cased name -> name).
    Matched on the name as given too: SQLite's lower() folds ASCII letters only, so a name such as
    "Ärzte" is found by its own spelling there."""
    found = db.session.scalars(select(Tag).where(
        Tag.org_id == org_id, func.lower(Tag.name).in_(list(wanted)) | Tag.name.in_(list(wanted.values()))))
    tags: dict[str, Tag] = {}
    for tag in found:
        tags.setdefault(tag.name.lower(), tag)
    return tags


# -- writing -----------------------------------------------------------------------------------

def _apply(org_id: int, entity: str, record: Record, cleaned: Cleaned) -> Any:
    """Set cleaned values on ``record``, resolving references. Raises DomainError with fields.

    A deal's stage is not set here but returned: moving a deal obeys the stage rules and writes
    its history, which ``create_record`` and ``update_record`` do once the record is valid.
    """
    errors = dict(cleaned.errors)
    stage: Any = None  # a stage of the pipeline domain (``deal_stages``)
    references = {f.name: f.reference for f in FIELDS[entity] if f.reference}
    # Plain fields first, references after: a stage decides the status of a deal it wins or loses.
    ordered = sorted(cleaned.values.items(), key=lambda item: item[0] in references)
    status: str | None = None
    for name, value in ordered:
        kind = references.get(name)
        try:
            if isinstance(record, Deal) and name == "status":
                status = value  # follows from the stage: a change becomes a move, below
            elif kind is None:
                if value is None and not record.__table__.c[name].nullable:
                    continue  # blank means "keep / derive" for required columns such as status
                setattr(record, name, value)
            elif kind == "owner":
                record.owner_id = resolve_owner(org_id, value)
            elif kind == "company":
                record.company = resolve_company(org_id, value)
            elif kind == "contact":
                record.contact = resolve_contact(org_id, value)
            elif kind == "stage":
                stage = stage_keeper().find(org_id, value) if value not in (None, "") else None
            elif kind == "tags":
                record.tags = tags_from(org_id, value)
        except ValueError as err:
            label = next(f.label for f in FIELDS[entity] if f.name == name)
            errors[name] = _("%(field)s: %(error)s.", field=label, error=err)
    if isinstance(record, Deal) and status and stage is None and status != (record.status or "open"):
        try:
            stage = stage_keeper().for_status(org_id, record, status)
        except ValueError as err:
            errors["status"] = _("%(field)s: %(error)s.", field=next(
                f.label for f in FIELDS[entity] if f.name == "status"), error=err)
    if errors:
        raise DomainError(_("Some fields need attention."), errors)
    if cleaned.custom:
        record.custom = {**(record.custom or {}), **cleaned.custom}
        record.custom = {k: v for k, v in record.custom.items() if v is not None}
    if isinstance(record, Deal):
        if record.status != DealStatus.LOST and stage is None:  # a stage change settles it instead
            record.lost_reason = None
        record.currency = record.currency or default_currency(org_id)
    record.search_text = search_text(entity, record)
    return stage


def _deal_ids(deal: Deal, actor: Membership | None) -> dict[str, Any]:
    """The ids every deal event carries."""
    return {"org_id": deal.org_id, "actor_id": actor.user_id if actor else None, "deal_id": deal.id,
            "pipeline_id": deal.pipeline_id, "stage_id": deal.stage_id}


class Viewer(Protocol):
    """Anyone whose rights are checked: a Membership, or a realtime Connection."""

    org_id: int
    user_id: int
    role: str


def shared_contact_ids(viewer: Viewer) -> Select:
    """A subquery: the live contacts shared with ``viewer`` (``ContactShare``). Who a contact is
    shared with edits it and its deals (``can_edit``) and sees its chats (the inbox's sight)."""
    return (select(ContactShare.contact_id).join(Contact, Contact.id == ContactShare.contact_id)
            .where(ContactShare.org_id == viewer.org_id, ContactShare.user_id == viewer.user_id,
                   Contact.deleted_at.is_(None)))


def is_shared_with(viewer: Viewer, contact_id: int | None) -> bool:
    """Whether live contact ``contact_id`` is shared with ``viewer``."""
    if contact_id is None:
        return False
    found = db.session.scalar(shared_contact_ids(viewer).where(ContactShare.contact_id == contact_id))
    return found is not None


def _shared_contact_of(record: Record) -> int | None:
    """The contact whose sharing extends to ``record``: a contact itself, a deal's contact."""
    if isinstance(record, Contact):
        return record.id
    return record.contact_id if isinstance(record, Deal) else None


def can_edit(actor: Membership, record: Record) -> bool:
    """Agents edit what they own (or nobody owns), and the contacts shared with them and those
    contacts' deals; managers and above edit everything."""
    return (record.owner_id in (None, actor.user_id) or can(actor.role, Permission.RECORDS_EDIT_ALL)
            or is_shared_with(actor, _shared_contact_of(record)))


def not_editable_by(actor: Membership, model: type[Record]):
    """``can_edit`` in SQL, negated: the rows of ``model`` the actor may not edit."""
    if can(actor.role, Permission.RECORDS_EDIT_ALL):
        return false()
    others = and_(model.owner_id.is_not(None), model.owner_id != actor.user_id)
    if model is Contact:
        return and_(others, Contact.id.not_in(shared_contact_ids(actor)))
    if model is Deal:
        return and_(others, or_(Deal.contact_id.is_(None), Deal.contact_id.not_in(shared_contact_ids(actor))))
    return others


def check_edit(actor: Membership, record: Record) -> None:
    """Raises Forbidden unless ``actor`` may edit ``record``."""
    if not can_edit(actor, record):
        raise Forbidden(_("You can edit only the records you own. Ask a manager to reassign it."))


def snapshot(entity: str, record: Record) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in FIELDS[entity]:
        if f.reference == "tags":
            data["tags"] = sorted(t.name for t in record.tags)
        elif f.reference in ("company", "contact", "stage"):
            related = getattr(record, f.name)
            data[f.name] = getattr(related, "name", None) if related is not None else None
        elif f.reference == "owner":
            data["owner"] = record.owner_id
        else:
            value = getattr(record, f.name)
            data[f.name] = str(value) if isinstance(value, Decimal) else (
                value.isoformat() if hasattr(value, "isoformat") else value)
    for key, value in (record.custom or {}).items():
        data[f"custom.{key}"] = value
    return data


def record_activity(actor: Membership | None, entity: str, record: Record, kind: str,
                    body: str | None = None, **data: Any) -> Activity:
    activity = Activity(org_id=record.org_id, subject_type=entity, subject_id=record.id, kind=kind,
                        actor_id=actor.user_id if actor else None, body=body, data=data)
    db.session.add(activity)
    return activity


def create_record(actor: Membership, entity: str, raw: dict[str, Any]) -> Record:
    """A new record from loosely typed input. Raises DomainError with field messages."""
    if "owner" not in raw:
        raw = {**raw, "owner": actor.user_id}  # new records belong to whoever creates them
    cleaned = clean(entity, raw, custom_fields(actor.org_id, entity), region=phone_region(actor.org_id))
    record = model_for(entity)(org_id=actor.org_id, custom={})
    with db.session.no_autoflush:
        stage = _apply(actor.org_id, entity, record, cleaned)
        if isinstance(record, Deal):
            stage = stage or stage_keeper().first(actor.org_id)
            stage_keeper().check_new(record, stage)
    db.session.add(record)
    db.session.flush()
    record_activity(actor, entity, record, "created")
    if isinstance(record, Contact):
        emit(ContactCreated(org_id=record.org_id, actor_id=actor.user_id, contact_id=record.id))
    if isinstance(record, Deal):
        emit(DealCreated(**{**_deal_ids(record, actor), "pipeline_id": stage.pipeline_id,
                            "stage_id": stage.id}))
        stage_keeper().enter_new(actor.user_id, record, stage)  # then DealWon / DealLost if it starts closed
        db.session.flush()
    return record


def create_contact_unattended(org_id: int, raw: dict[str, Any], *, via: str) -> Contact:
    """A contact the system makes on nobody's behalf (someone wrote to a connected Telegram
    account): no owner; a value that does not clean is left out rather than refused."""
    definitions = custom_fields(org_id, Entity.CONTACT)
    region = phone_region(org_id)
    cleaned = clean(Entity.CONTACT, raw, definitions, region=region)
    if cleaned.errors:
        cleaned = clean(Entity.CONTACT, {k: v for k, v in raw.items() if k not in cleaned.errors},
                        definitions, region=region)
    contact = Contact(org_id=org_id, custom={})
    with db.session.no_autoflush:
        _apply(org_id, Entity.CONTACT, contact, cleaned)
    db.session.add(contact)
    db.session.flush()
    record_activity(None, Entity.CONTACT, contact, "created", via=via)
    emit(ContactCreated(org_id=org_id, actor_id=None, contact_id=contact.id, via=via))
    return contact


def update_record(actor: Membership, entity: str, record_id: int, raw: dict[str, Any],
                  partial: bool = True) -> Record:
    """Change the fields present in ``raw`` (all fields when not ``partial``).

    Raises NotFound, Forbidden (not the actor's record) or DomainError with field messages.
    """
    record = get_record(actor.org_id, entity, record_id)
    check_edit(actor, record)
    if "owner" in raw and not can(actor.role, Permission.RECORDS_EDIT_ALL):
        raise Forbidden(_("Only managers and above can reassign records."))
    before = snapshot(entity, record)
    cleaned = clean(entity, raw, custom_fields(actor.org_id, entity), partial=partial,
                    region=phone_region(actor.org_id))
    with db.session.no_autoflush:
        stage = _apply(actor.org_id, entity, record, cleaned)
        if stage is not None:
            stage_keeper().move(actor, record, stage)  # RuleBroken names the rule (on the stage field)
    db.session.flush()
    after = snapshot(entity, record)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if changes:
        # The stage history is the record of moves; the timeline shows it, not a second entry.
        shown = {k: v for k, v in changes.items() if k != "stage"}
        if shown:
            record_activity(actor, entity, record, "updated", changes=shown)
        if isinstance(record, Company) and "name" in changes:
            _refresh_contact_search(record)
        moved = {"stage", "status"} if stage is not None else set()  # DealMoved / DealWon said it
        rest = {k: v for k, v in changes.items() if k not in moved}
        if isinstance(record, Deal) and rest:
            emit(DealUpdated(**_deal_ids(record, actor), changes=rest))
    return record


OUTCOMES = (DealStatus.WON.value, DealStatus.LOST.value)


def close_deal(actor: Membership, deal_id: int, outcome: Any, reason: Any = None) -> Record:
    """Mark a deal won or lost: into its pipeline's won or lost stage, by the stage rules (a
    RuleBroken names what "Won" still needs). A lost deal needs its reason, the one thing a team
    learns from losing it. Raises NotFound, Forbidden or DomainError with field messages."""
    if outcome not in OUTCOMES:
        raise DomainError(_("Choose won or lost."), {"status": _("Choose won or lost.")})
    raw: dict[str, Any] = {"status": outcome}
    if outcome == DealStatus.LOST.value:
        text = reason.strip() if isinstance(reason, str) else ""
        if not text:
            message = _("Say why the deal was lost.")
            raise DomainError(message, {"lost_reason": message})
        raw["lost_reason"] = text
    return update_record(actor, Entity.DEAL, deal_id, raw)


def _refresh_contact_search(company: Company) -> None:
    for contact in db.session.scalars(select(Contact).where(Contact.company_id == company.id)):
        contact.search_text = search_text(Entity.CONTACT, contact)


def add_note(actor: Membership, entity: str, record_id: int, body: str) -> Activity:
    record = get_record(actor.org_id, entity, record_id)
    text = (body or "").strip()
    if not text:
        raise DomainError(_("Write something first."), {"body": _("The note is empty.")})
    if len(text) > 20_000:
        raise DomainError(_("That note is too long."), {"body": _("At most 20,000 characters.")})
    activity = record_activity(actor, entity, record, "note", body=text)
    db.session.flush()
    return activity


# -- trash -------------------------------------------------------------------------------------

def live_ids(org_id: int, entity: str, ids: Iterable[int], trashed: bool) -> list[int]:
    model = model_for(entity)
    ids = list({int(i) for i in ids})
    if not ids:
        return []
    found: list[int] = []
    for start in range(0, len(ids), 500):
        stmt = select(model.id).where(model.org_id == org_id, model.id.in_(ids[start:start + 500]))
        stmt = stmt.where(model.deleted_at.is_not(None) if trashed else model.deleted_at.is_(None))
        found.extend(db.session.scalars(stmt))
    return found


def log_many(actor: Membership, entity: str, ids: list[int], kind: str, **data: Any) -> None:
    if ids:
        db.session.execute(insert(Activity), [
            {"org_id": actor.org_id, "subject_type": entity, "subject_id": i, "kind": kind,
             "actor_id": actor.user_id, "data": data, "created_at": utcnow()} for i in ids])


def update_in_chunks(model: type[Record], ids: list[int], **values: Any) -> None:
    for start in range(0, len(ids), 500):
        db.session.execute(update(model).where(model.id.in_(ids[start:start + 500])).values(**values)
                           .execution_options(synchronize_session=False))


def _move_trash(actor: Membership, entity: str, ids: Iterable[int], to_trash: bool) -> int:
    require(actor, Permission.RECORDS_DELETE)
    moved = live_ids(actor.org_id, entity, ids, trashed=not to_trash)
    update_in_chunks(model_for(entity), moved, deleted_at=utcnow() if to_trash else None)
    log_many(actor, entity, moved, "deleted" if to_trash else "restored")
    if entity == Entity.DEAL:
        emit_many(actor, moved, DealDeleted if to_trash else DealRestored)
    db.session.expire_all()
    return len(moved)


def emit_many(actor: Membership, ids: list[int], event_type: type,
               changes: Any = None) -> None:
    """One event per deal of ``ids`` (bulk paths), with its pipeline and stage. ``changes`` is a
    dict for every deal, or a function of the deal's current owner id (read before a reassignment)."""
    for start in range(0, len(ids), 500):
        rows = db.session.execute(select(Deal.id, Deal.pipeline_id, Deal.stage_id, Deal.owner_id).where(
            Deal.org_id == actor.org_id, Deal.id.in_(ids[start:start + 500])))
        for deal_id, pipeline_id, stage_id, owner_id in rows:
            extra = {} if changes is None else {
                "changes": changes(owner_id) if callable(changes) else changes}
            emit(event_type(org_id=actor.org_id, actor_id=actor.user_id, deal_id=deal_id,
                            pipeline_id=pipeline_id, stage_id=stage_id, **extra))


def trash_records(actor: Membership, entity: str, ids: Iterable[int]) -> int:
    """Move records to the trash; returns how many moved. Raises Forbidden."""
    return _move_trash(actor, entity, ids, to_trash=True)


def restore_records(actor: Membership, entity: str, ids: Iterable[int]) -> int:
    """Bring records back from the trash; returns how many came back. Raises Forbidden."""
    return _move_trash(actor, entity, ids, to_trash=False)


def purge_trash(org_id: int | None = None, days: int = TRASH_DAYS) -> int:
    """Delete for good what has been in the trash longer than ``days`` (a scheduled job)."""
    cutoff = utcnow() - timedelta(days=days)
    total = 0
    for model in MODELS.values():
        stmt = delete(model).where(model.deleted_at.is_not(None), model.deleted_at < cutoff)
        if org_id is not None:
            stmt = stmt.where(model.org_id == org_id)
        total += db.session.execute(stmt).rowcount or 0
    return total


# -- merge -------------------------------------------------------------------------------------

def merge_contacts(actor: Membership, keep_id: int, other_ids: Iterable[int]) -> Contact:
    """Fold ``other_ids`` into contact ``keep_id``: blank fields filled, tags, custom values, deals
    and timeline carried over (chats too, by whoever hears ``ContactsMerged``), the others moved to
    the trash. Raises NotFound / Forbidden."""
    require(actor, Permission.RECORDS_DELETE)
    keep = get_record(actor.org_id, Entity.CONTACT, keep_id)
    others = [get_record(actor.org_id, Entity.CONTACT, i) for i in dict.fromkeys(other_ids) if i != keep_id]
    if not others:
        raise DomainError(_("Pick at least one other contact to merge."))
    for other in others:
        for f in FIELDS[Entity.CONTACT]:
            if f.reference in (None, "company") and getattr(keep, f.name, None) in (None, "", False):
                setattr(keep, f.name, getattr(other, f.name))
        keep.owner_id = keep.owner_id or other.owner_id
        keep.tags = list({t.id: t for t in [*keep.tags, *other.tags]}.values())
        keep.custom = {**(other.custom or {}), **(keep.custom or {})}
        db.session.execute(update(Deal).where(Deal.contact_id == other.id).values(contact_id=keep.id)
                           .execution_options(synchronize_session=False))
        db.session.execute(update(Activity).where(
            Activity.org_id == actor.org_id, Activity.subject_type == Entity.CONTACT,
            Activity.subject_id == other.id).values(subject_id=keep.id)
            .execution_options(synchronize_session=False))
        other.deleted_at = utcnow()
        # Identity keys move to the survivor, so the duplicate cannot match future imports.
        other.email = other.phone = other.telegram_username = None
        other.telegram_user_id = None
        record_activity(actor, Entity.CONTACT, keep, "merged", merged_id=other.id, merged_name=other.name)
    keep.search_text = search_text(Entity.CONTACT, keep)
    db.session.flush()
    emit(ContactsMerged(org_id=actor.org_id, actor_id=actor.user_id, contact_id=keep.id,
                        merged_ids=tuple(o.id for o in others)))
    return keep


def trashed_since(record: Record) -> int | None:
    """Days a trashed record has left before it is purged."""
    if record.deleted_at is None:
        return None
    left = TRASH_DAYS - (utcnow() - record.deleted_at).days
    return max(left, 0)


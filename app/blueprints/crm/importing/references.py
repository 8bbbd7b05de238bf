"""References in rows (owners, companies, contacts, stages, tags) found or created in bulk, and
the bulk insert that gives new records their ids."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text, update

from app.blueprints.auth.public import User
from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.models import Company, Contact, Entity, Import, Tag
from app.blueprints.crm.records.service import model_for, search_text_from
from app.blueprints.team.public import Membership
from app.bulk_insert import insert_rows
from app.db_types import utcnow
from app.extensions import db

from .bulk import _bulk_search_index, _contact_name, _parts
from .cleaning import _Cleaner, _Row


class _References(_Cleaner):
    """An import's reference caches (ORM rows expire at every batch's commit: plain values here)."""

    def __init__(self, imp: Import, actor: Membership) -> None:
        super().__init__(imp)
        self.imp, self.actor = imp, actor
        # Plain values: row generators run while a COPY holds the connection.
        self.actor_id, self.import_ref = actor.user_id, imp.id
        self.model = model_for(self.entity)
        self.table = self.model.__table__
        self.dry = imp.dry_run
        self.owners = self._load_owners()
        self.companies: dict[str, int] = {}  # lower(name) -> id
        self.company_names: dict[int, str] = {}
        self.contact_names: dict[int, str] = {}
        self.contact_keys: dict[str, int] = {}  # lower(email) or str(id) -> contact id
        self.tags: dict[str, int] = {}
        # A deal's stage is the pipeline's: it finds the named stages and records the entries.
        self.stages = stage_keeper().for_import(self.org_id) if self.entity == Entity.DEAL else None
        self.fake_ids = itertools.count(-1, -1)

    def _load_owners(self) -> dict[str, int]:
        owners: dict[str, int] = {}
        for user_id, email in db.session.execute(
                select(User.id, User.email).join(Membership, Membership.user_id == User.id)
                .where(Membership.org_id == self.org_id)):
            owners[str(user_id)] = user_id
            owners[email.lower()] = user_id
        return owners

    def _lookup_companies(self, rows: list[_Row]) -> None:
        names = {str(r.values["company"]).strip()[:200].lower() for r in rows
                 if r.values.get("company") is not None and not str(r.values["company"]).strip().isdigit()}
        ids = {int(str(r.values["company"]).strip()) for r in rows
               if r.values.get("company") is not None and str(r.values["company"]).strip().isdigit()}
        names -= self.companies.keys()
        ids -= self.company_names.keys()
        for part in _parts(sorted(names)):
            for cid, name in db.session.execute(
                    select(Company.id, Company.name).where(
                        Company.org_id == self.org_id, Company.deleted_at.is_(None),
                        func.lower(Company.name).in_(part))):
                if cid < self.companies.get(name.lower(), cid + 1):  # the oldest, as the form picks
                    self.companies[name.lower()] = cid
                self.company_names[cid] = name
        for part in _parts(sorted(ids)):
            for cid, name in db.session.execute(select(Company.id, Company.name).where(
                    Company.org_id == self.org_id, Company.deleted_at.is_(None), Company.id.in_(part))):
                self.company_names[cid] = name

    def _lookup_contacts(self, rows: list[_Row]) -> None:
        wanted = {str(r.values["contact"]).strip().lower() for r in rows
                  if r.values.get("contact") is not None}
        wanted -= self.contact_keys.keys()
        ids = sorted(int(v) for v in wanted if v.isdigit())
        emails = sorted(v for v in wanted if not v.isdigit())
        cols = (Contact.id, Contact.deleted_at, Contact.first_name, Contact.last_name, Contact.email,
                Contact.telegram_username, Contact.phone)
        base = select(*cols).where(Contact.org_id == self.org_id)
        for part in _parts(ids):
            for row in db.session.execute(base.where(Contact.id.in_(part))):
                if row.deleted_at is None:
                    self.contact_keys[str(row.id)] = row.id
                    self.contact_names[row.id] = _contact_name(row)
        for part in _parts(emails):
            for row in db.session.execute(base.where(Contact.email.in_(part))):
                if row.deleted_at is None and row.id < self.contact_keys.get(row.email, row.id + 1):
                    self.contact_keys[row.email] = row.id
                    self.contact_names[row.id] = _contact_name(row)

    def _names_for(self, company_ids: Iterable[int | None], contact_ids: Iterable[int | None]) -> None:
        missing = sorted({i for i in company_ids if i and i > 0 and i not in self.company_names})
        for part in _parts(missing):
            for cid, name in db.session.execute(select(Company.id, Company.name).where(
                    Company.org_id == self.org_id, Company.id.in_(part))):
                self.company_names[cid] = name
        missing = sorted({i for i in contact_ids if i and i > 0 and i not in self.contact_names})
        for part in _parts(missing):
            for row in db.session.execute(select(Contact.id, Contact.first_name, Contact.last_name,
                                                 Contact.email, Contact.telegram_username, Contact.phone)
                                          .where(Contact.org_id == self.org_id, Contact.id.in_(part))):
                self.contact_names[row.id] = _contact_name(row)

    def _resolve(self, row: _Row) -> None:
        """Turn reference cells into ids (companies are created later, for rows that are written)."""
        values = row.values
        if "owner" in values:
            owner = values.pop("owner")
            if owner is None:
                values["owner_id"] = None
            else:
                key = str(owner).strip().lower()
                if key in self.owners:
                    values["owner_id"] = self.owners[key]
                else:
                    row.errors.append(_l("Owner: %(owner)s is not a member of this organization.",
                                         owner=owner))
        if "company" in values:
            company = values.pop("company")
            text = str(company).strip() if company is not None else ""
            if not text:
                values["company_id"] = None
            elif text.isdigit():
                if int(text) in self.company_names:
                    values["company_id"] = int(text)
                else:
                    row.errors.append(_l("Company: no company has id %(id)s.", id=text))
            else:
                values["company_id"] = ("new", text[:200])  # found or created in _create_companies
        if "contact" in values:
            contact = values.pop("contact")
            if contact is None:
                values["contact_id"] = None
            else:
                found = self.contact_keys.get(str(contact).strip().lower())
                if found is None:
                    row.errors.append(_l("Contact: no contact with email or id %(contact)s.",
                                         contact=contact))
                else:
                    values["contact_id"] = found
        if "stage" in values:
            stage = values.pop("stage")
            if stage is not None:
                found = self.stages.find(stage)
                if found is None:
                    row.errors.append(_l("Stage: no stage named %(stage)s in the default pipeline.",
                                         stage=stage))
                else:
                    values["stage_id"] = found

    def _create_companies(self, rows: list[_Row]) -> None:
        """Fill ``company_id`` of written rows, creating the companies nobody has yet."""
        wanted: dict[str, str] = {}
        for row in rows:
            ref = row.values.get("company_id")
            if isinstance(ref, tuple) and ref[1].lower() not in self.companies:
                wanted.setdefault(ref[1].lower(), ref[1])
        if wanted:
            now = utcnow()
            new = [{"org_id": self.org_id, "import_id": self.import_ref, "name": name, "custom": {},
                    "owner_id": self.actor_id,
                    "search_text": search_text_from(Entity.COMPANY, {"name": name}),
                    "created_at": now, "updated_at": now} for name in wanted.values()]
            ids = self._insert(Company, len(new), lambda ids: _with_ids(new, ids))
            for (key, name), cid in zip(wanted.items(), ids, strict=True):
                self.companies[key], self.company_names[cid] = cid, name
        for row in rows:
            ref = row.values.get("company_id")
            if isinstance(ref, tuple):
                row.values["company_id"] = self.companies[ref[1].lower()]

    def _tag_ids(self, rows: list[_Row]) -> None:
        wanted: dict[str, str] = {}
        for row in rows:
            for key in row.tags:
                if key not in self.tags:
                    wanted.setdefault(key, self.tag_names[key])
        if not wanted:
            return
        for part in _parts(sorted(wanted)):
            for tid, name in db.session.execute(select(Tag.id, Tag.name).where(
                    Tag.org_id == self.org_id, func.lower(Tag.name).in_(part))):
                self.tags[name.lower()] = tid
        missing = [(k, n) for k, n in wanted.items() if k not in self.tags]
        if missing:
            ids = self._insert(Tag, len(missing), lambda ids: _with_ids(
                [{"org_id": self.org_id, "name": n} for _, n in missing], ids))
            for (key, _), tid in zip(missing, ids, strict=True):
                self.tags[key] = tid

    def _insert(self, model, count: int, make: Callable[[list[int]], Iterable[dict[str, Any]]],
                meanwhile: Callable[[], None] | None = None) -> list[int]:
        """Insert ``count`` rows in bulk, made by ``make`` from their new ids (which it returns);
        ``meanwhile`` runs as ``insert_rows`` runs it."""
        if self.dry:
            return [next(self.fake_ids) for _ in range(count)]
        table = model.__table__
        if db.session.get_bind().dialect.name == "postgresql":
            ids = list(db.session.scalars(
                text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                {"t": table.name, "n": count}))
            insert_rows(table, make(ids), meanwhile)
            return ids
        # SQLite returns a batch's ids in no promised order (SQLAlchemy would insert row by row), but
        # it has one writer at a time: once this transaction has written, the ids after max(id) stay
        # ours until it commits.
        db.session.execute(update(Import).where(Import.id == self.imp.id)
                           .values(processed_rows=Import.processed_rows)
                           .execution_options(synchronize_session=False))
        start = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        ids = list(range(start, start + count))
        with _bulk_search_index(table, start, start + count - 1):
            insert_rows(table, make(ids), meanwhile)
        return ids


def _with_ids(rows: list[dict[str, Any]], ids: list[int]) -> Iterator[dict[str, Any]]:
    for row, rid in zip(rows, ids, strict=True):
        row["id"] = rid
        yield row

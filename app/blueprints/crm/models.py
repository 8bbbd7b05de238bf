"""Companies, contacts, deals; their tags, custom fields, timeline and imports.

Every record carries ``search_text`` (a lower-cased digest of what search looks at, kept by the
service) indexed by SQLite FTS5 or a PostgreSQL trigram index, and ``deleted_at`` for the trash.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from flask_babel import gettext
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.tenancy import OrgScoped

if TYPE_CHECKING:
    from app.blueprints.auth.public import User
    from app.blueprints.pipeline.public import Pipeline, Stage


class Entity(StrEnum):
    CONTACT = "contact"
    COMPANY = "company"
    DEAL = "deal"


class DealStatus(StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Tag(OrgScoped, db.Model):
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


def _tag_table(entity: str) -> Table:
    return Table(
        f"{entity}_tag", db.metadata,
        Column(f"{entity}_id", ForeignKey(f"{entity}.id", ondelete="CASCADE"), primary_key=True),
        Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True),
    )


contact_tag = _tag_table("contact")
company_tag = _tag_table("company")
deal_tag = _tag_table("deal")


class Record(OrgScoped):
    """What every CRM record has: an owner, custom values, search text, timestamps and the trash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    custom: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # The import that created the record, shown on its timeline: kept on the record rather than as
    # an activity row per record (a large import's costliest write). A plain id, like an activity's
    # subject: imports are never deleted, and SQLite could add a named foreign key only by copying
    # the table, which would drop its FTS triggers.
    import_id: Mapped[int | None]

    @declared_attr
    def owner_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def owner(cls) -> Mapped[User | None]:  # noqa: N805
        return relationship(foreign_keys=lambda: [cls.owner_id], lazy="joined")


class Company(Record, db.Model):
    __table_args__ = (
        Index("ix_company_org_live_name", "org_id", "deleted_at", "name", "id"),
        Index("ix_company_org_domain", "org_id", "domain"),
    )
    org_id_index = False  # the composite indexes above lead with org_id

    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(253))
    website: Mapped[str | None] = mapped_column(String(500))
    industry: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)

    tags: Mapped[list[Tag]] = relationship(secondary=company_tag, lazy="selectin", order_by=Tag.name)


class Contact(Record, db.Model):
    __table_args__ = (
        Index("ix_contact_org_live_name", "org_id", "deleted_at", "last_name", "first_name", "id"),
        Index("ix_contact_org_live_created", "org_id", "deleted_at", "created_at", "id"),
        Index("ix_contact_org_email", "org_id", "email"),
        Index("ix_contact_org_phone", "org_id", "phone"),
        Index("ix_contact_org_tg_username", "org_id", "telegram_username"),
        Index("ix_contact_org_tg_user_id", "org_id", "telegram_user_id"),
    )
    org_id_index = False  # the composite indexes above lead with org_id

    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    telegram_username: Mapped[str | None] = mapped_column(String(64))  # lower-case, no @
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"),
                                                   index=True)
    title: Mapped[str | None] = mapped_column(String(120))
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    notes: Mapped[str | None] = mapped_column(Text)

    company: Mapped[Company | None] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=contact_tag, lazy="selectin", order_by=Tag.name)

    @property
    def name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return full or self.email or (f"@{self.telegram_username}" if self.telegram_username else "") \
            or self.phone or gettext("Contact #%(id)s", id=self.id)

    @property
    def label(self) -> str:
        """How a form names the contact: the name and what tells it apart ("Olivia Kowalski ·
        olivia@helios.io"); ``resolve_contact`` reads it back, so a picked suggestion is exact."""
        detail = self.email or (f"@{self.telegram_username}" if self.telegram_username else "") \
            or self.phone or f"#{self.id}"
        full = f"{self.first_name} {self.last_name}".strip()
        return f"{full} · {detail}" if full else detail


class Deal(Record, db.Model):
    __table_args__ = (
        Index("ix_deal_org_live_stage", "org_id", "deleted_at", "stage_id", "position"),
        Index("ix_deal_org_live_created", "org_id", "deleted_at", "created_at", "id"),
    )
    org_id_index = False  # the composite indexes above lead with org_id

    title: Mapped[str] = mapped_column(String(200))
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"),
                                                   index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id", ondelete="SET NULL"),
                                                   index=True)
    pipeline_id: Mapped[int | None] = mapped_column(ForeignKey("pipeline.id", ondelete="SET NULL"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("stage.id", ondelete="SET NULL"))
    probability: Mapped[int | None]
    expected_close: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default=DealStatus.OPEN.value)
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[float] = mapped_column(default=0.0)  # order inside a kanban column
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact | None] = relationship(lazy="joined")
    company: Mapped[Company | None] = relationship(lazy="joined")
    pipeline: Mapped[Pipeline | None] = relationship()
    stage: Mapped[Stage | None] = relationship(lazy="joined")
    tags: Mapped[list[Tag]] = relationship(secondary=deal_tag, lazy="selectin", order_by=Tag.name)


class CustomFieldKind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"


class CustomField(OrgScoped, db.Model):
    """An organization's own field on one entity; values live in the record's ``custom`` JSON."""

    __table_args__ = (UniqueConstraint("org_id", "entity", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8), default=CustomFieldKind.TEXT.value)
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(default=0)


class Activity(OrgScoped, db.Model):
    """One entry of a record's timeline: a note, a change, a stage move, later a message."""

    __table_args__ = (Index("ix_activity_subject", "org_id", "subject_type", "subject_id", "id"),)
    org_id_index = False  # ix_activity_subject leads with org_id

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


class ImportStatus(StrEnum):
    UPLOADED = "uploaded"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Import(OrgScoped, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.UPLOADED.value)
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    headers: Mapped[list[str]] = mapped_column(JSON, default=list)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # column header -> field
    dedupe: Mapped[str] = mapped_column(String(8), default="skip")  # skip | update | create
    dry_run: Mapped[bool] = mapped_column(default=False)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    rejected_count: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ImportChunk(db.Model):
    """The uploaded file, in order, in the database: web and worker may run on different machines."""

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRejection(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[list[str]] = mapped_column(JSON, default=list)


class ContactShare(OrgScoped, db.Model):
    """A contact shared with a teammate: they edit it and its deals as its owner could, and see its
    chats (``records.service.shared_contact_ids``). Who may share is the permission matrix's
    (``Permission.RECORDS_SHARE``, ``RECORDS_SHARE_ANY``)."""

    __table_args__ = (UniqueConstraint("contact_id", "user_id"),
                      Index("ix_contact_share_org_user", "org_id", "user_id", "contact_id"))
    org_id_index = False  # ix_contact_share_org_user leads with org_id

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    shared_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    shared_by: Mapped[User | None] = relationship(foreign_keys=[shared_by_id], lazy="joined")

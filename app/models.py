"""Imports every domain's models so metadata (Alembic, create_all, queries) sees all tables."""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.audit import AuditEvent  # noqa: F401
from app.blueprints.accounts.models import BDAccount, bd_account_agent  # noqa: F401
from app.blueprints.auth.models import RefreshToken, User  # noqa: F401
from app.blueprints.campaigns.models import (  # noqa: F401
    Campaign,
    CampaignAccount,
    CampaignFile,
    CampaignSend,
    CampaignStep,
    Enrollment,
    MessageTemplate,
    OutreachSettings,
    StepVariant,
    Suppression,
)
from app.blueprints.crm.models import (  # noqa: F401
    Activity,
    Company,
    Contact,
    ContactShare,
    CustomField,
    Deal,
    Import,
    ImportChunk,
    ImportRejection,
    Tag,
)
from app.blueprints.messaging.models import Chat, Message, MessageFile  # noqa: F401
from app.blueprints.pipeline.models import Pipeline, Stage, StageMove  # noqa: F401
from app.blueprints.team.models import Invitation, Membership, Organization  # noqa: F401
from app.event_outbox import EventOutbox, HandledEvent  # noqa: F401
from app.integrations.mail.models import OutboundMail  # noqa: F401


def _unicode_case(change):
    def convert(value):
        return change(value) if isinstance(value, str) else value

    return convert


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets web, worker and telegram processes read while one writes; SQLite needs FKs on.

    SQLite's own lower() and upper() change ASCII letters only, so a lookup by name ignoring case
    (lower(name) = 'тундра софт') missed "Тундра Софт" and an import made a second company: they
    are replaced with Python's, which know every script, as PostgreSQL's do. No index is built on
    either, so no stored order depends on them.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_connection.create_function("lower", 1, _unicode_case(str.lower), deterministic=True)
        dbapi_connection.create_function("upper", 1, _unicode_case(str.upper), deterministic=True)

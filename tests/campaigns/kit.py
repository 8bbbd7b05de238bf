"""Running campaigns in tests: a manager, sandbox accounts held by a real runtime, contacts who
are sandbox people, and the dispatcher and the campaigns queue driven by hand."""

from __future__ import annotations

from sqlalchemy import select

from app.blueprints.campaigns import dispatcher, service
from app.blueprints.campaigns.models import Enrollment
from app.blueprints.team.models import Role
from app.db_types import utcnow
from app.extensions import db
from app.jobs import Queues
from tests.factories import make_contact, make_member
from tests.queues import work

ALWAYS = {"days": [1, 2, 3, 4, 5, 6, 7], "start": "00:00", "end": "24:00"}


def manager(org=None):
    return make_member(Role.MANAGER, org)


def contact_for(member, person, **fields):
    """A CRM contact who is this sandbox person (found by username)."""
    return make_contact(member, first_name=person.profile.first_name, last_name=person.profile.last_name,
                        telegram_username=person.profile.username, **fields)


def campaign(member, accounts, steps, **fields):
    body = {"name": "Outreach", "account_ids": [a.id for a in accounts], "window": ALWAYS,
            "steps": [{"wait_minutes": wait, "variants": [{"text": t} for t in texts]} for wait, texts in steps],
            **fields}
    found = service.create_campaign(member, body)
    db.session.commit()
    return found


def launch(member, found, contacts):
    service.add_contacts(member, found, contact_ids=[c.id for c in contacts])
    review = service.launch(member, found)
    db.session.commit()
    return review


def dispatch(now=None) -> int:
    decided = dispatcher.dispatch_due(now or utcnow())
    db.session.commit()
    return decided


def settle() -> None:
    """Run the campaigns queue's jobs (the outbox's answers, replies, deal moves)."""
    work(Queues.CAMPAIGNS)


def enrollment_of(found, contact) -> Enrollment:
    db.session.rollback()
    return db.session.scalar(select(Enrollment).where(Enrollment.campaign_id == found.id,
                                                      Enrollment.contact_id == contact.id))

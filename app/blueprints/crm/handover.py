"""A member who leaves hands their contacts, companies and deals to the member chosen to keep
them (``team.MemberRemoved``, in the removal's transaction): no record is left without an owner."""

from __future__ import annotations

from sqlalchemy import update

from app.blueprints.crm.models import Company, Contact, Deal
from app.blueprints.team.public import MemberRemoved
from app.events import subscribe
from app.extensions import db


def hand_over_records(event: MemberRemoved) -> None:
    for model in (Contact, Company, Deal):  # trashed records too: restored, they have an owner
        db.session.execute(update(model).where(model.org_id == event.org_id, model.owner_id == event.user_id)
                           .values(owner_id=event.reassign_to).execution_options(synchronize_session=False))


subscribe(MemberRemoved, hand_over_records, in_transaction=True)

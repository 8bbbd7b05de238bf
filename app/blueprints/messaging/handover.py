"""A member who leaves hands the chats assigned to them to the member chosen to keep them
(``team.MemberRemoved``, in the removal's transaction). Messages keep their author: history is
not rewritten."""

from __future__ import annotations

from sqlalchemy import update

from app.blueprints.messaging.models import Chat
from app.blueprints.team.public import MemberRemoved
from app.events import subscribe
from app.extensions import db


def hand_over_chats(event: MemberRemoved) -> None:
    db.session.execute(update(Chat).where(Chat.org_id == event.org_id, Chat.assignee_id == event.user_id)
                       .values(assignee_id=event.reassign_to).execution_options(synchronize_session=False))


subscribe(MemberRemoved, hand_over_chats, in_transaction=True)

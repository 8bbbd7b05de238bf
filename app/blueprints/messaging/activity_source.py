"""The inbox's part of the team's activity log: each message a member sent (or queued)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.public import ActivityEntry, ActivityQuery, narrow_activity, register_activity_source
from app.extensions import db

RANK = 3
PREVIEW = 80


def activity_entries(query: ActivityQuery, limit: int) -> list[ActivityEntry]:
    rows = db.session.execute(
        select(Message, Chat.title).join(Chat, Chat.id == Message.chat_id)
        .where(Message.org_id == query.org_id, Message.out.is_(True), Message.author_id.is_not(None),
               narrow_activity(query, RANK, Message.created_at, Message.id, Message.author_id))
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)).all()
    entries = []
    for message, title in rows:
        text = " ".join((message.text or "").split())
        preview = text if len(text) <= PREVIEW else text[:PREVIEW - 1] + "…"
        entries.append(ActivityEntry(
            at=message.created_at, actor_id=message.author_id, group="messages", rank=RANK, row_id=message.id,
            summary=_("Message to %(chat)s: %(text)s", chat=title, text=preview or message.media_label),
            link=("inbox.chat", {"chat_id": message.chat_id})))
    return entries


register_activity_source("messages", RANK, activity_entries)

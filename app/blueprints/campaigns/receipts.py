"""Read receipts for campaign steps: when Telegram says the person read a chat up to a message,
the steps sent into that chat up to it are read (kept on the send, so a campaign's figures count
them without joining every message)."""

from __future__ import annotations

from sqlalchemy import select, update

from app.blueprints.campaigns.models import CampaignSend
from app.blueprints.messaging.public import Message, MessagesReadByPeer
from app.events import subscribe
from app.extensions import db
from app.jobs import Queues


def on_read_by_peer(event: MessagesReadByPeer) -> None:
    read = select(Message.id).where(Message.chat_id == event.chat_id, Message.out.is_(True),
                                    Message.telegram_id.is_not(None), Message.telegram_id <= event.up_to)
    db.session.execute(update(CampaignSend).where(CampaignSend.message_id.in_(read),
                                                  CampaignSend.read_at.is_(None))
                       .values(read_at=event.occurred_at).execution_options(synchronize_session=False))


subscribe(MessagesReadByPeer, on_read_by_peer, queue=Queues.CAMPAIGNS)

"""What other domains and the telegram process may use of the inbox; the rest is private.

Chats and messages, the outbox's entries (``queue_message`` for members, ``queue_outreach`` for
other domains: every outbound message goes through one), the inbox's events, and for the
telegram process ``store`` (its write path: what Telegram says happened) with the values it
passes; the registries through which domains built on the inbox show their part in it (``origins``:
where an outbound message came from, side-panel sections, composer tools). Importing this module
registers the inbox's realtime subscribers.
"""

from app.blueprints.messaging import live, store
from app.blueprints.messaging.events import (
    ChatAssigned,
    ChatCreated,
    ChatEvent,
    ChatImported,
    ChatUpdated,
    MessageDeferred,
    MessageDeleted,
    MessageEdited,
    MessageEvent,
    MessageFailed,
    MessageFileStored,
    MessageQueued,
    MessageReceived,
    MessageSending,
    MessageSent,
    MessagesRead,
    MessagesReadByPeer,
    OutboxSettled,
)
from app.blueprints.messaging.media import attachment_from
from app.blueprints.messaging.models import Chat, Message, MessageFile, MessageStatus
from app.blueprints.messaging.origins import (
    ChatSection,
    ComposerTool,
    register_chat_section,
    register_composer_tool,
    register_origin,
)
from app.blueprints.messaging.service import (
    MAX_ATTACHMENT_BYTES,
    MAX_CAPTION,
    Attachment,
    assign_chats,
    check_assign_chats,
    contact_chats,
    get_chat,
    queue_message,
    queue_outreach,
)
from app.blueprints.messaging.store import Item, Marks, Peer, ReadTarget, SendPlan

__all__ = [
    "MAX_ATTACHMENT_BYTES", "MAX_CAPTION", "Attachment", "Chat", "ChatAssigned", "ChatCreated", "ChatEvent",
    "ChatImported", "ChatSection", "ChatUpdated", "ComposerTool",
    "Item", "Marks", "Message", "MessageDeferred", "MessageDeleted", "MessageEdited",
    "MessageEvent", "MessageFailed", "MessageFile", "MessageFileStored", "MessageQueued",
    "MessageReceived", "MessageSending", "MessageSent", "MessageStatus", "MessagesRead",
    "MessagesReadByPeer", "OutboxSettled", "Peer", "ReadTarget", "SendPlan", "assign_chats",
    "attachment_from", "check_assign_chats", "contact_chats", "get_chat", "live", "queue_message",
    "queue_outreach", "register_chat_section", "register_composer_tool", "register_origin", "store",
]

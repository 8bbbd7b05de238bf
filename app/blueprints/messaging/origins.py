"""What domains built on the inbox show in it: where an outbound message came from, sections of a
chat's side panel, and tools of the composer.

The inbox cannot import them (campaigns build on messaging, not the other way round), so they
register here and the inbox shows whatever is registered:

- ``register_origin(origin, describe)``: ``describe(message_ids) -> {message_id: label}`` names, in
  the reader's language, what queued the outbox messages whose ``Message.origin`` is ``origin``
  ("Campaign “Q1 founders” · step 2 · variant B"), for a page of messages at once;
- ``register_chat_section(ChatSection(template, load))``: a partial in the chat's side panel,
  rendered with ``section.context`` = ``load(viewer, chat, contact)`` (None: nothing to show);
- ``register_composer_tool(ComposerTool(template, load))``: a partial beside the composer, the same
  way (``load(viewer, chat)``).

The inbox's templates reach them through the template globals registered below.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import g
from sqlalchemy import select

from app.blueprints.messaging import bp
from app.blueprints.messaging.models import Chat, Message
from app.extensions import db

Describe = Callable[[list[int]], dict[int, str]]


@dataclass(frozen=True)
class ChatSection:
    template: str
    load: Callable[[Any, Chat, Any], dict[str, Any] | None]


@dataclass(frozen=True)
class ComposerTool:
    template: str
    load: Callable[[Any, Chat], dict[str, Any] | None]


@dataclass(frozen=True)
class Shown:
    template: str
    context: dict[str, Any]


_ORIGINS: dict[str, Describe] = {}
_SECTIONS: list[ChatSection] = []
_TOOLS: list[ComposerTool] = []


def register_origin(origin: str, describe: Describe) -> None:
    _ORIGINS[origin] = describe


def register_chat_section(section: ChatSection) -> None:
    _SECTIONS.append(section)


def register_composer_tool(tool: ComposerTool) -> None:
    _TOOLS.append(tool)


def labels(messages: Iterable[Message]) -> dict[int, str]:
    """The origin labels of ``messages`` (those a registered origin queued): one call per origin."""
    by_origin: dict[str, list[int]] = {}
    for message in messages:
        if message.out and message.origin in _ORIGINS:
            by_origin.setdefault(message.origin, []).append(message.id)
    found: dict[int, str] = {}
    for origin, ids in by_origin.items():
        found.update(_ORIGINS[origin](ids))
    return found


@bp.app_template_global("message_origin")
def message_origin(message: Message) -> str | None:
    """One message's origin label (a message rendered alone: just sent, pushed live)."""
    return labels([message]).get(message.id) if message.origin else None


@bp.app_template_global("chat_origin")
def chat_origin(chat: Chat) -> str | None:
    """Where the chat's last outbound message came from, when a registered origin queued it."""
    if not _ORIGINS:
        return None
    last = db.session.scalar(select(Message).where(Message.chat_id == chat.id, Message.out.is_(True))
                             .order_by(Message.date.desc(), Message.id.desc()).limit(1))
    return message_origin(last) if last is not None else None


@bp.app_template_global("chat_sections")
def chat_sections(chat: Chat, contact: Any) -> list[Shown]:
    viewer = g.get("membership")
    if viewer is None:
        return []
    shown = [(section.template, section.load(viewer, chat, contact)) for section in _SECTIONS]
    return [Shown(template, context) for template, context in shown if context is not None]


@bp.app_template_global("composer_tools")
def composer_tools(chat: Chat) -> list[Shown]:
    viewer = g.get("membership")
    if viewer is None:
        return []
    shown = [(tool.template, tool.load(viewer, chat)) for tool in _TOOLS]
    return [Shown(template, context) for template, context in shown if context is not None]

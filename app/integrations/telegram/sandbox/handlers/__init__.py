"""Request handlers by TL namespace; importing them registers them with ``base.handles``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telethon.tl.tlobject import TLRequest

from app.integrations.telegram.sandbox.handlers import auth, help, messages, updates, upload, users  # noqa: F401
from app.integrations.telegram.sandbox.handlers.base import Call, route
from app.integrations.telegram.sandbox.records import Session

if TYPE_CHECKING:
    from app.integrations.telegram.sandbox.sender import SandboxSender
    from app.integrations.telegram.sandbox.world import World


def dispatch(world: World, session: Session, sender: SandboxSender, request: TLRequest) -> object:
    return route(Call(world, session, sender, request))

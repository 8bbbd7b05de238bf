"""Errors the peer raises: Telegram's RPC errors, built the way Telethon builds them off the wire."""

from __future__ import annotations

from telethon.errors import RPCError, rpc_message_to_error
from telethon.tl import types
from telethon.tl.tlobject import TLRequest


def rpc_error(code: int, message: str, request: TLRequest | None = None) -> RPCError:
    """The exception Telethon raises for ``rpc_error#2144ca19 error_code error_message``.

    Going through ``rpc_message_to_error`` gives the same class (``FloodWaitError`` with
    ``.seconds`` for ``FLOOD_WAIT_30``, ``PeerFloodError``, ...) the real sender would.
    """
    return rpc_message_to_error(types.RpcError(code, message), request)


def tl_name(request: object) -> str:
    """``messages.SendMessageRequest`` for a Telethon request object or class."""
    cls = request if isinstance(request, type) else type(request)
    module, name = cls.__module__.rsplit(".", 1)[-1], cls.__name__
    return name if module == "functions" else f"{module}.{name}"


class UnsupportedRequest(NotImplementedError):
    """The sandbox has no handler for this TL request; the client sees it as a loud failure."""

    def __init__(self, request: object):
        self.request = request
        super().__init__(
            f"Telegram sandbox does not answer {tl_name(request)}: add a handler in "
            "app/integrations/telegram/sandbox/handlers/"
        )

"""How a handler sees a request: the world, the session behind the auth key, and Telegram's errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telethon.errors import RPCError
from telethon.tl import types
from telethon.tl.tlobject import TLRequest

from app.integrations.telegram.sandbox.errors import UnsupportedRequest, rpc_error, tl_name
from app.integrations.telegram.sandbox.records import Account, Profile, Session

if TYPE_CHECKING:
    from app.integrations.telegram.sandbox.sender import SandboxSender
    from app.integrations.telegram.sandbox.world import World


@dataclass
class Call:
    world: World
    session: Session
    sender: SandboxSender
    request: TLRequest

    def error(self, code: int, message: str) -> RPCError:
        return rpc_error(code, message, self.request)

    @property
    def account(self) -> Account:
        if self.session.account is None:
            raise self.error(401, "AUTH_KEY_UNREGISTERED")
        return self.session.account

    def user(self, profile: Profile) -> types.User:
        return self.world.user(profile, self.account)

    def resolve(self, peer: object) -> Profile:
        """The user behind an input peer; a wrong access hash is PEER_ID_INVALID, as on Telegram."""
        if isinstance(peer, (types.InputPeerSelf, types.InputUserSelf)):
            return self.account.profile
        if isinstance(peer, (types.InputPeerUser, types.InputUser)):
            profile = self.world.profiles.get(peer.user_id)
            if profile and self.world.user(profile, self.account).access_hash == peer.access_hash:
                return profile
        raise self.error(400, "PEER_ID_INVALID")


Handler = Callable[[Call, TLRequest], object]
_ROUTES: dict[int, tuple[Handler, bool]] = {}


def handles(*requests: type[TLRequest], signed_in: bool = True) -> Callable[[Handler], Handler]:
    """Register a handler; ``signed_in`` requests fail with AUTH_KEY_UNREGISTERED before login."""
    def register(handler: Handler) -> Handler:
        for request in requests:
            _ROUTES[request.CONSTRUCTOR_ID] = (handler, signed_in)
        return handler
    return register


def route(call: Call) -> object:
    try:
        handler, signed_in = _ROUTES[call.request.CONSTRUCTOR_ID]
    except KeyError:
        raise UnsupportedRequest(call.request) from None
    if signed_in:
        account = call.account
        if account.banned:
            raise call.error(401, "USER_DEACTIVATED_BAN")
        seconds = account.flood_next.pop(tl_name(call.request), None)
        if seconds is not None:
            raise call.error(420, f"FLOOD_WAIT_{seconds}")
    return handler(call, call.request)

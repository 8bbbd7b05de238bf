"""The last check of an account's proxy, where it is dialled: resolve it, then dial the address.

The web refuses local and private proxies when they are saved (``accounts.proxy_hosts``), but a
name is only checked as a name there, and what it resolves to can change afterwards (DNS
rebinding: public when saved, ``127.0.0.1`` when dialled). So before each connection the name is
resolved here, refused unless every address is public, and Telethon is given the checked address
rather than the name, so nothing resolves it again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from app.blueprints.accounts.public import proxy_hosts
from app.i18n import N_, said


class ProxyRefused(ConnectionError):
    """The account's proxy leads to a local or private address. A ConnectionError, so whatever
    handles a failed connection handles this one; ``message`` says why, for the account's page (a
    text ``app.i18n.said`` made)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def resolved_addresses(host: str, port: int) -> list[proxy_hosts.Address]:
    """Every address ``host`` resolves to (off the loop). Raises OSError when it resolves to none."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in infos]


async def vetted_proxy(proxy: dict[str, Any], *, allow_private: bool) -> dict[str, Any]:
    """``proxy`` (Telethon's form: ``addr``, ``port``...) with ``addr`` the checked address to dial,
    or unchanged when the operator allows private proxies. Raises ProxyRefused, or OSError when
    the name does not resolve."""
    if allow_private:
        return proxy
    host = str(proxy["addr"])
    refusal = proxy_hosts.host_refusal(host)
    if refusal is not None:
        raise ProxyRefused(said(N_("The account's proxy is refused: %(reason)s"), reason=refusal))
    addresses = await resolved_addresses(host, int(proxy["port"]))
    if not addresses:
        raise OSError(f"the proxy {host} resolves to no address")
    private = [address for address in addresses if not proxy_hosts.is_public(address)]
    if private:
        raise ProxyRefused(said(N_("The account's proxy is refused: %(reason)s"),
                                reason=proxy_hosts.refused_address(str(private[0]), host)))
    return {**proxy, "addr": str(addresses[0])}

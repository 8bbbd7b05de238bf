"""Which proxy hosts the telegram process may dial: only hosts on the public internet.

A proxy is typed by a customer, and the telegram process connects to it from inside our network:
a proxy at ``127.0.0.1:6379`` or ``10.0.0.5`` would point it at our own services. So, unless the
operator allows it (``TELEGRAM_ALLOW_PRIVATE_PROXIES``), a proxy host must be a public address or
a name that is not obviously local. Names are checked again where they are dialled, after
resolving them (``app.integrations.telegram.runtime.proxy_guard``): DNS can change after saving.
"""

from __future__ import annotations

import ipaddress
import socket

from app.i18n import N_, said

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that only ever mean this machine or a private network (RFC 6761, 6762, 8375; *.internal
# is what cloud providers give their private hosts).
_LOCAL_NAME_SUFFIXES = ("localhost", "local", "internal", "localdomain", "home.arpa")



def private_proxies_allowed() -> bool:
    """The operator's ``TELEGRAM_ALLOW_PRIVATE_PROXIES`` (off unless set)."""
    from flask import current_app

    return current_app.config["SETTINGS"].telegram_allow_private_proxies


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells, or None for a name.

    Besides the standard forms (``[::1]`` too), every form the C resolver accepts as an IPv4
    address counts: ``127.1``, ``0x7f.0.0.1``, ``0177.0.0.1``, ``2130706433`` all dial 127.0.0.1.
    """
    text = host.strip().removesuffix(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except (OSError, ValueError):
        return None


def is_public(address: Address) -> bool:
    """Whether ``address`` is on the public internet. An IPv6 address carrying an IPv4 one
    (``::ffff:127.0.0.1``, 6to4) is judged by the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return is_public(embedded)
        if address.is_site_local:
            return False
    # is_global alone lets multicast through (and, before Python 3.13, some reserved ranges).
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_loopback
                                      or address.is_link_local or address.is_unspecified
                                      or address.is_private)


def is_local_name(host: str) -> bool:
    name = host.strip().lower().removesuffix(".")
    return any(name == suffix or name.endswith("." + suffix) for suffix in _LOCAL_NAME_SUFFIXES)


def host_refusal(host: str) -> str | None:
    """Why a proxy at ``host`` is refused (a text ``app.i18n.said`` made: ``app.i18n.in_words`` says it
    in the reader's language), for the ``proxy_host`` field; None when it may be used (a public
    address, or a name that does not say it is local: resolving it is the telegram process's check)."""
    address = literal_address(host)
    if address is not None:
        return None if is_public(address) else refused_address(str(address))
    if is_local_name(host):
        return said(N_("%(host)s is a local or internal host name, which the CRM does not connect through. "
                       "Use a proxy on the public internet."), host=host)
    return None


def refused_address(address: str, host: str | None = None) -> str:
    """Why a proxy at (or resolving to) a non-public ``address`` is refused, as ``said``."""
    if host is not None:
        return said(N_("%(host)s resolves to %(address)s, a loopback, private, link-local or reserved "
                       "address, which the CRM does not connect through. Use a proxy on the public "
                       "internet."), host=host, address=address)
    return said(N_("%(address)s is a loopback, private, link-local or reserved address, which the CRM "
                   "does not connect through. Use a proxy on the public internet."), address=address)

"""Where a webhook may point: the addresses of its URL's host, none of them loopback,
private, link-local (cloud metadata services live there), multicast or reserved, unless the
operator allows them (OPENTICKET_WEBHOOK_ALLOW_PRIVATE=1). Checked when an endpoint is added
and again before every attempt, whose request then goes to the address checked (a name that
resolves elsewhere the second time cannot turn the sender on the inside)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from openticket.core.errors import InvalidInput

PRIVATE_REFUSED = (
    "URL points to a loopback, private, link-local or reserved address "
    "(the operator may allow them: OPENTICKET_WEBHOOK_ALLOW_PRIVATE=1)"
)


# IPv6 ranges that carry an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible and
# -translated): on a host that routes them, one could reach an inside IPv4 address. And
# site-local addresses (deprecated, but still routed inside some networks).
_REFUSED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "::/96",
        "::ffff:0:0:0/96",
        "fec0::/10",
    )
)


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in refused for refused in _REFUSED_V6):
            return False
    return ip.is_global and not ip.is_multicast


def resolve(url: str, allow_private: bool) -> list[str]:
    """The addresses `url`'s host has, every one of them allowed; InvalidInput if none is
    known or any is refused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidInput(f"Cannot find the address of {host!r}", "url") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not addresses:
        raise InvalidInput(f"Cannot find the address of {host!r}", "url")
    if not allow_private and not all(_is_public(address) for address in addresses):
        raise InvalidInput(PRIVATE_REFUSED, "url")
    return addresses


def pinned(url: str, address: str) -> str:
    """`url` with its host replaced by `address` (the request goes where was checked)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return parts._replace(netloc=netloc).geturl()

"""Which addresses a webhook may go to: https, on public networks (no SSRF).

Checked twice: the URL's form when an app subscribes, and the addresses its host resolves to
at every delivery (a name that resolved to a public address yesterday may resolve to a private
one today: DNS rebinding). The sender then connects to the very address checked here.
``allow_loopback`` (on under ``serve --demo``) lets apps on a developer's machine receive at
``http://127.0.0.1`` or ``http://localhost``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from ...protocol.urls import LOOPBACK_HOSTS, check_app_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses the host resolves to
Resolver = Callable[[str, int], Awaitable[list[str]]]

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_PORTS = {"http": 80, "https": 443}


class AddressRefused(Exception):
    """The address may not receive webhooks; the message says why, for the partner."""


def _ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_allowed_ip(ip: IPAddress, *, allow_loopback: bool) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def check_address(address: str, *, allow_loopback: bool) -> str | None:
    """What is wrong with ``address`` as a webhook address, or ``None``."""
    problem = check_app_url(address, "address")
    if problem:
        return problem
    parts = urlsplit(address)
    host = (parts.hostname or "").lower().rstrip(".")
    if host in LOOPBACK_HOSTS or host == "localhost" or (_ip(host) is not None and _ip(host).is_loopback):  # type: ignore[union-attr]
        if not allow_loopback:
            return "The address must be on a public network (loopback addresses are allowed only in demo mode)."
        return None
    if parts.scheme != "https":
        return "The address must use https."
    ip = _ip(host)
    if ip is not None:
        if not is_allowed_ip(ip, allow_loopback=False):
            return "The address must be on a public network."
        return None
    if "." not in host or host.endswith(_LOCAL_SUFFIXES):
        return "The address must be on a public network."
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    import anyio

    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def resolve_checked(address: str, *, allow_loopback: bool, resolver: Resolver = system_resolver) -> tuple[str, str, int]:
    """``(ip, host, port)`` to connect to for ``address``: every address its host resolves to
    must be allowed (one private answer among public ones is refused: the connection could
    pick it)."""
    problem = check_address(address, allow_loopback=allow_loopback)
    if problem:
        raise AddressRefused(problem)
    parts = urlsplit(address)
    host = parts.hostname or ""
    port = parts.port or _PORTS[parts.scheme]
    literal = _ip(host)
    if literal is not None:
        found = [literal]
    else:
        try:
            found = [ip for ip in (_ip(a.split("%", 1)[0]) for a in await resolver(host, port)) if ip is not None]
        except OSError:
            raise AddressRefused("The address's host name does not resolve.") from None
    if not found:
        raise AddressRefused("The address's host name does not resolve.")
    if not all(is_allowed_ip(ip, allow_loopback=allow_loopback) for ip in found):
        raise AddressRefused("The address resolves to a private or reserved network address.")
    return str(found[0]), host, port

"""Which addresses a webhook may go to: https, on public networks (no SSRF).

Checked when an app subscribes (the URL's form, and the addresses its host resolves to: looked
up by the API before its write transaction, off the event loop, within ``LOOKUP_TIMEOUT``) and
again at every delivery (a name that resolved to a public address yesterday may resolve to a
private one today: DNS rebinding). The sender then connects to the very address checked here.
``allow_loopback`` (on under ``serve --demo``) lets apps on a developer's machine receive at
``http://127.0.0.1`` or ``http://localhost``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import anyio

from ...protocol.urls import LOOPBACK_HOSTS, check_app_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses the host resolves to
Resolver = Callable[[str, int], Awaitable[list[str]]]

_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_PORTS = {"http": 80, "https": 443}
LOOKUP_TIMEOUT = 3.0  # seconds for the subscribe-time lookups of one request
MAX_LOOKUPS = 10  # distinct addresses one API request may have checked


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
    # The event loop's getaddrinfo runs in its executor's threads: the loop never waits for DNS.
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


def resolver_for(hosts: Iterable[tuple[str, str]]) -> Resolver:
    """The resolver of ``Settings.webhook_hosts``: the system's, behind the fixed answers if any."""
    table = dict(hosts)
    return fixed_hosts_resolver(table) if table else system_resolver


def fixed_hosts_resolver(hosts: Mapping[str, str], fallback: Resolver = system_resolver) -> Resolver:
    """``hosts`` (``Settings.webhook_hosts``: name -> IP, like /etc/hosts for webhooks) answer
    first, the ``fallback`` for other names. The answers are checked like any other."""
    table = {name.lower().rstrip("."): ip for name, ip in hosts.items()}

    async def resolve(host: str, port: int) -> list[str]:
        found = table.get(host.lower().rstrip("."))
        return [found] if found is not None else await fallback(host, port)

    return resolve


async def check_addresses(addresses: Iterable[str], *, allow_loopback: bool, resolver: Resolver = system_resolver,
                          timeout: float = LOOKUP_TIMEOUT) -> dict[str, str | None]:
    """What is wrong with each address, its lookup included (``None``: nothing), for a
    subscription about to be written. Concurrent, at most ``MAX_LOOKUPS`` of them (the rest
    are refused), all within ``timeout``: a name that has not resolved by then is refused."""
    found: dict[str, str | None] = {}
    wanted = list(dict.fromkeys(addresses))

    async def check(address: str) -> None:
        try:
            await resolve_checked(address, allow_loopback=allow_loopback, resolver=resolver)
        except AddressRefused as exc:
            found[address] = str(exc)
        else:
            found[address] = None

    with anyio.move_on_after(timeout):
        async with anyio.create_task_group() as group:
            for address in wanted[:MAX_LOOKUPS]:
                group.start_soon(check, address)
    for address in wanted[:MAX_LOOKUPS]:
        found.setdefault(address, "The address's host name did not resolve in time.")
    for address in wanted[MAX_LOOKUPS:]:
        found[address] = f"At most {MAX_LOOKUPS} webhook addresses can be checked in one request."
    return found

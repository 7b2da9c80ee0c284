"""POSTing one delivery: to the address checked at this moment, with a bound on everything.

The host is resolved and checked (``addresses``) and the connection made to that IP, with the
host name kept for ``Host`` and TLS (SNI and certificate check): a second resolution between
check and connect, which DNS rebinding would exploit, never happens. Redirects are not
followed (a 3xx is a failure). The response is read up to ``MAX_RESPONSE_BYTES`` and stored
truncated; errors are described in our words, never with the request's headers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx

from ..store.database import utcnow
from ..store.repositories.webhook_deliveries import AttemptOutcome
from .addresses import AddressRefused, Resolver, resolve_checked, system_resolver

TIMEOUT = 5.0  # seconds for the whole attempt, connect to last byte
MAX_RESPONSE_BYTES = 4096  # read from a response; what is stored is cut shorter
STORED_BODY_CHARS = 1024
STORED_HEADERS_CHARS = 1024
CONNECTIONS = 20


class SafeSender:
    def __init__(self, *, allow_loopback: bool, timeout: float = TIMEOUT, resolver: Resolver = system_resolver,
                 verify: bool | str = True) -> None:
        self.allow_loopback = allow_loopback
        self.timeout = timeout
        self.resolver = resolver
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        # Plain http (loopback) keeps connections; https does not, because its pool is keyed by
        # the IP: a kept connection could otherwise serve another host name with this one's SNI.
        self._http = httpx.AsyncClient(follow_redirects=False, timeout=timeout, limits=limits, trust_env=False)
        self._https = httpx.AsyncClient(follow_redirects=False, timeout=timeout, trust_env=False, verify=verify,
                                        limits=httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=0))

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._https.aclose()

    async def post(self, address: str, body: bytes, headers: Mapping[str, str]) -> AttemptOutcome:
        started_at = utcnow()
        start = time.perf_counter()

        def outcome(status: int | None, error: str = "", response_headers: str = "", response_body: str = "") -> AttemptOutcome:
            return AttemptOutcome(started_at, round((time.perf_counter() - start) * 1000), status, error,
                                  response_headers[:STORED_HEADERS_CHARS], response_body[:STORED_BODY_CHARS])

        try:
            with anyio.fail_after(self.timeout):
                ip, host, port = await resolve_checked(address, allow_loopback=self.allow_loopback,
                                                       resolver=self.resolver)
                parts = urlsplit(address)
                netloc = f"[{ip}]" if ":" in ip else ip
                default_port = 443 if parts.scheme == "https" else 80
                if port != default_port:
                    netloc += f":{port}"
                host_header = host if port == default_port else f"{host}:{port}"
                url = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
                client = self._https if parts.scheme == "https" else self._http
                request = client.build_request("POST", url, content=body,
                                               headers={**headers, "Host": host_header},
                                               extensions={"sni_hostname": host} if parts.scheme == "https" else {})
                response = await client.send(request, stream=True)
                try:
                    received = b""
                    async for chunk in response.aiter_raw():
                        received += chunk
                        if len(received) >= MAX_RESPONSE_BYTES:
                            break
                finally:
                    await response.aclose()
        except AddressRefused as exc:
            return outcome(None, str(exc))
        except TimeoutError:
            return outcome(None, f"No response within {self.timeout:g} s.")
        except httpx.TimeoutException:
            return outcome(None, f"No response within {self.timeout:g} s.")
        except httpx.ConnectError:
            return outcome(None, "The connection was refused or could not be made.")
        except httpx.HTTPError as exc:
            return outcome(None, f"The request failed ({type(exc).__name__}).")
        status = response.status_code
        error = "" if 200 <= status < 300 else (
            "Redirects are not followed." if 300 <= status < 400 else f"The receiver answered {status}.")
        shown_headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        return outcome(status, error, shown_headers, received.decode("utf-8", "replace"))

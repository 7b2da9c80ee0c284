"""What every SDK request shares: user agent, timeouts, owning or borrowing an httpx client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from orderchamp_auth import __version__

from ._exceptions import TransportError

DEFAULT_WEB_URL = "https://www.orderchamp.com"
DEFAULT_API_URL = "https://api.orderchamp.com/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

TimeoutTypes = float | httpx.Timeout | None


def user_agent() -> str:
    return f"orderchamp-auth-python/{__version__} httpx/{httpx.__version__}"


def as_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def build_request(
    method: str,
    url: str,
    *,
    timeout: httpx.Timeout,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
) -> httpx.Request:
    """A complete request, ready for any client's ``send`` (the client adds nothing to it)."""
    all_headers = {"User-Agent": user_agent(), "Accept": "application/json"}
    all_headers.update(headers or {})
    return httpx.Request(
        method,
        url,
        headers=all_headers,
        json=json,
        data=data,
        extensions={"timeout": timeout.as_dict()},
    )


def transport_error(request: httpx.Request, exc: httpx.HTTPError) -> TransportError:
    # Name the URL and the failure only: the request body may hold a secret or a code.
    return TransportError(
        f"{request.method} {request.url.copy_with(query=None)} failed: {type(exc).__name__}"
    )


def strip_slash(url: str) -> str:
    return url.rstrip("/")


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response's body if it is a JSON object, else ``None`` (HTML error pages, lists, junk)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None

"""Which URLs a partner may give us: an app's URL and redirect URLs, image and tracking URLs,
webhook addresses (which add their own network checks on top, ``server.webhooks.addresses``)."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def check_app_url(url: str, field: str) -> str | None:
    """What is wrong with an application or redirect URL, or ``None``.

    HTTPS, or plain HTTP on loopback for development (RFC 8252 section 7.3); absolute; no
    fragment (RFC 6749 section 3.1.2); no credentials.
    """
    if not url:
        return f"The {field} is required."
    if len(url) > MAX_URL_LENGTH:
        return f"The {field} is longer than {MAX_URL_LENGTH} characters."
    if any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        return f"The {field} must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return f"The {field} is not a valid URL."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return f"The {field} must be an absolute http(s) URL."
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return f"The {field} must use https (plain http is allowed only for localhost)."
    if parts.fragment or url.endswith("#"):
        return f"The {field} must not contain a fragment (#...)."
    if parts.username or parts.password:
        return f"The {field} must not contain a user name or password."
    return None

"""What every fuzzed answer must satisfy: no 5xx, no internals, nothing of the other account."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import httpx
from hypothesis import note

# Text that only an unhandled error puts in a body: driver and Python messages, stack frames.
INTERNAL_TEXT = re.compile(
    "|".join([
        r"Traceback", r"sqlalchemy", r"psycopg", r"sqlite3?\b", r"(?-i:\bException\b)", r"(?-i:\b[A-Z]\w*Error\b)",
        r"invalid literal", r"object has no attribute", r"has no attribute", r"not supported between",
        r"unsupported operand", r"NoneType", r"index out of range", r"value out of range",
        r"\bis out of range", r"(?:big|small)?int(?:eger)? out of range", r"int too large", r"too large to convert",
        r"numeric field overflow", r"value too long for type", r"invalid input syntax", r"null value in column",
        r"violates \w+ constraint", r"duplicate key value", r"constraint failed", r"database is locked",
        r"no such (?:table|column)", r"current transaction is aborted",
        r"naive datetime", r"can't compare", r"codec can't", r"surrogates not allowed",
        r"object is not", r"unhashable", r"missing \d+ required", r"takes \d+ positional",
        r"File \"", r"\.py\"", r"\.py:\d+", r"site-packages", r"orderchamp_auth[./]",
    ]),
    re.IGNORECASE,
)
# Words a page legitimately contains that the pattern above would flag.
ALLOWED = re.compile(r"UserError|GraphQLError", re.IGNORECASE)


# Set to a file path to survey instead of test: every failed expectation is appended to the file
# (one JSON object a line) and the search goes on, so one run lists every distinct failure.
SURVEY = os.environ.get("ORDERCHAMP_FUZZ_SURVEY")


def expect(condition: object, kind: str, response: httpx.Response | None = None, detail: str = "") -> None:
    if condition:
        return
    message = f"{kind}{': ' + detail if detail else ''}" + (f"\n{describe(response)}" if response is not None else "")
    if SURVEY:
        record = {"kind": kind, "detail": detail}
        if response is not None:
            request = response.request
            record.update(method=request.method, url=str(request.url), status=response.status_code,
                          request_body=describe_request(request)[:2500],
                          request_headers={k: v for k, v in request.headers.items() if k in (
                              "authorization", "content-type")},
                          response=response.text[:1000])
        with open(SURVEY, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return
    raise AssertionError(message)


def describe_request(request: httpx.Request) -> str:
    try:
        content = request.content
    except httpx.RequestNotRead:  # a multipart body is a stream
        content = request.read()
    body = content[:600]
    return f"{request.method} {request.url}\n  request headers: {dict(request.headers)}\n  request body: {body!r}"


def describe(response: httpx.Response) -> str:
    return f"{describe_request(response.request)}\n  -> {response.status_code} {response.text[:800]!r}"


def answer(send: Callable[[], httpx.Response]) -> httpx.Response | None:
    """The response, or None (and a failure) when the server dropped the connection.

    Every request goes on a fresh connection (see ``fresh_client``), so a dropped connection
    is the answer to this request and not to an earlier one.
    """
    try:
        return send()
    except httpx.TransportError as exc:
        request = getattr(exc, "_request", None)
        detail = f"{exc!r}\n{describe_request(request)}" if request is not None else repr(exc)
        note(detail)
        expect(False, "the server dropped the connection", None, detail)
        return None


def fresh_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, follow_redirects=False, timeout=60,
                        limits=httpx.Limits(max_keepalive_connections=0))


def internal_text(text: str) -> str | None:
    for match in INTERNAL_TEXT.finditer(text):
        if not ALLOWED.fullmatch(match.group(0)):
            return match.group(0)
    return None


def check_answer(response: httpx.Response, foreign: Iterable[str] = ()) -> str:
    """The common oracle; returns the body text. The request is noted for a readable failure."""
    note(describe(response))
    expect(response.status_code < 500, "5xx answer", response)
    text = response.content.decode("utf-8", "replace")
    leaked = internal_text(text)
    expect(leaked is None, "internal text in the answer", response, repr(leaked))
    for marker in foreign:
        expect(marker not in text, "the other account's data in the answer", response, marker)
    return text


def check_local_redirect(response: httpx.Response, allowed_prefixes: Iterable[str] = ()) -> None:
    """A redirect goes to a path of this site or to one of ``allowed_prefixes`` (registered URIs)."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    location = response.headers.get("location", "")
    parts = urlsplit(location)
    if not parts.scheme and not parts.netloc:
        expect(location.startswith("/") and not location.startswith(("//", "/\\")), "redirect off the site",
               response, location)
        return
    base = str(response.request.url.copy_with(path="/", query=None, fragment=None))
    targets = [base, *allowed_prefixes]
    expect(any(location.startswith(t) for t in targets), "redirect off the site", response, location)


OAUTH_ERRORS = {"invalid_request", "invalid_client", "invalid_grant", "unsupported_grant_type", "invalid_scope",
                "unauthorized_client"}


def check_oauth_error(response: httpx.Response) -> None:
    """A refused /oauth/* request answers RFC 6749 JSON."""
    expect(400 <= response.status_code < 500, "not a 4xx", response)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    expect(isinstance(payload, dict) and payload.get("error") in OAUTH_ERRORS, "not RFC 6749 JSON", response)

"""The signature on every redirect the platform sends to an app (SPEC section 3).

The message is the query without ``signature``, sorted by name in byte order and encoded the
way PHP's ``http_build_query`` does: space as ``+``, every byte except ``A-Z a-z 0-9 - _ .``
percent-encoded with uppercase hex. That is exactly what Orderchamp's official PHP client
recomputes (``ksort`` then ``http_build_query``), so Python's ``urlencode`` is not used: it
leaves ``~`` raw where PHP writes ``%7E``.

Verification works on bytes: values are never normalised or decoded to text, so a state in
NFD, an emoji or a stray ``%`` round-trips byte for byte.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote_plus, unquote_to_bytes, urlsplit, urlunsplit

from .errors import (
    DuplicateParameterError,
    InvalidSignatureError,
    MissingParameterError,
    SignatureError,
    StaleTimestampError,
)

SIGNATURE_PARAM = "signature"
DEFAULT_MAX_AGE = 300
DEFAULT_MAX_FUTURE = 60

Params = Mapping[str, str] | Iterable[tuple[str, str]]
_RawPairs = list[tuple[bytes, bytes]]


def _php_urlencode(value: bytes) -> str:
    # quote_plus keeps "~" unreserved (RFC 3986); PHP's urlencode does not.
    return quote_plus(value, safe="").replace("~", "%7E")


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _pairs(params: Params) -> _RawPairs:
    items = params.items() if isinstance(params, Mapping) else params
    return [(_as_bytes(k), _as_bytes(v)) for k, v in items]


def _canonical(pairs: _RawPairs) -> str:
    kept = sorted((kv for kv in pairs if kv[0] != SIGNATURE_PARAM.encode()), key=lambda kv: kv[0])
    return "&".join(f"{_php_urlencode(k)}={_php_urlencode(v)}" for k, v in kept)


def canonical_query(params: Params) -> str:
    """The signed message for these parameters (``signature`` itself is left out)."""
    return _canonical(_pairs(params))


def compute_signature(message: str | bytes, secret: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the message; the key is the secret's UTF-8 bytes."""
    return hmac.new(_as_bytes(secret), _as_bytes(message), hashlib.sha256).hexdigest()


def sign_params(params: Params, secret: str | bytes) -> str:
    """The signature for these parameters."""
    return compute_signature(canonical_query(params), secret)


def build_signed_query(params: Params, secret: str | bytes) -> str:
    """``message + "&signature=" + signature``, the exact query the platform emits."""
    message = canonical_query(params)
    return f"{message}&{SIGNATURE_PARAM}={compute_signature(message, secret)}"


def parse_query_pairs(query: str | bytes) -> _RawPairs:
    """Split a raw query string into byte pairs, as a form decoder would (``+`` is space)."""
    raw = _as_bytes(query)
    pairs: _RawPairs = []
    for segment in raw.split(b"&"):
        if not segment:
            continue
        key, _, value = segment.partition(b"=")
        pairs.append(
            (unquote_to_bytes(key.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" ")))
        )
    return pairs


def build_signed_url(url: str, params: Params, secret: str | bytes) -> str:
    """Append signed parameters to a URL, signing the parameters it already carries too.

    A registered redirect URL may hold its own query (``?shop=x``); those pairs stay and are
    signed with the rest. A fragment is dropped: it would hide the query from the browser.
    """
    parts = urlsplit(url)
    pairs = parse_query_pairs(parts.query) + _pairs(params)
    message = _canonical(pairs)
    query = f"{message}&{SIGNATURE_PARAM}={compute_signature(message, secret)}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def parse_timestamp(value: str) -> float:
    """Unix seconds, or an ISO 8601 date-time (what PHP's ``date('c')`` writes)."""
    text = value.strip()
    try:
        return float(int(text))
    except ValueError:
        pass
    try:
        moment = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise StaleTimestampError("timestamp is not a Unix time or an ISO 8601 date") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def check_timestamp(
    value: str,
    *,
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    now: float | None = None,
) -> None:
    moment = parse_timestamp(value)
    current = time.time() if now is None else now
    if max_age is not None and moment < current - max_age:
        raise StaleTimestampError("timestamp is too old")
    if max_future is not None and moment > current + max_future:
        raise StaleTimestampError("timestamp is too far in the future")


def verify_signed_pairs(
    pairs: _RawPairs,
    secrets: str | bytes | Sequence[str | bytes],
    *,
    required: Sequence[str] = ("account_id", "timestamp"),
    max_age: float | None = DEFAULT_MAX_AGE,
    max_future: float | None = DEFAULT_MAX_FUTURE,
    now: float | None = None,
) -> dict[str, str]:
    """Verify decoded pairs; return them as a dict of text. Raises a ``SignatureError``.

    ``secrets`` may list several keys (newest first) so that a rotated secret keeps working
    for a grace period. Every key is tried, so timing does not tell which one matched.
    """
    seen: set[bytes] = set()
    for key, _ in pairs:
        if key in seen:
            raise DuplicateParameterError(key.decode("utf-8", "replace"))
        seen.add(key)
    by_name = dict(pairs)
    given = by_name.get(SIGNATURE_PARAM.encode())
    if given is None:
        raise MissingParameterError(SIGNATURE_PARAM)
    for name in required:
        if name.encode() not in by_name:
            raise MissingParameterError(name)
    keys = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    if not keys:
        raise SignatureError("no secret to verify with")
    message = _canonical(pairs)
    matched = False
    for secret_key in keys:
        expected = compute_signature(message, secret_key).encode()
        matched |= hmac.compare_digest(expected, given.lower())
    if not matched:
        raise InvalidSignatureError()
    timestamp = by_name.get(b"timestamp")
    if timestamp is not None:
        check_timestamp(
            timestamp.decode("utf-8", "replace"), max_age=max_age, max_future=max_future, now=now
        )
    return {k.decode("utf-8", "surrogateescape"): v.decode("utf-8", "surrogateescape") for k, v in pairs}


def verify_query_string(
    query: str | bytes,
    secrets: str | bytes | Sequence[str | bytes],
    **options: object,
) -> dict[str, str]:
    """Verify a raw query string (the part after ``?``). See ``verify_signed_pairs``."""
    return verify_signed_pairs(parse_query_pairs(query), secrets, **options)  # type: ignore[arg-type]


def verify_params(
    params: Params,
    secrets: str | bytes | Sequence[str | bytes],
    **options: object,
) -> dict[str, str]:
    """Verify already-decoded parameters (a mapping or pairs, e.g. a framework's query dict)."""
    return verify_signed_pairs(_pairs(params), secrets, **options)  # type: ignore[arg-type]

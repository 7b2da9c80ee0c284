"""Webhooks: the body's signature and the headers that say what happened to which account.

Orderchamp signs the raw request body: ``X-Orderchamp-Signature`` is the lowercase hex
HMAC-SHA256 of those exact bytes, keyed with the app's client secret. The platform signs with
``orderchamp_auth.protocol.signing.compute_signature`` and so does ``compute_webhook_signature``:
one function, so both sides agree by construction. Verify before parsing the JSON.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from orderchamp_auth.protocol.signing import compute_signature

from ._exceptions import WebhookVerificationError

SIGNATURE_HEADER = "X-Orderchamp-Signature"
ACCOUNT_ID_HEADER = "X-Orderchamp-Account-Id"
EVENT_HEADER = "X-Orderchamp-Event"
WEBHOOK_ID_HEADER = "X-Orderchamp-Webhook-Id"

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
Secrets = str | bytes | Sequence[str | bytes]


def compute_webhook_signature(raw_body: bytes, secret: str | bytes) -> str:
    """The ``X-Orderchamp-Signature`` value for this body."""
    return compute_signature(raw_body, secret)


def _keys(secrets: Secrets) -> list[str | bytes]:
    keys = [secrets] if isinstance(secrets, (str, bytes)) else list(secrets)
    keys = [k for k in keys if k]
    if not keys:
        raise ValueError("no secret to verify the webhook with")
    return keys


def is_valid_webhook(raw_body: bytes, signature_header: str | None, secrets: Secrets) -> bool:
    """True when the signature matches the body under one of the secrets (newest first)."""
    keys = _keys(secrets)
    if not signature_header:
        return False
    given = signature_header.strip().lower().encode("ascii", "replace")
    matched = False
    for key in keys:  # every key is tried: timing does not tell which matched
        matched |= hmac.compare_digest(compute_webhook_signature(raw_body, key).encode("ascii"), given)
    return matched


def verify_webhook(raw_body: bytes, signature_header: str | None, secrets: Secrets) -> None:
    """Raise ``WebhookVerificationError`` unless the body carries a valid signature.

    ``secrets`` is the client secret, or a list (current first, then the previous one during a
    rotation). Pass the raw bytes as received: a re-serialised JSON body does not verify.
    """
    if not isinstance(raw_body, (bytes, bytearray, memoryview)):
        raise TypeError("verify the raw body bytes, not a decoded body")
    if not signature_header:
        _keys(secrets)
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    if not is_valid_webhook(bytes(raw_body), signature_header, secrets):
        raise WebhookVerificationError("webhook signature does not match")


def header_value(headers: Headers, name: str) -> str | None:
    """A header's value, whatever the case of its name; ``None`` when absent."""
    wanted = name.lower()
    items = headers.items() if isinstance(headers, Mapping) else headers
    for key, value in items:
        if key.lower() == wanted:
            return value
    return None


def webhook_account_id(headers: Headers) -> str | None:
    return header_value(headers, ACCOUNT_ID_HEADER)


def webhook_event(headers: Headers) -> str | None:
    return header_value(headers, EVENT_HEADER)


def webhook_id(headers: Headers) -> str | None:
    return header_value(headers, WEBHOOK_ID_HEADER)


@dataclass(frozen=True)
class Webhook:
    """A verified webhook: who it is about, what happened, its id, and the raw body."""

    account_id: str | None
    event: str | None
    webhook_id: str | None
    body: bytes


def verify_webhook_request(raw_body: bytes, headers: Headers, secrets: Secrets) -> Webhook:
    """Verify a webhook from its body and headers; return what its headers say."""
    header_list = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    verify_webhook(raw_body, header_value(header_list, SIGNATURE_HEADER), secrets)
    return Webhook(
        account_id=webhook_account_id(header_list),
        event=webhook_event(header_list),
        webhook_id=webhook_id(header_list),
        body=bytes(raw_body),
    )

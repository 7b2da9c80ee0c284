"""Webhook verification: hex HMAC-SHA256 of the raw body, the same function the platform signs with."""

import hashlib
import hmac

import pytest

from orderchamp_auth.client import (
    Webhook,
    WebhookVerificationError,
    compute_webhook_signature,
    is_valid_webhook,
    verify_webhook,
    verify_webhook_request,
    webhook_account_id,
    webhook_event,
    webhook_id,
)
from orderchamp_auth.protocol.errors import SignatureError
from orderchamp_auth.protocol.signing import compute_signature

SECRET = "ocs_webhook-secret"
BODY = b'{"id":"T3JkZXI6MQ","event":"orders/create","note":"caf\xc3\xa9 \xf0\x9f\x8e\x89"}'


def platform_signs(body: bytes, secret: str = SECRET) -> str:
    return compute_signature(body, secret)  # what the platform calls


def test_a_body_signed_by_the_platforms_signing_code_verifies():
    verify_webhook(BODY, platform_signs(BODY), SECRET)
    assert (
        compute_webhook_signature(BODY, SECRET) == hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    )


def test_the_signature_is_compared_case_insensitively_and_trimmed():
    verify_webhook(BODY, f" {platform_signs(BODY).upper()} ", SECRET)


@pytest.mark.parametrize(
    "body",
    [BODY + b" ", BODY.replace(b"orders/create", b"orders/delete"), b"", BODY.decode().encode("utf-16")],
)
def test_a_changed_body_is_refused(body):
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, platform_signs(BODY), SECRET)


def test_a_missing_or_garbage_signature_is_refused():
    for header in (None, "", "sha256=abc", "é" * 64, "0" * 64):
        assert not is_valid_webhook(BODY, header, SECRET)
        with pytest.raises(WebhookVerificationError):
            verify_webhook(BODY, header, SECRET)


def test_a_body_signed_with_the_previous_secret_verifies_during_rotation():
    signature = platform_signs(BODY, "ocs_old")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, signature, SECRET)
    verify_webhook(BODY, signature, [SECRET, "ocs_old"])


def test_verification_needs_raw_bytes_and_a_secret():
    with pytest.raises(TypeError):
        verify_webhook(BODY.decode(), platform_signs(BODY), SECRET)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        verify_webhook(BODY, platform_signs(BODY), [])


def test_the_webhook_error_is_a_signature_error():
    assert issubclass(WebhookVerificationError, SignatureError)


def test_headers_are_read_whatever_their_case():
    headers = {
        "x-orderchamp-account-id": "1042",
        "X-ORDERCHAMP-EVENT": "orders/create",
        "X-Orderchamp-Webhook-Id": "wh_1",
    }
    assert webhook_account_id(headers) == "1042"
    assert webhook_event(headers) == "orders/create"
    assert webhook_id(headers) == "wh_1"
    assert webhook_event({}) is None


def test_a_whole_request_verifies_into_a_webhook_from_header_pairs():
    headers = [
        ("X-Orderchamp-Signature", platform_signs(BODY)),
        ("x-orderchamp-account-id", "1042"),
        ("x-orderchamp-event", "orders/create"),
        ("x-orderchamp-webhook-id", "wh_1"),
    ]
    assert verify_webhook_request(BODY, headers, SECRET) == Webhook("1042", "orders/create", "wh_1", BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook_request(BODY, headers[1:], SECRET)

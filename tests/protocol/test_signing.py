import hashlib
import hmac
from urllib.parse import parse_qsl, urlsplit

import pytest

from orderchamp_auth.protocol.errors import (
    DuplicateParameterError,
    InvalidSignatureError,
    MissingParameterError,
    StaleTimestampError,
)
from orderchamp_auth.protocol.signing import (
    build_signed_query,
    build_signed_url,
    canonical_query,
    sign_params,
    verify_params,
    verify_query_string,
)


def _now_for(vector):
    # The vectors are dated; verify them "at" their own timestamp.
    from orderchamp_auth.protocol.signing import parse_timestamp

    return parse_timestamp(vector["params"]["timestamp"])


def test_every_vector_canonicalizes_and_signs_like_php(signature_vectors):
    assert len(signature_vectors) >= 30
    for vector in signature_vectors:
        assert canonical_query(vector["params"]) == vector["canonical"], vector["name"]
        assert sign_params(vector["params"], vector["secret"]) == vector["signature"], vector["name"]
        assert build_signed_query(vector["params"], vector["secret"]) == vector["query_string"], vector["name"]


def test_every_vector_query_string_verifies(signature_vectors):
    for vector in signature_vectors:
        now = _now_for(vector)
        variants = [vector["query_string"]] + [alt["query_string"] for alt in vector.get("alt_query_strings", [])]
        for query in variants:
            params = verify_query_string(query, vector["secret"], now=now)
            assert params["account_id"] == vector["params"]["account_id"], (vector["name"], query)
            assert params.get("state") == vector["params"].get("state"), vector["name"]


def test_every_vector_verifies_from_decoded_params(signature_vectors):
    for vector in signature_vectors:
        params = dict(vector["params"], signature=vector["signature"])
        verify_params(params, vector["secret"], now=_now_for(vector))


def test_tampered_vectors_are_refused(signature_vectors):
    for vector in signature_vectors:
        now = _now_for(vector)
        changed = dict(vector["params"], account_id=vector["params"]["account_id"] + "1")
        with pytest.raises(InvalidSignatureError):
            verify_params(dict(changed, signature=vector["signature"]), vector["secret"], now=now)
        with pytest.raises(InvalidSignatureError):
            verify_query_string(vector["query_string"], vector["secret"] + "x", now=now)
        added = vector["query_string"] + "&extra=1"
        with pytest.raises(InvalidSignatureError):
            verify_query_string(added, vector["secret"], now=now)


def test_signature_is_hmac_sha256_of_the_canonical_message():
    params = {"b": "2", "a": "1 2"}
    expected = hmac.new(b"k", b"a=1+2&b=2", hashlib.sha256).hexdigest()
    assert sign_params(params, "k") == expected


def test_duplicated_parameter_is_refused_even_when_identical():
    query = build_signed_query({"account_id": "1", "timestamp": "100"}, "s") + "&account_id=1"
    with pytest.raises(DuplicateParameterError):
        verify_query_string(query, "s", now=100)


def test_duplicated_signature_is_refused():
    query = build_signed_query({"account_id": "1", "timestamp": "100"}, "s")
    with pytest.raises(DuplicateParameterError):
        verify_query_string(query + "&signature=00", "s", now=100)


@pytest.mark.parametrize("missing", ["account_id", "timestamp", "signature"])
def test_missing_required_parameter_is_refused(missing):
    params = {"account_id": "1", "timestamp": "100", "code": "c"}
    query = build_signed_query({k: v for k, v in params.items() if k != missing}, "s")
    if missing == "signature":
        query = query.split("&signature=")[0]
    with pytest.raises(MissingParameterError):
        verify_query_string(query, "s", now=100)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (-299, True), (-301, False), (59, True), (61, False), (-10_000, False)],
)
def test_timestamp_window_defaults_to_300s_old_and_60s_ahead(offset, ok):
    now = 1_800_000_000
    query = build_signed_query({"account_id": "1", "timestamp": str(now + offset)}, "s")
    if ok:
        verify_query_string(query, "s", now=now)
    else:
        with pytest.raises(StaleTimestampError):
            verify_query_string(query, "s", now=now)


def test_timestamp_window_is_configurable():
    now = 1_800_000_000
    query = build_signed_query({"account_id": "1", "timestamp": str(now - 1000)}, "s")
    verify_query_string(query, "s", now=now, max_age=2000)
    with pytest.raises(StaleTimestampError):
        verify_query_string(query, "s", now=now, max_age=10)


def test_garbage_timestamp_is_refused():
    query = build_signed_query({"account_id": "1", "timestamp": "yesterday"}, "s")
    with pytest.raises(StaleTimestampError):
        verify_query_string(query, "s", now=0)


def test_previous_secret_is_accepted_during_rotation():
    query = build_signed_query({"account_id": "1", "timestamp": "100"}, "old")
    verify_query_string(query, ["new", "old"], now=100)
    with pytest.raises(InvalidSignatureError):
        verify_query_string(query, ["new"], now=100)


def test_signed_url_keeps_and_signs_the_registered_query():
    url = build_signed_url("https://app.example/cb?shop=x&a=b#frag", {"account_id": "7", "timestamp": "100"}, "s")
    parts = urlsplit(url)
    assert parts.fragment == ""
    assert parts.query.startswith("a=b&account_id=7&shop=x&timestamp=100&signature=")
    verify_query_string(parts.query, "s", now=100)
    assert dict(parse_qsl(parts.query))["shop"] == "x"


def test_uppercase_signature_hex_is_accepted():
    query = build_signed_query({"account_id": "1", "timestamp": "100"}, "s")
    head, sig = query.split("&signature=")
    verify_query_string(f"{head}&signature={sig.upper()}", "s", now=100)

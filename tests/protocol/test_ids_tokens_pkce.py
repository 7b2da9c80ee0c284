import base64
import hashlib

import pytest

from orderchamp_auth.protocol.errors import GlobalIdError
from orderchamp_auth.protocol.global_ids import decode_global_id, decode_global_int_id, encode_global_id
from orderchamp_auth.protocol.pkce import compute_code_challenge, generate_code_verifier, verify_code_verifier
from orderchamp_auth.protocol.tokens import TokenKind, generate_secret, hash_secret, kind_of


def test_global_id_matches_orderchamp_example():
    assert encode_global_id("Account", 562625684520961) == "QWNjb3VudDo1NjI2MjU2ODQ1MjA5NjE"
    assert decode_global_id("QWNjb3VudDo1NjI2MjU2ODQ1MjA5NjE") == ("Account", "562625684520961")


def test_global_id_has_no_padding_and_round_trips():
    for n in range(1, 40):
        gid = encode_global_id("Product", n)
        assert "=" not in gid
        assert decode_global_int_id(gid, "Product") == n


@pytest.mark.parametrize("bad", ["", "!!!", "QWNjb3VudA", encode_global_id("Product", "x"), "a" * 500])
def test_malformed_or_foreign_global_ids_are_refused(bad):
    with pytest.raises(GlobalIdError):
        decode_global_int_id(bad, "Product")


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("bad", [
    _b64("Product:١٢"), _b64("Product:１２"), _b64("Product:²"), _b64("Product:012"),
    _b64("Product:0"), _b64("Product:-1"), _b64("Product:+1"), _b64("Product: 1"), _b64("Product:1\n"),
    _b64("Product:9223372036854775808"), _b64("Product:" + "9" * 30),
])
def test_local_ids_other_than_canonical_ascii_int64_are_refused(bad):
    with pytest.raises(GlobalIdError):
        decode_global_int_id(bad, "Product")


def test_the_largest_int64_id_round_trips():
    assert decode_global_int_id(encode_global_id("Product", 2**63 - 1), "Product") == 2**63 - 1


@pytest.mark.parametrize("bad", [
    encode_global_id("Product", 12) + "==",  # padding: the SPEC's IDs have none
    encode_global_id("Product", 12)[:-1] + "h",  # the same bytes with stray low bits
    " " + encode_global_id("Product", 12), encode_global_id("Product", 12) + "\n",
    encode_global_id("Product", 12).replace("U", "-"), "UHJv ZHVjdDox", "é" * 8,
])
def test_global_ids_not_written_exactly_as_the_server_writes_them_are_refused(bad):
    with pytest.raises(GlobalIdError):
        decode_global_id(bad)


def test_global_id_of_another_type_is_refused():
    with pytest.raises(GlobalIdError):
        decode_global_int_id(encode_global_id("Order", 1), "Product")


def test_tokens_are_prefixed_long_and_unique():
    values = {generate_secret(TokenKind.APP_TOKEN) for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert value.startswith("oca_")
        assert len(base64.urlsafe_b64decode(value[4:] + "=")) == 32
        assert kind_of(value) is TokenKind.APP_TOKEN


def test_token_hash_is_sha256_hex():
    assert hash_secret("ocp_x") == hashlib.sha256(b"ocp_x").hexdigest()


def test_pkce_s256_matches_rfc7636_appendix_b():
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert compute_code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert verify_code_verifier(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not verify_code_verifier(generate_code_verifier(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
    assert not verify_code_verifier("short", compute_code_challenge("short"))

"""The SDK's verification of the platform's signed redirects (SPEC section 3)."""

import pytest

from orderchamp_auth.client import (
    AccessDeniedByUserError,
    CallbackError,
    DuplicateParameterError,
    InvalidSignatureError,
    MissingParameterError,
    OrderchampOAuth,
    RequestVerificationError,
    StaleTimestampError,
    StateMismatchError,
    compute_webhook_signature,
)
from orderchamp_auth.protocol import errors as protocol_errors
from orderchamp_auth.protocol.signing import build_signed_query, build_signed_url, parse_timestamp

NOW = 1_800_000_000


def oauth_at(now: float, secret: str = "hush", **options) -> OrderchampOAuth:
    return OrderchampOAuth("client-1", secret, clock=lambda: now, **options)


def signed(params: dict[str, str], secret: str = "hush") -> str:
    return build_signed_query(params, secret)


def callback_params(**extra: str) -> dict[str, str]:
    return {"account_id": "1042", "code": "occ_code", "state": "st-1", "timestamp": str(NOW), **extra}


def test_every_vector_query_string_verifies_as_an_install_request(signature_vectors):
    for vector in signature_vectors:
        oauth = oauth_at(parse_timestamp(vector["params"]["timestamp"]), vector["secret"])
        queries = [vector["query_string"]] + [alt["query_string"] for alt in vector["alt_query_strings"]]
        for query in queries:
            install = oauth.verify_install_request(query)
            assert install.account_id == vector["params"]["account_id"], (vector["name"], query)
            assert dict(install.params) == {**vector["params"], "signature": vector["signature"]}


def test_every_vector_verifies_from_a_decoded_mapping_and_from_a_full_url(signature_vectors):
    for vector in signature_vectors:
        oauth = oauth_at(parse_timestamp(vector["params"]["timestamp"]), vector["secret"])
        oauth.verify_install_request({**vector["params"], "signature": vector["signature"]})
        oauth.verify_install_request("https://app.example/callback?" + vector["query_string"])
        oauth.verify_install_request(b"?" + vector["query_string"].encode())


def test_every_vector_gives_the_callback_result_its_parameters_mean(signature_vectors):
    for vector in signature_vectors:
        params = vector["params"]
        oauth = oauth_at(parse_timestamp(params["timestamp"]), vector["secret"])
        expected_state = params.get("state")
        check = {"expected_state": expected_state}
        if params.get("error") == "access_denied":
            with pytest.raises(AccessDeniedByUserError):
                oauth.verify_callback(vector["query_string"], **check)
        elif not params.get("code"):
            with pytest.raises(MissingParameterError):
                oauth.verify_callback(vector["query_string"], **check)
        else:
            callback = oauth.verify_callback(vector["query_string"], **check)
            assert (callback.account_id, callback.code, callback.state) == (
                params["account_id"],
                params["code"],
                params.get("state"),
            ), vector["name"]
            assert callback.timestamp == parse_timestamp(params["timestamp"])


def test_every_vector_is_reproduced_by_the_signing_the_sdk_shares_with_the_platform(signature_vectors):
    for vector in signature_vectors:
        assert (
            compute_webhook_signature(vector["canonical"].encode(), vector["secret"]) == vector["signature"]
        )
        assert build_signed_query(vector["params"], vector["secret"]) == vector["query_string"]


def test_a_callback_signed_by_the_platform_onto_a_redirect_url_with_its_own_query_verifies():
    url = build_signed_url("https://app.example/cb?shop=x&lang=nl", callback_params(), "hush")
    callback = oauth_at(NOW).verify_callback(url, expected_state="st-1")
    assert callback.params["shop"] == "x"


def test_tampered_vectors_are_refused_with_invalid_signature(signature_vectors):
    for vector in signature_vectors:
        oauth = oauth_at(parse_timestamp(vector["params"]["timestamp"]), vector["secret"])
        changed = {**vector["params"], "account_id": vector["params"]["account_id"] + "1"}
        with pytest.raises(InvalidSignatureError):
            oauth.verify_install_request({**changed, "signature": vector["signature"]})
        with pytest.raises(InvalidSignatureError):
            oauth.verify_install_request(vector["query_string"] + "&extra=1")
        wrong_key = oauth_at(parse_timestamp(vector["params"]["timestamp"]), vector["secret"] + "x")
        with pytest.raises(InvalidSignatureError):
            wrong_key.verify_install_request(vector["query_string"])


def test_a_callback_whose_code_was_swapped_is_refused():
    query = signed(callback_params()).replace("code=occ_code", "code=occ_other")
    with pytest.raises(InvalidSignatureError):
        oauth_at(NOW).verify_callback(query, expected_state="st-1")


@pytest.mark.parametrize(("offset", "ok"), [(0, True), (-300, True), (-301, False), (60, True), (61, False)])
def test_the_timestamp_window_is_300_seconds_back_and_60_ahead(offset, ok):
    query = signed(callback_params(timestamp=str(NOW + offset)))
    if ok:
        oauth_at(NOW).verify_callback(query, expected_state="st-1")
    else:
        with pytest.raises(StaleTimestampError):
            oauth_at(NOW).verify_callback(query, expected_state="st-1")


def test_the_timestamp_window_is_configurable():
    query = signed(callback_params(timestamp=str(NOW - 900)))
    oauth_at(NOW, max_age=1000).verify_callback(query, expected_state="st-1")
    with pytest.raises(StaleTimestampError):
        oauth_at(NOW + 1000, max_future=10).verify_callback(
            signed(callback_params(timestamp=str(NOW + 1100))), expected_state="st-1"
        )


def test_a_replayed_old_callback_is_refused_as_stale():
    query = signed(callback_params())
    with pytest.raises(StaleTimestampError):
        oauth_at(NOW + 3600).verify_callback(query, expected_state="st-1")


def test_a_duplicated_parameter_is_refused_even_when_the_signature_matches_the_first():
    query = signed(callback_params()) + "&code=occ_other"
    with pytest.raises(DuplicateParameterError):
        oauth_at(NOW).verify_callback(query, expected_state="st-1")


def test_a_duplicated_parameter_in_a_multi_dict_is_refused():
    items = [*callback_params().items(), ("account_id", "1042")]

    class MultiDict(dict):
        def multi_items(self):
            return items

    with pytest.raises(DuplicateParameterError):
        oauth_at(NOW).verify_callback(MultiDict(items), expected_state="st-1")


@pytest.mark.parametrize("missing", ["account_id", "timestamp", "signature"])
def test_a_redirect_missing_a_required_parameter_is_refused(missing):
    params = {k: v for k, v in callback_params().items() if k != missing}
    query = signed(params)
    if missing == "signature":
        query = query.split("&signature=")[0]
    with pytest.raises(MissingParameterError) as caught:
        oauth_at(NOW).verify_install_request(query)
    assert caught.value.name == missing


def test_an_approved_callback_without_code_is_refused():
    query = signed({k: v for k, v in callback_params().items() if k != "code"})
    with pytest.raises(MissingParameterError):
        oauth_at(NOW).verify_callback(query, expected_state="st-1")


def test_verification_errors_are_also_the_protocol_signature_errors():
    with pytest.raises(protocol_errors.InvalidSignatureError):
        oauth_at(NOW).verify_install_request(signed(callback_params(), "other"))
    assert issubclass(StaleTimestampError, protocol_errors.StaleTimestampError)
    assert issubclass(RequestVerificationError, protocol_errors.SignatureError)


def test_a_callback_signed_with_the_previous_secret_verifies_during_rotation():
    query = signed(callback_params(), "old-secret")
    with pytest.raises(InvalidSignatureError):
        oauth_at(NOW, "new-secret").verify_callback(query, expected_state="st-1")
    rotated = oauth_at(NOW, "new-secret", previous_client_secret="old-secret")
    assert rotated.verify_callback(query, expected_state="st-1").code == "occ_code"
    assert rotated.verify_callback(signed(callback_params(), "new-secret"), expected_state="st-1")


def test_a_state_that_differs_from_the_expected_one_is_refused():
    with pytest.raises(StateMismatchError):
        oauth_at(NOW).verify_callback(signed(callback_params()), expected_state="st-2")
    with pytest.raises(StateMismatchError):
        oauth_at(NOW).verify_callback(signed(callback_params(state="")), expected_state="st-1")
    without_state = {k: v for k, v in callback_params().items() if k != "state"}
    with pytest.raises(StateMismatchError):
        oauth_at(NOW).verify_callback(signed(without_state), expected_state="st-1")


def test_the_state_check_must_be_chosen_explicitly():
    with pytest.raises(TypeError):
        oauth_at(NOW).verify_callback(signed(callback_params()))
    with pytest.raises(TypeError):
        oauth_at(NOW).verify_callback(signed(callback_params()), expected_state="st-1", session_key="s")
    assert oauth_at(NOW).verify_callback(signed(callback_params()), expected_state=None).code == "occ_code"


def test_a_denied_installation_raises_access_denied_by_user_with_the_account():
    query = signed(callback_params(error="access_denied", code=""))
    with pytest.raises(AccessDeniedByUserError) as caught:
        oauth_at(NOW).verify_callback(query, expected_state="st-1")
    assert caught.value.error == "access_denied"
    assert caught.value.account_id == "1042"
    assert isinstance(caught.value, protocol_errors.AccessDeniedError)


def test_another_error_in_the_callback_raises_a_callback_error_carrying_its_code():
    params = {"account_id": "1042", "state": "st-1", "timestamp": str(NOW), "error": "invalid_scope"}
    with pytest.raises(CallbackError) as caught:
        oauth_at(NOW).verify_callback(signed(params), expected_state="st-1")
    assert caught.value.error == "invalid_scope"
    assert not isinstance(caught.value, AccessDeniedByUserError)


def test_an_unsigned_error_is_refused_before_it_is_believed():
    params = {"account_id": "1042", "state": "st-1", "timestamp": str(NOW), "error": "access_denied"}
    with pytest.raises(InvalidSignatureError):
        oauth_at(NOW).verify_callback(signed(params, "forged"), expected_state="st-1")


def test_the_verified_callback_hides_the_code_in_its_repr():
    callback = oauth_at(NOW).verify_callback(signed(callback_params()), expected_state="st-1")
    assert "occ_code" not in repr(callback)
    assert "st-1" not in repr(callback)

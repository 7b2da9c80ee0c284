"""The authorize URL and the state: single use, bound to a session, with a TTL."""

from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest

from orderchamp_auth.client import (
    InMemoryStateStore,
    OrderchampOAuth,
    PendingAuthorization,
    Scope,
    StateMismatchError,
    generate_pkce_pair,
)
from orderchamp_auth.protocol.pkce import compute_code_challenge, is_valid_code_verifier
from orderchamp_auth.protocol.signing import build_signed_query


class Clock:
    def __init__(self, now: float = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_oauth(clock: Clock, **options) -> OrderchampOAuth:
    return OrderchampOAuth("client-1", "hush", web_url="https://www.example.test/", clock=clock, **options)


def callback_for(state: str, clock: Clock) -> str:
    return build_signed_query(
        {"account_id": "1042", "code": "occ_x", "state": state, "timestamp": str(int(clock.now))}, "hush"
    )


def test_the_authorize_url_carries_the_documented_parameters_in_order():
    url, state = make_oauth(Clock()).authorization_url(
        ["products_read", "account_read"], "https://app.test/cb?x=1", state="abc"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.example.test", "/oauth/authorize")
    assert parse_qsl(parts.query) == [
        ("response_type", "code"),
        ("client_id", "client-1"),
        ("scope", "account_read,products_read"),
        ("redirect_uri", "https://app.test/cb?x=1"),
        ("state", "abc"),
    ]
    assert "scope=account_read%2Cproducts_read" in url
    assert state == "abc"


def test_scopes_may_be_a_string_a_list_of_enums_or_spaced_and_are_written_canonically():
    oauth = make_oauth(Clock())
    for scopes in (
        "products_read account_read",
        [Scope.PRODUCTS_READ, "account_read"],
        "account_read,products_read",
    ):
        query = parse_qs(urlsplit(oauth.authorization_url(scopes, "https://app.test/cb").url).query)
        assert query["scope"] == ["account_read,products_read"]


def test_asking_for_no_scope_or_an_unknown_scope_is_refused():
    from orderchamp_auth.protocol.errors import ScopeError

    with pytest.raises(ValueError):
        make_oauth(Clock()).authorization_url("", "https://app.test/cb")
    with pytest.raises(ScopeError):
        make_oauth(Clock()).authorization_url("products_raed", "https://app.test/cb")


def test_a_strong_state_is_generated_when_none_is_given():
    oauth = make_oauth(Clock())
    states = {oauth.authorization_url("account_read", "https://app.test/cb").state for _ in range(50)}
    assert len(states) == 50
    assert all(len(s) >= 43 for s in states)


def test_a_code_challenge_is_sent_with_the_s256_method():
    pkce = generate_pkce_pair()
    assert is_valid_code_verifier(pkce.verifier)
    assert pkce.challenge == compute_code_challenge(pkce.verifier)
    assert pkce.verifier not in repr(pkce)
    url = (
        make_oauth(Clock())
        .authorization_url("account_read", "https://app.test/cb", code_challenge=pkce.challenge)
        .url
    )
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge"] == [pkce.challenge]
    assert query["code_challenge_method"] == ["S256"]


def test_the_finish_url_names_the_client():
    assert make_oauth(Clock()).finish_url() == "https://www.example.test/oauth/finish?client_id=client-1"


def test_a_state_issued_to_a_session_is_accepted_once_with_what_was_remembered():
    clock = Clock()
    oauth = make_oauth(clock)
    url, state = oauth.begin_authorization("account_read", "https://app.test/cb", session_key="session-a")
    challenge = parse_qs(urlsplit(url).query)["code_challenge"][0]
    callback = oauth.verify_callback(callback_for(state, clock), session_key="session-a")
    assert callback.redirect_uri == "https://app.test/cb"
    assert compute_code_challenge(callback.code_verifier) == challenge
    with pytest.raises(StateMismatchError, match="unknown or was already used"):
        oauth.verify_callback(callback_for(state, clock), session_key="session-a")


def test_a_state_presented_from_another_session_is_refused_and_spent():
    clock = Clock()
    oauth = make_oauth(clock)
    _, state = oauth.begin_authorization("account_read", "https://app.test/cb", session_key="session-a")
    with pytest.raises(StateMismatchError, match="another session"):
        oauth.verify_callback(callback_for(state, clock), session_key="session-b")
    with pytest.raises(StateMismatchError):
        oauth.verify_callback(callback_for(state, clock), session_key="session-a")


def test_a_state_expires_after_its_ttl():
    clock = Clock()
    oauth = make_oauth(clock, state_ttl=60)
    _, state = oauth.begin_authorization("account_read", "https://app.test/cb", session_key="s")
    clock.now += 61
    with pytest.raises(StateMismatchError, match="expired"):
        oauth.verify_callback(callback_for(state, clock), session_key="s")


def test_a_state_the_app_never_issued_is_refused():
    clock = Clock()
    with pytest.raises(StateMismatchError):
        make_oauth(clock).verify_callback(callback_for("made-up", clock), session_key="s")


def test_a_callback_without_state_is_refused_when_a_session_is_expected():
    clock = Clock()
    query = build_signed_query({"account_id": "1", "code": "c", "timestamp": str(int(clock.now))}, "hush")
    with pytest.raises(StateMismatchError):
        make_oauth(clock).verify_callback(query, session_key="s")


def test_a_denied_callback_spends_its_state_too():
    from orderchamp_auth.client import AccessDeniedByUserError

    clock = Clock()
    oauth = make_oauth(clock)
    _, state = oauth.begin_authorization("account_read", "https://app.test/cb", session_key="s")
    denied = build_signed_query(
        {"account_id": "1", "error": "access_denied", "state": state, "timestamp": str(int(clock.now))},
        "hush",
    )
    with pytest.raises(AccessDeniedByUserError):
        oauth.verify_callback(denied, session_key="s")
    assert len(oauth.state_store) == 0


def test_the_in_memory_store_is_bounded_and_purges_expired_entries():
    store = InMemoryStateStore(max_entries=3)
    for i in range(5):
        store.save(PendingAuthorization(state=f"s{i}", session_key="k", expires_at=100 + i))
    assert len(store) == 3
    assert store.pop("s0") is None
    assert store.purge_expired(now=103) == 2
    assert store.pop("s4") is not None


def test_pending_authorizations_keep_their_secrets_out_of_repr():
    pending = PendingAuthorization(state="st", session_key="sess", expires_at=1, code_verifier="verifier-x")
    assert "verifier-x" not in repr(pending)
    assert "sess" not in repr(pending)

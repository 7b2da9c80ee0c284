"""The bearer cache: no database read per request, yet revocations are seen within the interval."""

from __future__ import annotations

import pytest

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.admin import create_account
from orderchamp_auth.server.oauth.bearer import BearerAuthenticator
from orderchamp_auth.server.oauth.private_tokens import create_private_token, revoke_private_token
from orderchamp_auth.server.store.database import Database, utcnow


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def database(migrated_database_url: str):
    db = Database(migrated_database_url)
    yield db
    db.dispose()


def make_token(database: Database) -> tuple[int, int, str]:
    with database.write() as session:
        account = create_account(session, name="Cache Shop")
        token, value = create_private_token(session, account_id=account.id, name="t", scopes=ScopeSet.parse("account_read"),
                                            user_id=None, now=utcnow())
        return account.id, token.id, value


def test_cached_lookup_needs_no_database_until_the_interval_passes(database):
    clock = FakeClock()
    auth = BearerAuthenticator(database, check_interval=1.0, clock=clock)
    _, _, value = make_token(database)
    assert auth.cached(value) is None  # cold
    grant = auth.lookup(value)
    assert grant is not None and grant.scopes == "account_read"
    assert auth.cached(value) == grant
    clock.now += 1.5
    assert auth.cached(value) is None  # stale: the caller must refresh through lookup()
    assert auth.lookup(value) == grant


def test_revocation_by_another_worker_is_seen_after_the_interval(database):
    clock = FakeClock()
    worker_a = BearerAuthenticator(database, check_interval=1.0, clock=clock)
    worker_b = BearerAuthenticator(database, check_interval=1.0, clock=clock)
    account_id, token_id, value = make_token(database)
    assert worker_a.lookup(value) and worker_b.lookup(value)
    with database.write() as session:
        revoke_private_token(session, account_id=account_id, token_id=token_id, now=utcnow())
    worker_a.invalidate()  # the revoking worker drops its cache at once
    assert worker_a.lookup(value) is None
    assert worker_b.cached(value) is not None  # within the interval the other worker may still answer
    clock.now += 1.01
    assert worker_b.cached(value) is None
    assert worker_b.lookup(value) is None


def test_unknown_tokens_are_not_cached(database):
    auth = BearerAuthenticator(database, check_interval=60.0, clock=FakeClock())
    assert auth.lookup("ocp_unknown") is None
    assert auth.cached("ocp_unknown") is None


def test_a_stream_of_tokens_keeps_the_cache_within_its_bound(database):
    auth = BearerAuthenticator(database, check_interval=60.0, clock=FakeClock(), max_cached=3)
    values = [make_token(database)[2] for _ in range(5)]
    for value in values:
        assert auth.lookup(value) is not None
    assert len(auth._cache) == 3
    # The oldest went, not everything: the latest are still answered without the database.
    assert auth.cached(values[0]) is None
    assert all(auth.cached(value) is not None for value in values[2:])

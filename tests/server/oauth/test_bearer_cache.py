"""The bearer cache: no database read per request, yet revocations are seen within the interval."""

from __future__ import annotations

import pytest

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.protocol.tokens import hash_secret
from orderchamp_auth.server.admin import create_account
from orderchamp_auth.server.keys import SecretBox
from orderchamp_auth.server.oauth.bearer import BearerAuthenticator
from orderchamp_auth.server.oauth.private_tokens import create_private_token, revoke_private_token
from orderchamp_auth.server.store.database import Database, utcnow

from ...support import TEST_SECRET_KEY


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


def lookup(auth: BearerAuthenticator, database: Database, value: str):
    """What the API's endpoint does on a cache miss: the lookup in a read of its own."""
    with database.read() as tx:
        return auth.lookup(tx, value)


def make_token(database: Database) -> tuple[int, int, str]:
    with database.write() as session:
        account = create_account(session, name="Cache Shop")
        token, value, _ = create_private_token(session, SecretBox((TEST_SECRET_KEY,)), account_id=account.id, name="t",
                                               scopes=ScopeSet.parse("account_read"), user_id=None, now=utcnow())
        return account.id, token.id, value


def test_cached_lookup_needs_no_database_until_the_interval_passes(database):
    clock = FakeClock()
    auth = BearerAuthenticator(check_interval=1.0, clock=clock)
    _, _, value = make_token(database)
    assert auth.cached(value) is None  # cold
    grant = lookup(auth, database, value)
    assert grant is not None and grant.scopes == "account_read"
    assert auth.cached(value) == grant
    clock.now += 1.5
    assert auth.cached(value) is None  # stale: the caller must refresh through lookup
    assert lookup(auth, database, value) == grant


def test_revocation_by_another_worker_is_seen_after_the_interval(database):
    clock = FakeClock()
    worker_a = BearerAuthenticator(check_interval=1.0, clock=clock)
    worker_b = BearerAuthenticator(check_interval=1.0, clock=clock)
    account_id, token_id, value = make_token(database)
    assert lookup(worker_a, database, value) and lookup(worker_b, database, value)
    with database.write() as session:
        revoke_private_token(session, account_id=account_id, token_id=token_id, now=utcnow())
    worker_a.invalidate()  # the revoking worker drops its cache at once
    assert lookup(worker_a, database, value) is None
    assert worker_b.cached(value) is not None  # within the interval the other worker may still answer
    clock.now += 1.01
    assert worker_b.cached(value) is None
    assert lookup(worker_b, database, value) is None


def test_unknown_tokens_are_not_cached(database):
    auth = BearerAuthenticator(check_interval=60.0, clock=FakeClock())
    assert lookup(auth, database, "ocp_unknown") is None
    assert auth.cached("ocp_unknown") is None


def test_a_stream_of_tokens_keeps_the_cache_within_its_bound(database):
    auth = BearerAuthenticator(check_interval=60.0, clock=FakeClock(), max_cached=3)
    values = [make_token(database)[2] for _ in range(5)]
    for value in values:
        assert lookup(auth, database, value) is not None
    assert len(auth._cache) == 3
    # The oldest went, not everything: the latest are still answered without the database.
    assert auth.cached(values[0]) is None
    assert all(auth.cached(value) is not None for value in values[2:])


def _revoke(database: Database, account_id: int, token_id: int) -> int:
    """Revoke a token; the revocation counter's version after it."""
    with database.write() as tx:
        revoke_private_token(tx, account_id=account_id, token_id=token_id, now=utcnow())
    with database.read() as tx:
        return tx.tokens.revocation_version()


def test_forgetting_what_this_worker_revoked_keeps_the_rest_of_the_cache(database):
    clock = FakeClock()
    auth = BearerAuthenticator(check_interval=1.0, clock=clock)
    account_id, token_id, revoked = make_token(database)
    _, _, kept = make_token(database)
    assert lookup(auth, database, revoked) and lookup(auth, database, kept)
    auth.forget((hash_secret(revoked),), _revoke(database, account_id, token_id))
    assert auth.cached(revoked) is None and lookup(auth, database, revoked) is None  # refused at once
    assert auth.cached(kept) is not None  # the rest stays cached
    clock.now += 1.01
    assert lookup(auth, database, kept) is not None
    assert auth.cached(kept) is not None  # the refresh saw only this worker's own revocation


def test_forgetting_after_another_workers_revocation_refreshes_and_drops_it_too(database):
    clock = FakeClock()
    auth = BearerAuthenticator(check_interval=60.0, clock=clock)
    account_a, token_a, value_a = make_token(database)
    account_b, token_b, value_b = make_token(database)
    assert lookup(auth, database, value_a) and lookup(auth, database, value_b)
    _revoke(database, account_b, token_b)  # another worker's revocation, not seen here yet
    auth.forget((hash_secret(value_a),), _revoke(database, account_a, token_a))
    assert auth.cached(value_b) is None  # the cache is due for a refresh at once
    assert lookup(auth, database, value_b) is None


def test_uses_are_handed_out_once_per_interval_and_kept_when_they_could_not_be_written(database):
    clock = FakeClock()
    auth = BearerAuthenticator(check_interval=1.0, clock=clock, last_used_interval=60.0)
    _, kept_id, kept = make_token(database)
    _, used_again_id, used_again = make_token(database)
    assert lookup(auth, database, kept) and lookup(auth, database, used_again)
    assert auth.uses_due() is None  # not yet: "last used" is written once a minute, not per request
    clock.now += 61
    uses = auth.uses_due()
    assert uses is not None and set(uses.at) == {kept_id, used_again_id}
    assert auth.uses_due() is None  # taken: the next hand-out is an interval later
    assert lookup(auth, database, used_again) is not None  # a newer use, while the write failed
    auth.keep_uses(uses)
    clock.now += 61
    again = auth.uses_due()
    assert again is not None and set(again.at) == {kept_id, used_again_id}
    assert again.at[kept_id] == uses.at[kept_id]  # the failed write's use, kept
    assert again.at[used_again_id] > uses.at[used_again_id]  # the newer one, not the kept one


def test_nothing_used_means_nothing_to_write(database):
    clock = FakeClock()
    auth = BearerAuthenticator(clock=clock, last_used_interval=60.0)
    clock.now += 61
    assert auth.uses_due() is None

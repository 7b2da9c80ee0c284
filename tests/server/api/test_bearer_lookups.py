"""The API's bearer lookups (api/authentication.py): a due write of the tokens' last use holds
up neither the request that made it due nor the event loop, and what it could not write is
written by the next pass."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from orderchamp_auth.server.api.authentication import BearerLookups
from orderchamp_auth.server.oauth.bearer import BearerAuthenticator
from orderchamp_auth.server.store.database import Database
from orderchamp_auth.server.store.models import AccessToken

from ...locks import held_lock

# Seconds: far more than a lookup needs on a loaded two-core machine, far less than the lock is
# held below (a request that waited for the write would take all of it).
PROMPT = 1.0
HELD = 3.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _last_used(database: Database, token_id: int) -> Any:
    with database.read() as tx:
        return tx.session.get(AccessToken, token_id).last_used_at  # type: ignore[union-attr]


async def _lookup_while_the_lock_is_held(lookups: BearerLookups, database: Database, value: str, url: str,
                                        account_id: int) -> tuple[float, Any]:
    """A lookup that makes the write due, the lock held for ``HELD`` seconds: how long it took,
    and the token's last use just before the lock is released."""
    loop = asyncio.get_running_loop()
    with held_lock(url, account_id=account_id):
        started = time.monotonic()
        grant = await lookups.lookup(value)
        took = time.monotonic() - started
        assert grant is not None
        # The loop stays free meanwhile (the write waits, if at all, in a thread).
        await loop.run_in_executor(None, time.sleep, HELD)
        return took, _last_used(database, grant.token_id)


def test_a_due_write_of_last_use_neither_holds_up_the_request_nor_waits_on_the_loop(
    migrated_database_url, world
):
    supplier = world.supplier()
    value = world.private_token(supplier.account_id, "account_read")
    database = Database(migrated_database_url, write_lock_timeout=30)
    clock = FakeClock()
    authenticator = BearerAuthenticator(clock=clock)
    lookups = BearerLookups(database, authenticator)

    async def scenario() -> tuple[float, Any, Any]:
        grant = await lookups.lookup(value)  # a use, not written yet
        assert grant is not None
        clock.now += authenticator.last_used_interval + 1
        took, before_release = await _lookup_while_the_lock_is_held(lookups, database, value, migrated_database_url,
                                                                    supplier.account_id)
        await asyncio.wait_for(lookups.written(), 30)  # the write, once the lock was released
        return took, before_release, _last_used(database, grant.token_id)

    try:
        took, before_release, after = asyncio.run(scenario())
        assert took < PROMPT
        assert before_release is None  # it could not have been written: the lock was held
        assert after is not None
    finally:
        database.dispose()


def test_uses_a_write_could_not_make_are_written_by_the_next_pass(migrated_database_url, world):
    supplier = world.supplier()
    value = world.private_token(supplier.account_id, "account_read")
    database = Database(migrated_database_url, write_lock_timeout=0.2)  # the lock outlasts it
    clock = FakeClock()
    authenticator = BearerAuthenticator(clock=clock)
    lookups = BearerLookups(database, authenticator)

    async def scenario() -> tuple[Any, Any]:
        grant = await lookups.lookup(value)
        assert grant is not None
        clock.now += authenticator.last_used_interval + 1
        await _lookup_while_the_lock_is_held(lookups, database, value, migrated_database_url, supplier.account_id)
        await asyncio.wait_for(lookups.written(), 30)
        failed = _last_used(database, grant.token_id)
        clock.now += authenticator.last_used_interval + 1
        assert await lookups.lookup(value) is not None  # the next pass
        await asyncio.wait_for(lookups.written(), 30)
        return failed, _last_used(database, grant.token_id)

    try:
        failed, after = asyncio.run(scenario())
        assert failed is None  # the write gave up on the held lock (within its bound)...
        assert after is not None  # ...and kept the uses for the next pass, which wrote them
    finally:
        database.dispose()

"""One statement read for the event loop, outside a transaction (``Database.rows_on_loop``):
what a cached API answer needs, with no thread handoff on PostgreSQL and no BEGIN on SQLite."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from orderchamp_auth.server.store.database import Database
from orderchamp_auth.server.store.repositories.catalogue import data_version_on_loop

from ...support import World


@pytest.fixture
def account_id(platform) -> int:
    return World(platform).supplier().account_id


def test_the_version_read_on_the_loop_is_the_transactions(migrated_database_url, account_id):
    database = Database(migrated_database_url)
    try:
        with database.read() as tx:
            expected = tx.catalogue(account_id).data_version()

        async def scenario() -> tuple[int | None, int | None]:
            return (await data_version_on_loop(database, account_id),
                    await data_version_on_loop(database, account_id + 10_000))

        assert asyncio.run(scenario()) == (expected, 0)
    finally:
        database.dispose()


def test_a_change_is_seen_by_the_next_read_on_the_loop(migrated_database_url, account_id):
    database = Database(migrated_database_url)
    try:
        async def read() -> int | None:
            return await data_version_on_loop(database, account_id)

        loop = asyncio.new_event_loop()
        try:
            before = loop.run_until_complete(read())
            with database.write() as tx:
                tx.session.execute(text("UPDATE accounts SET name = name || '.' WHERE id = :id"), {"id": account_id})
            assert loop.run_until_complete(read()) == (before or 0) + 1
        finally:
            loop.close()
    finally:
        database.dispose()


def test_sqlite_leaves_it_to_a_transaction_already_open_on_the_thread(migrated_database_url, account_id):
    database = Database(migrated_database_url)
    try:
        async def scenario() -> int | None:
            with database.read():
                return await data_version_on_loop(database, account_id)

        got = asyncio.run(scenario())
        if database.is_sqlite:
            assert got is None  # the thread's reader is in use: the caller reads in its transaction
        else:
            assert isinstance(got, int)  # the loop's own connection
    finally:
        database.dispose()


def test_postgresql_a_lost_loop_connection_hands_over_then_reconnects(migrated_database_url, account_id):
    database = Database(migrated_database_url)
    if database.is_sqlite:
        database.dispose()
        pytest.skip("PostgreSQL's loop connection")
    try:
        async def scenario() -> list[int | None]:
            first = await data_version_on_loop(database, account_id)
            pid = database._loop_reader._connection.info.backend_pid  # type: ignore[union-attr]
            with database.write() as tx:
                tx.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await asyncio.sleep(0.05)  # the server closes the socket
            lost = await data_version_on_loop(database, account_id)
            database._loop_reader._failed_at = float("-inf")  # type: ignore[union-attr]  # past RETRY_AFTER
            again = await data_version_on_loop(database, account_id)
            return [first, lost, again]

        first, lost, again = asyncio.run(scenario())
        assert lost is None  # the caller takes Database.reading, where connection health is handled
        assert again == first
    finally:
        database.dispose()

"""One statement read for the event loop, outside a transaction (``Database.rows_on_loop``):
what a cached API answer needs, with no thread handoff on PostgreSQL and no BEGIN on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from orderchamp_auth.server.store.database import Database
from orderchamp_auth.server.store.repositories.catalogue import data_version_on_loop

from ...support import World


@pytest.fixture
def account_id(platform) -> int:
    return World(platform).supplier().account_id


@pytest.fixture
def database(migrated_database_url) -> Iterator[Database]:
    database = Database(migrated_database_url)  # its own connections, the loop's among them
    yield database
    database.dispose()


def test_the_version_read_on_the_loop_is_the_transactions(database, account_id):
    with database.read() as tx:
        expected = tx.catalogue(account_id).data_version()

    async def scenario() -> tuple[int | None, int | None]:
        return (await data_version_on_loop(database, account_id),
                await data_version_on_loop(database, account_id + 10_000))

    assert asyncio.run(scenario()) == (expected, 0)


def test_a_change_is_seen_by_the_next_read_on_the_loop(database, account_id):
    loop = asyncio.new_event_loop()
    try:
        before = loop.run_until_complete(data_version_on_loop(database, account_id))
        with database.write() as tx:
            tx.session.execute(text("UPDATE accounts SET name = name || '.' WHERE id = :id"), {"id": account_id})
        assert loop.run_until_complete(data_version_on_loop(database, account_id)) == (before or 0) + 1
    finally:
        loop.close()


def test_sqlite_leaves_it_to_a_transaction_already_open_on_the_thread(database, account_id):
    async def scenario() -> int | None:
        with database.read():
            return await data_version_on_loop(database, account_id)

    got = asyncio.run(scenario())
    if database.is_sqlite:
        assert got is None  # the thread's reader is in use: the caller reads in its transaction
    else:
        assert isinstance(got, int)  # the loop's own connection


def test_postgresql_a_lost_loop_connection_hands_over_then_reconnects(database, account_id):
    if database.is_sqlite:
        pytest.skip("PostgreSQL's loop connection")

    async def scenario() -> list[int | None]:
        first = await data_version_on_loop(database, account_id)
        pid = database._loop_reader._connection.info.backend_pid  # type: ignore[union-attr]
        with database.write() as tx:
            tx.session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(200):  # until its backend has gone (bounded)
            with database.read() as tx:
                if not tx.session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                         {"pid": pid}):
                    break
            await asyncio.sleep(0.01)
        lost = await data_version_on_loop(database, account_id)
        database._loop_reader._failed_at = float("-inf")  # type: ignore[union-attr]  # past RETRY_AFTER
        again = await data_version_on_loop(database, account_id)
        return [first, lost, again]

    first, lost, again = asyncio.run(scenario())
    assert lost is None  # the caller takes Database.reading, where connection health is handled
    assert again == first


def test_postgresql_an_answer_that_does_not_come_hands_over_within_the_bound(database, monkeypatch):
    if database.is_sqlite:
        pytest.skip("PostgreSQL's loop connection")
    from orderchamp_auth.server.store import loop_reads

    monkeypatch.setattr(loop_reads, "ANSWER_TIMEOUT", 0.2)

    async def scenario() -> tuple[list | None, list | None, float]:
        reader = database._loop_reader
        assert reader is not None
        started = asyncio.get_running_loop().time()
        # a server that does not answer, as a lost connection whose socket never turns readable
        stalled, queued = await asyncio.gather(reader.rows("SELECT pg_sleep(5)", {}),
                                               reader.rows("SELECT 1", {}))
        return stalled, queued, asyncio.get_running_loop().time() - started

    stalled, queued, took = asyncio.run(scenario())
    assert stalled is None and queued is None  # both take the ordinary way
    assert took < 2.0  # the bound, not the statement's five seconds


def test_postgresql_reads_of_one_statement_queued_together_share_one_answer_made_after_both_began(
        database, account_id):
    if database.is_sqlite:
        pytest.skip("PostgreSQL's loop connection")

    async def scenario() -> tuple[int | None, ...]:
        await data_version_on_loop(database, account_id)  # the loop's connection, opened
        reader = database._loop_reader
        assert reader is not None
        sent = []
        send = reader._send

        def counting() -> None:
            sent.append(reader._queue[0][1])
            send()

        reader._send = counting  # type: ignore[method-assign]
        in_flight = asyncio.ensure_future(data_version_on_loop(database, account_id))
        await asyncio.sleep(0)  # sent: the next reads queue behind it
        with database.write() as tx:  # committed after that read was sent, before the next began
            tx.session.execute(text("UPDATE accounts SET name = name || '.' WHERE id = :id"), {"id": account_id})
        results = await asyncio.gather(in_flight, data_version_on_loop(database, account_id),
                                       data_version_on_loop(database, account_id),
                                       data_version_on_loop(database, account_id + 10_000))
        assert len(sent) == 3  # the one in flight, one for the two alike, one for the other account
        return tuple(results)

    with database.read() as tx:
        before = tx.catalogue(account_id).data_version()
    _, second, third, other = asyncio.run(scenario())
    assert second == third == before + 1
    assert other == 0

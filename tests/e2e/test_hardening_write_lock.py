"""A held write lock never stalls a worker's event loop (store/write_lock.py).

The test holds the lock that a token exchange needs from outside the server: on SQLite the
database's write lock (BEGIN IMMEDIATE on a connection of its own), on PostgreSQL the rows the
exchange, the consent answer and a mutation write or check (SELECT ... FOR UPDATE). Meanwhile
the worker answers everything that needs no lock, and the waiting writes finish once the lock
is released, or get a 503 with Retry-After when it stays held past the bound.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from orderchamp_auth.server.store.database import Database
from orderchamp_auth.server.store.transaction import Transaction
from orderchamp_auth.server.store.write_lock import WriteLockBusy, WriteLockTimeout

from ..locks import held_lock, is_sqlite, write_lock_is_held
from ..support import (
    Browser,
    LiveServer,
    PartnerApp,
    Supplier,
    World,
    free_port,
    make_settings,
    start_live_server,
)
from .test_install_flow import approve, consent, exchange

# Seconds: generous for a request that needs no lock, on a loaded two-core test machine. A
# request stalled behind the lock waits until the test releases it (seconds, or never).
PROMPT = 1.0


def _timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _signed_in(base_url: str, supplier: Supplier) -> Browser:
    browser = Browser(base_url)
    assert browser.login(supplier.email).status_code == 303
    return browser


@pytest.fixture
def installed(world: World, live: LiveServer) -> Iterator[tuple[Supplier, PartnerApp, Browser]]:
    supplier, app = world.supplier(), world.app()
    browser = _signed_in(live.base_url, supplier)
    yield supplier, app, browser
    browser.close()


def _graphql(base_url: str, token: str, query: str) -> httpx.Response:
    return httpx.post(f"{base_url}/v1/graphql", json={"query": query},
                      headers={"authorization": f"Bearer {token}"}, timeout=30)


def test_health_api_reads_and_the_consent_page_answer_while_a_token_exchange_waits_for_the_lock(
    live, world, installed, migrated_database_url
):
    supplier, app, browser = installed
    code = approve(browser, app)["code"]
    token = world.private_token(supplier.account_id, "account_read")
    with ThreadPoolExecutor(1) as pool, held_lock(migrated_database_url, account_id=supplier.account_id, code=code):
        held_at = time.monotonic()
        waiting: Future[httpx.Response] = pool.submit(exchange, live.base_url, app, code)
        time.sleep(0.2)  # the exchange reaches the server and meets the lock
        health, health_took = _timed(lambda: httpx.get(f"{live.base_url}/healthz", timeout=30))
        read, read_took = _timed(lambda: _graphql(live.base_url, token, "{ account { name } }"))
        page, page_took = _timed(lambda: consent(browser, app))
        assert (health.status_code, read.status_code, page.status_code) == (200, 200, 200)
        assert read.json()["data"]["account"]["name"]
        assert "csrf_token" in page.text
        assert max(health_took, read_took, page_took) < PROMPT, (health_took, read_took, page_took)
        assert not waiting.done()  # still waiting for the lock, off the event loop
        time.sleep(max(0.0, 2.0 - (time.monotonic() - held_at)))
        released_at = time.monotonic()
    answer = waiting.result(timeout=30)
    assert time.monotonic() >= released_at
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"].startswith("oca_")


@pytest.fixture(scope="module")
def short_bound(migrated_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose writes wait at most half a second for a lock."""
    port = free_port()
    settings = make_settings(migrated_database_url, port, write_lock_timeout_ms=500)
    server = start_live_server(settings, port, str(tmp_path_factory.mktemp("logs-lock") / "server.log"))
    yield server
    server.stop()


def test_a_lock_held_past_the_bound_is_answered_503_with_retry_after_and_changes_nothing(
    short_bound, world, migrated_database_url
):
    supplier, app = world.supplier(), world.app()
    browser = _signed_in(short_bound.base_url, supplier)
    code = approve(browser, app)["code"]
    page = consent(browser, app)
    token = world.private_token(supplier.account_id, "products_write")
    create = 'mutation { productCreate(input: {title: "Held"}) { product { id } userErrors { message } } }'
    with held_lock(migrated_database_url, account_id=supplier.account_id, code=code):
        refused, took = _timed(lambda: exchange(short_bound.base_url, app, code))
        mutation = _graphql(short_bound.base_url, token, create)
        decision = browser.decide(page.text, "approve")
        health, health_took = _timed(lambda: httpx.get(f"{short_bound.base_url}/healthz", timeout=30))
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["error"] == "temporarily_unavailable"
    assert 0.4 < took < 5  # it waited up to the bound, in a thread
    assert mutation.status_code == 503, mutation.text
    assert mutation.headers["retry-after"] == "1"
    assert mutation.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert decision.status_code == 503 and decision.headers["retry-after"] == "1"
    assert "Try again" in decision.text
    assert health.status_code == 200 and health_took < PROMPT
    # Nothing was written: the code still exchanges, and no product was made.
    issued = exchange(short_bound.base_url, app, code)
    assert issued.status_code == 200, issued.text
    products = _graphql(short_bound.base_url, token, "{ products(first: 5) { edges { node { title } } } }")
    assert products.status_code == 200
    assert "Held" not in products.text
    browser.close()


def test_a_slow_mutation_does_not_stall_health_checks_or_token_exchanges(
    live, world, installed, migrated_database_url
):
    supplier, app, browser = installed
    code = approve(browser, app)["code"]
    token = world.private_token(supplier.account_id, "products_write")
    # About as many creates as one document may hold (18 tokens each, graphql-core parses at most
    # 5,000), so that a mutation holds the lock as long as one can; and two of them, the second waiting for the first's lock
    # in a thread and holding it next: a loaded machine slows the check below and the writers
    # alike, and the lock stays held for two mutations' time.
    fields = " ".join(f'p{i}: productCreate(input: {{title: "Bulk {i}"}}) {{ product {{ id }} }}' for i in range(270))
    sqlite = is_sqlite(migrated_database_url)
    with ThreadPoolExecutor(3) as pool, httpx.Client(base_url=live.base_url, timeout=30) as health_client:
        # Connected before: the time /healthz takes below is the server's, not a new client's.
        assert health_client.get("/healthz").status_code == 200
        mutations = [pool.submit(_graphql, live.base_url, token, "mutation { " + fields + " }") for _ in range(2)]
        deadline = time.monotonic() + 30
        while sqlite and not write_lock_is_held(migrated_database_url) and time.monotonic() < deadline:
            assert not any(m.done() for m in mutations), "a mutation ended before the write lock was seen held"
            time.sleep(0.005)
        exchanged = pool.submit(exchange, live.base_url, app, code)
        time.sleep(0.05)  # the exchange reaches the server and meets the mutations' lock
        health, took = _timed(lambda: health_client.get("/healthz"))
        # Answered while a mutation still held the lock: the loop did not wait for it.
        # (Before, the exchange polled for the lock on the loop and /healthz came after it.)
        held = write_lock_is_held(migrated_database_url) if sqlite else True
        assert health.status_code == 200
        writing = not all(m.done() for m in mutations)
        assert held and writing, f"the mutations ended before /healthz answered ({took:.2f} s)"
        created = [m.result(timeout=60) for m in mutations]
        issued = exchanged.result(timeout=60)
    for response in created:
        assert response.status_code == 200, response.text[:300]
        assert len(response.json()["data"]) == 270
    assert issued.status_code == 200, issued.text


def _touch(tx: Transaction, account_id: int) -> str:
    """A unit of work that writes the account row; the name of the thread it ran on."""
    tx.session.execute(text("UPDATE accounts SET name = name WHERE id = :id"), {"id": account_id})
    return threading.current_thread().name


def _touch_account(database: Database, account_id: int) -> str:
    with database.write() as tx:
        return _touch(tx, account_id)


def test_a_write_on_the_event_loop_does_not_wait_and_writing_finishes_it_in_a_thread(
    migrated_database_url, world
):
    """In process: the rule itself, without HTTP. A blocking write on the loop is refused at
    once; ``writing`` waits for the lock in a thread while the loop goes on serving (a ticker
    runs all the while)."""
    supplier = world.supplier()
    database = Database(migrated_database_url, write_lock_timeout=10)

    async def on_the_loop() -> tuple[float, str, str, int]:
        started = time.monotonic()
        with pytest.raises(WriteLockBusy):
            _touch_account(database, supplier.account_id)
        refused_after = time.monotonic() - started
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        committed_on = await database.writing(lambda tx: _touch(tx, supplier.account_id))
        ticker.cancel()
        return refused_after, committed_on, threading.current_thread().name, ticks

    try:
        with ThreadPoolExecutor(1, thread_name_prefix="loop") as pool:
            with held_lock(migrated_database_url, account_id=supplier.account_id):
                running = pool.submit(asyncio.run, on_the_loop())
                time.sleep(1.0)
                assert not running.done()  # the write waits for the lock
            refused_after, committed_on, loop_thread, ticks = running.result(timeout=30)
        assert refused_after < 0.1
        assert ticks > 20  # about 100 if the loop was free for the whole second
        assert committed_on != loop_thread
    finally:
        database.dispose()


def test_a_write_off_the_loop_waits_at_most_the_bound(migrated_database_url, world):
    supplier = world.supplier()
    database = Database(migrated_database_url, write_lock_timeout=0.3)
    try:
        with held_lock(migrated_database_url, account_id=supplier.account_id):
            started = time.monotonic()
            with pytest.raises(WriteLockTimeout):
                _touch_account(database, supplier.account_id)
            assert 0.25 < time.monotonic() - started < 3
        assert _touch_account(database, supplier.account_id) == threading.current_thread().name
    finally:
        database.dispose()

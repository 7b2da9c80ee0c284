#!/usr/bin/env python3
"""Webhooks: events/s recorded and delivered to a local receiver, commit-to-delivery latency
(p50/p99), and what recording costs an API mutation (same run, recording on and off).

    benchmarks/webhooks.py                       # SQLite in a temp dir, 2000 events, then 200 at 20/s
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres benchmarks/webhooks.py -n 2000
    benchmarks/webhooks.py --overhead -n 400     # µs per productUpdate mutation, in process
    benchmarks/webhooks.py --parts -n 400        # µs of each part of recording one event

Makes its own database (a temp SQLite file, or a fresh PostgreSQL database dropped afterwards),
an account, an installed app subscribed to PRODUCT_UPDATED at a receiver on 127.0.0.1, and runs
the delivery worker in this process. A script, not a test: nothing here runs in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fresh_database import BenchDatabase  # noqa: E402 - beside this script

from orderchamp_auth.protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret  # noqa: E402
from orderchamp_auth.server.admin import create_account  # noqa: E402
from orderchamp_auth.server.app import build_platform  # noqa: E402
from orderchamp_auth.server.oauth.apps import create_app  # noqa: E402
from orderchamp_auth.server.settings import Settings  # noqa: E402
from orderchamp_auth.server.store.database import utcnow  # noqa: E402
from orderchamp_auth.server.store.migrate import upgrade_to_head  # noqa: E402
from orderchamp_auth.server.store.models import (
    TokenKindName,  # noqa: E402
    WebhookSubscription,  # noqa: E402
)
from orderchamp_auth.server.store.transaction import Transaction  # noqa: E402
from orderchamp_auth.server.webhooks.outbox import record_event  # noqa: E402
from orderchamp_auth.server.webhooks.worker import running, worker_from_settings  # noqa: E402


class Receiver:
    """A minimal HTTP/1.1 keep-alive receiver: answers 200, notes when each event arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[int, float] = {}
        self.done = asyncio.Event()
        self.expected = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                data = json.loads(body)["data"]
                self.arrivals.setdefault(data["seq"], time.time() - data["t"])
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
                if len(self.arrivals) >= self.expected:
                    self.done.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _seed(platform, address: str) -> tuple[int, str]:
    now = utcnow()
    suffix = secrets.token_hex(3)  # seeded more than once (overhead: one account per case)
    with platform.database.write() as db:
        account = create_account(db, name=f"Bench shop {suffix}")
        partner = db.partners.create(f"Bench partner {suffix}")
        app, _secret = create_app(db, platform.client_secrets, partner_id=partner.id, name=f"Bench app {suffix}",
                                  application_url="https://bench.example.com/install",
                                  redirect_uris=["https://bench.example.com/callback"], verified=True)
        installation_id = db.installations.upsert_for_consent(
            account_id=account.id, app_id=app.id, scopes="products_write", user_id=None, now=now)
        token = generate_secret(TokenKind.APP_TOKEN)
        db.tokens.create(token_hash=hash_secret(token), kind=TokenKindName.APP.value,
                                   display_prefix=display_prefix(token), account_id=account.id,
                                   installation_id=installation_id, scopes="products_write", created_at=now)
        if address:
            db.webhook_subscriptions.add(WebhookSubscription(
                account_id=account.id, app_id=app.id, topic="PRODUCT_UPDATED", address=address,
                created_at=now, updated_at=now, disabled_reason=""))
        return account.id, token


async def deliver(settings: Settings, events: int, paced: int, rate: float) -> dict[str, float]:
    """Throughput: ``events`` recorded (worker stopped), then delivered by a worker started on
    the backlog. Latency: ``paced`` events recorded at ``rate``/s while the worker runs, each
    timed from just before its commit to its arrival at the receiver."""
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    platform = build_platform(settings)
    account_id, _ = _seed(platform, f"http://127.0.0.1:{port}/hooks")

    def produce(first: int, count: int, interval: float) -> float:
        start = time.perf_counter()
        for seq in range(first, first + count):
            with platform.database.write() as db:
                record_event(db, account_id, "PRODUCT_UPDATED", {"data": {"seq": seq, "t": time.time()}})
            if interval:
                time.sleep(max(0.0, start + (seq - first + 1) * interval - time.perf_counter()))
        return time.perf_counter() - start

    recording = await asyncio.to_thread(produce, 0, events, 0.0)
    receiver.expected = events
    async with running(worker_from_settings(settings, platform.database, platform.secret_box)):
        start = time.perf_counter()
        await asyncio.wait_for(receiver.done.wait(), timeout=900)
        delivering = time.perf_counter() - start
        receiver.done.clear()
        receiver.expected = events + paced
        await asyncio.to_thread(produce, events, paced, 1 / rate)
        await asyncio.wait_for(receiver.done.wait(), timeout=900)
    server.close()
    platform.database.dispose()
    latencies = sorted(v for seq, v in receiver.arrivals.items() if seq >= events)
    return {"events": events, "recorded_per_s": events / recording, "delivered_per_s": events / delivering,
            "paced_events": paced, "paced_rate": rate, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000}


def overhead(settings: Settings, requests: int, rounds: int, batch: int) -> dict[str, float]:
    """µs per productUpdate through the app in process: recording switched off, recording as
    shipped with nobody subscribed (one indexed lookup), and recording for an account whose app
    subscribed (payload built, row written); the whole mutation with one subscriber against
    none (``subscribed_vs_no_subscriber_pct``) and against recording off. The three run in
    turns, ``batch`` requests at a time (each case first in its turn), so that a machine getting
    busier or quieter weighs on all of them alike; ``requests`` of each case a round, best of
    the rounds (``paired_*``: the median of the batches' ratios instead). Wall time, and the
    process's CPU time (``cpu_*``: every thread of the client and the app, which other work on a
    shared machine inflates less). ``end_*``: the write transactions' end (their commit);
    ``recording_*``: ``record`` plus the end's growth against recording off. ``result_*``: the
    mutation reading its own result (``mutations._shaped``), which a payload's read may serve;
    ``recording_net_*``: ``recording_*`` plus the result's growth against recording off (less:
    the read ``record`` did for both)."""
    from starlette.testclient import TestClient

    from orderchamp_auth.server.api import mutations, webhook_events
    from orderchamp_auth.server.app import create_app as create_asgi

    platform = build_platform(settings)
    quiet_account = _seed(platform, "")
    subscribed_account = _seed(platform, "https://bench.example.com/h")
    app = create_asgi(settings)
    client = TestClient(app)
    query = "mutation($id: ID!, $t: String!) { productUpdate(input: {id: $id, title: $t}) { product { id } } }"

    def product_of(token: str) -> tuple[dict[str, str], str]:
        headers = {"authorization": f"Bearer {token}"}
        created = client.post("/v1/graphql", headers=headers, json={
            "query": 'mutation { productCreate(input: {title: "Bench"}) { product { id } } }'}).json()
        return headers, created["data"]["productCreate"]["product"]["id"]

    quiet, subscribed = product_of(quiet_account[1]), product_of(subscribed_account[1])
    real_record = webhook_events.record

    def run(target: tuple[dict[str, str], str], first: int, count: int) -> tuple[float, float]:
        headers, product_id = target
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(first, first + count):
            answer = client.post("/v1/graphql", headers=headers, json={"query": query,
                                                                      "variables": {"id": product_id, "t": f"T{i}"}})
            assert answer.status_code == 200, answer.text
        return time.perf_counter() - start, time.process_time() - cpu

    cases = ("off", "on_no_subscriber", "on_subscribed")
    targets = {"off": quiet, "on_no_subscriber": quiet, "on_subscribed": subscribed}
    results: dict[str, list[float]] = {name: [] for case in cases for name in (case, f"cpu_{case}")}
    spent = [0.0, 0.0]  # wall, thread CPU inside ``record`` since the last reset

    def timed_record(*args: object, **kwargs: object) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            real_record(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            spent[0] += time.perf_counter() - wall
            spent[1] += time.thread_time() - cpu

    recorders = {"off": lambda *_a, **_k: None, "on_no_subscriber": timed_record, "on_subscribed": timed_record}
    real_shaped = mutations._shaped
    shaping = [0.0, 0.0]

    def timed_shaped(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return real_shaped(*args, **kwargs)
        finally:
            shaping[0] += time.perf_counter() - wall
            shaping[1] += time.thread_time() - cpu

    mutations._shaped = timed_shaped  # type: ignore[assignment]
    # The write transactions' end (the COMMIT) too: on PostgreSQL a delivery's row makes the
    # commit's WAL flush longer, and work a tree moves to the commit shows there, not in
    # ``record``. Recording's cost: ``record`` plus the end's growth against recording off.
    real_end = Transaction._end
    ended = [0.0, 0.0]

    def timed_end(tx: Transaction, commit: bool) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            real_end(tx, commit)
        finally:
            if tx.writing:
                ended[0] += time.perf_counter() - wall
                ended[1] += time.thread_time() - cpu

    Transaction._end = timed_end  # type: ignore[method-assign]
    batches: dict[str, list[tuple[float, float]]] = {case: [] for case in cases}  # each batch's wall, CPU
    for _ in range(rounds):
        totals = {case: [0.0] * 8 for case in cases}  # wall, CPU; in ``record``, the end, the result: wall, CPU
        for number, first in enumerate(range(0, requests, batch)):
            for case in cases[number % 3:] + cases[:number % 3]:  # each case first in its turn
                webhook_events.record = recorders[case]  # type: ignore[assignment]
                spent[:], ended[:], shaping[:] = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
                figures = (*run(targets[case], first, min(batch, requests - first)), *spent, *ended, *shaping)
                batches[case].append(figures[:2])
                totals[case] = [total + figure for total, figure in zip(totals[case], figures, strict=True)]
        for case, (wall, cpu, in_wall, in_cpu, end_wall, end_cpu, result_wall, result_cpu) in totals.items():
            results.setdefault(f"result_{case}", []).append(result_wall / requests * 1e6)
            results.setdefault(f"result_cpu_{case}", []).append(result_cpu / requests * 1e6)
            results[case].append(wall / requests * 1e6)
            results[f"cpu_{case}"].append(cpu / requests * 1e6)
            results.setdefault(f"end_{case}", []).append(end_wall / requests * 1e6)
            results.setdefault(f"end_cpu_{case}", []).append(end_cpu / requests * 1e6)
            if case != "off":
                results.setdefault(f"record_{case}", []).append(in_wall / requests * 1e6)
                results.setdefault(f"record_cpu_{case}", []).append(in_cpu / requests * 1e6)
    webhook_events.record = real_record
    mutations._shaped = real_shaped  # type: ignore[assignment]
    Transaction._end = real_end  # type: ignore[method-assign]
    client.close()
    best = {name: min(values) for name, values in results.items()}
    # What ``record`` itself took (best round), against a mutation without it: the overhead,
    # measured where it is spent, so less exposed to the rest of a shared machine's load.
    for case in ("on_no_subscriber", "on_subscribed"):
        best[f"record_{case}_vs_off_pct"] = best[f"record_{case}"] / best["off"] * 100
        best[f"record_cpu_{case}_vs_cpu_off_pct"] = best[f"record_cpu_{case}"] / best["cpu_off"] * 100
        for prefix in ("", "cpu_"):
            best[f"recording_{prefix}{case}"] = (best[f"record_{prefix}{case}"] + best[f"end_{prefix}{case}"]
                                                 - best[f"end_{prefix}off"])
            best[f"recording_{prefix}{case}_vs_{prefix}off_pct"] = (best[f"recording_{prefix}{case}"]
                                                                    / best[f"{prefix}off"] * 100)
            best[f"recording_net_{prefix}{case}"] = (best[f"recording_{prefix}{case}"] + best[f"result_{prefix}{case}"]
                                                     - best[f"result_{prefix}off"])
            best[f"recording_net_{prefix}{case}_vs_{prefix}off_pct"] = (best[f"recording_net_{prefix}{case}"]
                                                                        / best[f"{prefix}off"] * 100)
    # The whole mutation: what the bound is about, though more exposed to the load.
    for prefix in ("", "cpu_"):
        best[f"{prefix}no_subscriber_vs_off_pct"] = (best[f"{prefix}on_no_subscriber"] / best[f"{prefix}off"] - 1) * 100
        best[f"{prefix}subscribed_vs_off_pct"] = (best[f"{prefix}on_subscribed"] / best[f"{prefix}off"] - 1) * 100
        best[f"{prefix}subscribed_vs_no_subscriber_pct"] = (
            best[f"{prefix}on_subscribed"] / best[f"{prefix}on_no_subscriber"] - 1) * 100
    # The same comparisons batch by batch, each against the batches run just before or after
    # it, median of the ratios: a burst of other work spoils a few pairs, not the figure.
    for index, prefix in enumerate(("", "cpu_")):
        for case, against, name in (("on_subscribed", "on_no_subscriber", "subscribed_vs_no_subscriber"),
                                    ("on_subscribed", "off", "subscribed_vs_off"),
                                    ("on_no_subscriber", "off", "no_subscriber_vs_off")):
            ratios = [mine[index] / theirs[index] for mine, theirs in zip(batches[case], batches[against], strict=True)]
            best[f"paired_{prefix}{name}_pct"] = (statistics.median(ratios) - 1) * 100
    return best


def parts(settings: Settings, events: int) -> dict[str, float]:
    """µs (wall, thread CPU) of each part of recording one PRODUCT_UPDATED for one subscriber,
    without HTTP, each event in a write transaction of its own: the subscriber lookup, the
    payload (a seeded product, with variants and images), the delivery row; and, in a second
    transaction, the lookup and the row as one ``INSERT ... SELECT`` (what an event of an account
    and topic known to have subscribers costs instead of the first and last). Medians."""
    from sqlalchemy import select

    from orderchamp_auth.server.api.webhook_payloads import api_payload
    from orderchamp_auth.server.demo_catalogue import seed_catalogue
    from orderchamp_auth.server.store import models as m
    from orderchamp_auth.server.webhooks import outbox

    platform = build_platform(settings)
    account_id, _ = _seed(platform, "https://bench.example.com/h")
    with platform.database.write() as db:
        seed_catalogue(db, account_id, api_payload, products=3, orders=0)
    with platform.database.read() as db:
        product_id = db.session.scalar(select(m.Product.id).where(m.Product.account_id == account_id))
    spent: dict[str, list[tuple[float, float]]] = {"lookup": [], "payload": [], "row": [], "lookup_and_row": []}

    def timed(name: str, part: Any, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        value = part(*args)
        spent[name].append((time.perf_counter() - wall, time.thread_time() - cpu))
        return value

    topic = "PRODUCT_UPDATED"
    for _ in range(events):
        with platform.database.write() as db:
            targets = timed("lookup", outbox._targets, db, account_id, topic, None)
            payload = timed("payload", api_payload, db, account_id, topic, product_id)
            timed("row", outbox.enqueue, db, account_id, topic, payload, targets)
        with platform.database.write() as db:  # what an event known to have subscribers costs instead
            timed("lookup_and_row", db.webhook_deliveries.add_for_subscribers, account_id, topic,
                  json.dumps(payload), utcnow())
    platform.database.dispose()
    figures: dict[str, float] = {}
    for name, values in spent.items():
        figures[f"{name}_wall"] = statistics.median(v[0] for v in values) * 1e6
        figures[f"{name}_cpu"] = statistics.median(v[1] for v in values) * 1e6
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--events", type=int, default=2000)
    parser.add_argument("--paced", type=int, default=200, help="events for the latency figures")
    parser.add_argument("--rate", type=float, default=20.0, help="events/s recorded for the latency figures")
    parser.add_argument("--overhead", action="store_true", help="measure the mutations' cost of recording instead")
    parser.add_argument("--rounds", type=int, default=5, help="--overhead: rounds (best of)")
    parser.add_argument("--batch", type=int, default=20, help="--overhead: requests of one case in a row")
    parser.add_argument("--parts", action="store_true", help="time the parts of recording one event instead")
    args = parser.parse_args()
    database = BenchDatabase(tempfile.mkdtemp(), os.environ.get("DATABASE_URL"))
    url = database.url
    try:
        upgrade_to_head(url)
        settings = Settings(database_url=url, secret_keys=(secrets.token_urlsafe(24),), webhook_worker=False,
                            webhook_allow_loopback=True, webhook_poll_ms=250)
        backend = "postgresql" if url.startswith("postgres") else "sqlite"
        if args.parts:
            figures = parts(settings, args.events)
        elif args.overhead:
            figures = overhead(settings, args.events, args.rounds, args.batch)
        else:
            figures = asyncio.run(deliver(settings, args.events, args.paced, args.rate))
        print(json.dumps({"backend": backend, **{k: round(v, 1) for k, v in figures.items()}}))
    finally:
        database.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

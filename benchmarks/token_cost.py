#!/usr/bin/env python3
"""In-process cost of one token exchange, without HTTP: thread CPU per POST /oauth/access_token.

Builds the real app on a fresh SQLite database with the demo data, writes codes of one
installation straight into the database (as bench.py's token test mints them: one account,
one app, PKCE), then calls the ASGI app directly for each exchange, so that every exchange
but the first replaces the installation's live token, as in the benchmark. Prints the median
µs per exchange (wall and thread CPU) of batches of 50, and the median time the write held
SQLite's lock (BEGIN IMMEDIATE done to COMMIT done: what bounds the exchanges/s of all workers
together); ``--profile`` adds a cProfile listing.

On PostgreSQL (``DATABASE_URL`` names a server: a database is made there for the run, and
dropped after) there is no lock to time; the CPU is the process's (the exchanges run in the
database's threads), and the round trips per exchange are counted (psycopg's waits for the
server: every statement, BEGIN and COMMIT is one, and so is a pipeline's sync).

Runs on any tree of the package that has the demo: run it with that tree's interpreter (or
this one with ``PYTHONPATH=/other/tree/src``), and alternate trees in turns to compare them on
a busy machine.

    .venv/bin/python benchmarks/token_cost.py
    /other/tree/.venv/bin/python benchmarks/token_cost.py --profile
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/token_cost.py
    .venv/bin/python benchmarks/token_cost.py --webhooks --exchanges 500 --rounds 6   # app subscribed or not
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import datetime as dt
import hashlib
import os
import pstats
import secrets
import sqlite3
import sqlite3.dbapi2
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from profile_api import call, seeded_app  # noqa: E402

BATCH = 50
HOLDS: list[float] = []
WAITS = [0]  # PostgreSQL: psycopg's waits for the server, all connections together


class TimedConnection(sqlite3.Connection):
    """Records how long each write transaction held the lock."""

    _locked_at: float | None = None

    def execute(self, sql, *args):  # type: ignore[override]
        cursor = super().execute(sql, *args)
        if sql == "BEGIN IMMEDIATE":
            self._locked_at = time.perf_counter()
        return cursor

    def commit(self) -> None:
        super().commit()
        if self._locked_at is not None:
            HOLDS.append(time.perf_counter() - self._locked_at)
            self._locked_at = None

    def rollback(self) -> None:
        super().rollback()
        self._locked_at = None


def time_the_lock() -> None:
    connect = sqlite3.dbapi2.connect

    def timed_connect(*args, **kwargs):
        kwargs.setdefault("factory", TimedConnection)
        return connect(*args, **kwargs)

    sqlite3.connect = sqlite3.dbapi2.connect = timed_connect


def count_round_trips() -> None:
    import psycopg

    wait = psycopg.Connection.wait

    def counted(self, gen, *args, **kwargs):  # type: ignore[no-untyped-def]
        WAITS[0] += 1
        return wait(self, gen, *args, **kwargs)

    psycopg.Connection.wait = counted  # type: ignore[method-assign]


SCOPES = "account_read,products_read"


def mint(engine, demo, count: int) -> tuple[list[bytes], str]:
    """``count`` form bodies, each exchanging one fresh code of the demo app's installation."""
    from sqlalchemy import insert, select

    from orderchamp_auth.protocol.tokens import hash_secret
    from orderchamp_auth.server.store.models import App, AuthorizationCode, Installation

    codes, installations = AuthorizationCode.__table__, Installation.__table__
    now = dt.datetime.now(dt.UTC)
    redirect_uri = demo.redirect_urls[0]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    bodies = []
    with engine.begin() as conn:
        app_id = conn.execute(select(App.__table__.c.id).where(App.__table__.c.client_id == demo.client_id)).scalar()
        account_id = int(demo.account_id)
        installation_id = conn.execute(select(installations.c.id).where(
            installations.c.account_id == account_id, installations.c.app_id == app_id)).scalar()
        if installation_id is None:
            installation_id = conn.execute(insert(installations).values(
                account_id=account_id, app_id=app_id, scopes=SCOPES, installed_at=now,
            ).returning(installations.c.id)).scalar()
        rows = []
        for _ in range(count):
            code = secrets.token_urlsafe(32)
            row = {"code_hash": hash_secret(code), "app_id": app_id, "account_id": account_id,
                   "installation_id": installation_id, "user_id": None, "redirect_uri": redirect_uri,
                   "scopes": SCOPES, "code_challenge": challenge, "created_at": now,
                   "expires_at": now + dt.timedelta(hours=1), "used_at": None}
            if "scope_delimiter" in codes.c:
                row["scope_delimiter"] = ","
            rows.append(row)
            bodies.append(urlencode({
                "grant_type": "authorization_code", "code": code, "client_id": demo.client_id,
                "client_secret": demo.client_secret, "redirect_uri": redirect_uri, "code_verifier": verifier,
            }).encode())
        conn.execute(insert(codes), rows)
    return bodies, verifier


async def exchange(app, body: bytes) -> tuple[int, bytes]:
    return await call(app, "/oauth/access_token", body, None, b"application/x-www-form-urlencoded")


async def measure(app, bodies: list[bytes], cpu_clock=time.thread_time) -> tuple[float, float]:
    walls, cpus = [], []
    HOLDS.clear()
    WAITS[0] = 0
    for start in range(0, len(bodies) - BATCH + 1, BATCH):
        began, cpu_began = time.perf_counter(), cpu_clock()
        for body in bodies[start:start + BATCH]:
            status, payload = await exchange(app, body)
            if status != 200:
                raise SystemExit(f"exchange failed: {status} {payload[:300]!r}")
        walls.append((time.perf_counter() - began) / BATCH * 1e6)
        cpus.append((cpu_clock() - cpu_began) / BATCH * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def subscribe(engine, demo, subscribed: bool) -> None:
    """The demo app's subscriptions on the account: one per topic, or none."""
    from sqlalchemy import delete, insert, select

    from orderchamp_auth.server.store.models import App, WebhookSubscription
    from orderchamp_auth.server.webhooks.topics import TOPICS

    table = WebhookSubscription.__table__
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        app_id = conn.execute(select(App.__table__.c.id).where(App.__table__.c.client_id == demo.client_id)).scalar()
        account_id = int(demo.account_id)
        conn.execute(delete(table).where(table.c.account_id == account_id, table.c.app_id == app_id))
        if subscribed:
            conn.execute(insert(table), [{"account_id": account_id, "app_id": app_id, "topic": topic,
                                          "address": "https://bench.example.com/h", "created_at": now,
                                          "updated_at": now, "disabled_reason": ""} for topic in sorted(TOPICS)])


async def subscribed_or_not(engine, app, demo, args, cpu_clock) -> None:
    """Webhooks' cost on the token endpoint: ``--rounds`` pairs of measurements, the app
    subscribed to every topic and not, each first in its turn; the medians of the pairs."""
    figures: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for number in range(args.rounds):
        for subscribed in (bool(number % 2), not number % 2):
            subscribe(engine, demo, subscribed)
            bodies, _ = mint(engine, demo, args.exchanges)
            figures[subscribed].append(await measure(app, bodies, cpu_clock))
    ratios = [(mine[0] / theirs[0], mine[1] / theirs[1]) for mine, theirs in zip(figures[True], figures[False],
                                                                                  strict=True)]
    print(f"subscribed: {statistics.median(w for w, _ in figures[True]):7.1f} µs wall "
          f"{statistics.median(c for _, c in figures[True]):7.1f} µs CPU; not: "
          f"{statistics.median(w for w, _ in figures[False]):7.1f} / {statistics.median(c for _, c in figures[False]):7.1f}; "
          f"subscribed vs not, paired: {(statistics.median(w for w, _ in ratios) - 1) * 100:+.1f} % wall "
          f"{(statistics.median(c for _, c in ratios) - 1) * 100:+.1f} % CPU", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exchanges", type=int, default=2000, help="per measurement (default 2000)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--webhooks", action="store_true",
                    help="the demo app subscribed to every topic on the account against not, in turns")
    ap.add_argument("--sort", default="tottime", help="the profile listing's order (pstats key)")
    ap.add_argument("--top", type=int, default=35)
    args = ap.parse_args()
    server_url = os.environ.get("DATABASE_URL")
    on_postgresql = bool(server_url and server_url.startswith(("postgresql://", "postgres://")))
    if on_postgresql:
        count_round_trips()
    else:
        time_the_lock()  # before the app makes its engine
    from fresh_database import BenchDatabase
    from sqlalchemy import create_engine

    import orderchamp_auth
    # the exchanges run in the database's threads on PostgreSQL: the process's CPU counts
    cpu_clock = time.process_time if on_postgresql else time.thread_time
    with tempfile.TemporaryDirectory() as data_dir:
        database = BenchDatabase(data_dir, server_url)
        try:
            settings, app, demo = seeded_app(data_dir, database.url if on_postgresql else None)
            engine = create_engine(settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1))
            tree = Path(orderchamp_auth.__file__).resolve().parents[2]

            async def run_all() -> None:
                warm, _ = mint(engine, demo, 200)
                await measure(app, warm, cpu_clock)
                if args.webhooks:
                    await subscribed_or_not(engine, app, demo, args, cpu_clock)
                    return
                for _ in range(args.rounds):
                    bodies, _ = mint(engine, demo, args.exchanges)
                    wall, cpu = await measure(app, bodies, cpu_clock)
                    if on_postgresql:
                        extra = f"{WAITS[0] / len(bodies):4.2f} round trips per exchange (PostgreSQL)"
                    else:
                        hold = statistics.median(HOLDS) * 1e6 if HOLDS else float("nan")
                        extra = f"lock held {hold:5.1f} µs (median)"
                    print(f"{tree}: {wall:7.1f} µs wall {cpu:7.1f} µs CPU per exchange (medians of {BATCH}), "
                          f"{extra}", flush=True)
                if args.profile:
                    bodies, _ = mint(engine, demo, args.exchanges)
                    profiler = cProfile.Profile()
                    profiler.enable()
                    await measure(app, bodies, cpu_clock)
                    profiler.disable()
                    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)

            asyncio.run(run_all())
            engine.dispose()
            app.state.platform.database.dispose()
        finally:
            database.drop()


if __name__ == "__main__":
    main()

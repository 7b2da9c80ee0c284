#!/usr/bin/env python3
"""In-process cost of one API request, without HTTP: where the time of a query goes.

Builds the real app on a fresh database with the demo data (SQLite, or a PostgreSQL database
made for the run and dropped after when ``DATABASE_URL`` names a server), then calls the ASGI app
directly (no sockets, no uvicorn) for each query and prints µs per request; ``--profile``
adds a cProfile listing of the first query. Complements ``bench.py``, which measures over
real HTTP with concurrent clients.

    .venv/bin/python benchmarks/profile_api.py
    .venv/bin/python benchmarks/profile_api.py --profile --query '{ account { name } }'
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/profile_api.py
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUERIES = {
    "baseline": ("/bench/graphql-baseline", "{ account { name type slug } }"),
    "account": ("/v1/graphql", "{ account { name type slug } }"),
    "products50": ("/v1/graphql", "{ products(first: 50) { nodes { id title variants(first: 10) "
                   "{ nodes { id sku price inventoryQuantity } } } } }"),
}


def seeded_app(data_dir: str, database_url: str | None = None, **env: str):
    """``(settings, app, demo)``: the real app on a fresh database (``database_url``, else SQLite
    in ``data_dir``), with the demo data; rate limits off unless ``env`` says otherwise."""
    from orderchamp_auth.server.app import create_app
    from orderchamp_auth.server.demo import seed_demo
    from orderchamp_auth.server.settings import load_settings
    from orderchamp_auth.server.store.migrate import upgrade_to_head

    settings = load_settings({"ORDERCHAMP_DATA_DIR": data_dir, "ORDERCHAMP_SECRET_KEY": "p" * 32,
                              "ORDERCHAMP_RATE_LIMITS": "0", **({"DATABASE_URL": database_url} if database_url else {}),
                              **env})
    upgrade_to_head(settings.database_url)
    app = create_app(settings)
    platform = app.state.platform
    return settings, app, seed_demo(settings, platform.database, platform.client_secrets)


async def call(app, path: str, body: bytes, token: str | None,
               content_type: bytes = b"application/json") -> tuple[int, bytes]:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": headers, "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000)}
    sent = False
    status, chunks = 0, []

    async def receive():
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(app, path: str, query: str, token: str, seconds: float) -> tuple[float, float, bytes]:
    """Median µs per request of batches of 20: wall time, and this thread's CPU time (what a
    loaded machine disturbs least: time spent waiting for a core is not counted)."""
    body = json.dumps({"query": query}).encode()
    status, payload = await call(app, path, body, token)
    if status != 200 or b'"errors"' in payload:
        raise SystemExit(f"{path} {query[:60]!r}: {status} {payload[:300]!r}")
    batches: list[float] = []
    cpu_batches: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        began, cpu_began = time.perf_counter(), time.thread_time()
        for _ in range(20):
            await call(app, path, body, token)
        batches.append((time.perf_counter() - began) / 20 * 1e6)
        cpu_batches.append((time.thread_time() - cpu_began) / 20 * 1e6)
    # The median batch: a stray pause (GC, another process) moves a mean a lot, a median little.
    return statistics.median(batches), statistics.median(cpu_batches), payload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--query", action="append", help="a query (repeatable); default: the named set")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--response-cache-mb", default="32", help="0 measures every request uncached")
    ap.add_argument("--bearer-check-interval", type=float,
                    help="seconds between bearer-cache refreshes (default: the setting, 1 s); "
                         "0 sends every request through the bearer lookup and refresh")
    ap.add_argument("--rate-limits", action="store_true",
                    help="limits on, with a bucket no run drains (what bench.py --start measures)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from fresh_database import BenchDatabase
    from graphql_baseline import mount_baseline

    with tempfile.TemporaryDirectory() as data_dir:
        database = BenchDatabase(data_dir, os.environ.get("DATABASE_URL"))
        try:
            profile(args, data_dir, database.url, mount_baseline)
        finally:
            database.drop()


def profile(args: argparse.Namespace, data_dir: str, database_url: str, mount_baseline: Any) -> None:
    """Print the cost of each query (and its profile) on the app built on ``database_url``."""
    # Rate limits off unless asked: a page of 50 products costs more than Orderchamp's bucket
    # holds per second, so they are on only with a bucket no run drains.
    limits = ({"ORDERCHAMP_RATE_LIMITS": "1", "ORDERCHAMP_RATE_LIMIT_BUCKET": "10000000",
               "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE": "10000000"} if args.rate_limits else {})
    _, app, demo = seeded_app(data_dir, database_url, ORDERCHAMP_API_RESPONSE_CACHE_MB=args.response_cache_mb,
                              **limits)
    app = mount_baseline(app)
    platform = app.state.platform
    if args.bearer_check_interval is not None:
        platform.authenticator.check_interval = args.bearer_check_interval
    queries = [("/v1/graphql", q) for q in args.query] if args.query else list(QUERIES.values())

    async def run_all() -> None:
        # One asyncio.run: its end stops the worker threads the app started (a failed
        # query would otherwise leave the process waiting for them).
        for path, query in queries:
            micros, cpu, payload = await measure(app, path, query, demo.private_token, args.seconds)
            print(f"{micros:8.1f} µs {cpu:8.1f} µs CPU (medians)  {len(payload):6d} B  {path}  {query[:70]}")
        if args.profile:
            path, query = queries[0] if args.query else queries[-1]
            profiler = cProfile.Profile()
            profiler.enable()
            await measure(app, path, query, demo.private_token, args.seconds)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)

    asyncio.run(run_all())
    platform.database.dispose()  # before a PostgreSQL database made for the run is dropped


if __name__ == "__main__":
    main()

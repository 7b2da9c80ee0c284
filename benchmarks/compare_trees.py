#!/usr/bin/env python3
"""Two trees of the package in one process, on one database, measured in turns.

A same-run comparison that a busy machine cannot skew one way: the old tree is imported
under another name (``--old-package DIR`` holding ``orderchamp_old/``, a copy of the old
``src/orderchamp_auth``), both apps serve the same demo data, and each round measures a
batch on one then the other, for each query; the figure is the best batch (thread CPU time)
of each.

    cp -r OLD/src/orderchamp_auth /tmp/old/orderchamp_old
    .venv/bin/python benchmarks/compare_trees.py --old-package /tmp/old --response-cache-mb 0
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from profile_api import QUERIES, call  # noqa: E402

# Thread CPU by default; --process-cpu counts the database's threads too (PostgreSQL's reads).
CLOCK = time.thread_time


async def batch(app, path: str, body: bytes, token: str) -> float:
    began = CLOCK()
    for _ in range(20):
        status, payload = await call(app, path, body, token)
    assert status == 200 and b'"errors"' not in payload, payload[:200]
    return (CLOCK() - began) / 20 * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old-package", required=True)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--response-cache-mb", default="0")
    ap.add_argument("--bearer-check-interval", type=float,
                    help="seconds between bearer-cache refreshes in both apps (0: every request looks up)")
    ap.add_argument("--query", action="append", help="a query (repeatable); default: the named set")
    ap.add_argument("--rate-limits", action="store_true",
                    help="both trees with rate limits on, where they have them (a bucket no run drains, as bench.py --start), "
                         "shared by the workers' file as under serve --workers 2")
    ap.add_argument("--request-log", action="store_true", help="both trees log each request, where they can (serve's default)")
    ap.add_argument("--process-cpu", action="store_true",
                    help="process CPU instead of the loop thread's (PostgreSQL: the database's threads count)")
    args = ap.parse_args()
    global CLOCK
    if args.process_cpu:
        CLOCK = time.process_time
    sys.path.insert(0, args.old_package)
    from orderchamp_auth.server.app import create_app
    from orderchamp_auth.server.demo import seed_demo
    from orderchamp_auth.server.settings import load_settings
    from orderchamp_auth.server.store.migrate import upgrade_to_head

    old_app_module = importlib.import_module("orderchamp_old.server.app")
    old_settings_module = importlib.import_module("orderchamp_old.server.settings")
    with tempfile.TemporaryDirectory() as data_dir:
        env = {"ORDERCHAMP_DATA_DIR": data_dir, "ORDERCHAMP_SECRET_KEY": "p" * 32,
               "ORDERCHAMP_API_RESPONSE_CACHE_MB": args.response_cache_mb, "ORDERCHAMP_RATE_LIMITS": "0"}
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        new_env = dict(env)
        if args.rate_limits:
            from orderchamp_auth.server.ratelimit.local import SHARED_FILE_ENV, create_shared_file

            os.environ[SHARED_FILE_ENV] = create_shared_file()
            new_env.update(ORDERCHAMP_RATE_LIMITS="1", ORDERCHAMP_RATE_LIMIT_BUCKET="10000000",
                           ORDERCHAMP_RATE_LIMIT_RESTORE_RATE="10000000")
        if args.request_log:
            new_env["ORDERCHAMP_REQUEST_LOG"] = "1"
        settings = load_settings(new_env)
        upgrade_to_head(settings.database_url)
        new = create_app(settings)
        platform = new.state.platform
        demo = seed_demo(settings, platform.database, platform.client_secrets)
        old = old_app_module.create_app(old_settings_module.load_settings(new_env))  # settings it lacks: ignored
        if args.bearer_check_interval is not None:
            for app in (old, new):
                app.state.platform.authenticator.check_interval = args.bearer_check_interval
        queries = {q[:12]: ("/v1/graphql", q) for q in args.query} if args.query else QUERIES
        loop = asyncio.new_event_loop()
        for name, (path, query) in queries.items():
            if path != "/v1/graphql":
                continue
            body = json.dumps({"query": query}).encode()
            best = {"old": float("inf"), "new": float("inf")}
            for _ in range(args.rounds):
                for side, app in (("old", old), ("new", new)):
                    best[side] = min(best[side], loop.run_until_complete(batch(app, path, body, demo.private_token)))
            print(f"{name:12s} old {best['old']:8.1f} µs  new {best['new']:8.1f} µs  new/old {best['new'] / best['old']:.3f}")


if __name__ == "__main__":
    main()

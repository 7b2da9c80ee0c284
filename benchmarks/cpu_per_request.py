#!/usr/bin/env python3
"""CPU time of one in-process API request (thread CPU, not wall time), best of many batches.

``profile_api.py`` times requests by the wall clock, which a busy machine stretches; this
counts only the CPU the request's own thread used, so two trees measured one after the
other on a loaded machine still compare. Run it once per tree, alternating:

    .venv/bin/python benchmarks/cpu_per_request.py --response-cache-mb 0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from profile_api import QUERIES, call  # noqa: E402


async def cpu_per_request(app, path: str, query: str, token: str, batches: int) -> float:
    body = json.dumps({"query": query}).encode()
    status, payload = await call(app, path, body, token)
    if status != 200 or b'"errors"' in payload:
        raise SystemExit(f"{query[:60]!r}: {status} {payload[:300]!r}")
    best = float("inf")
    for _ in range(batches):
        began = time.thread_time()
        for _ in range(20):
            await call(app, path, body, token)
        best = min(best, (time.thread_time() - began) / 20 * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--response-cache-mb", default="0")
    args = ap.parse_args()
    from graphql_baseline import mount_baseline

    from orderchamp_auth.server.app import create_app
    from orderchamp_auth.server.demo import seed_demo
    from orderchamp_auth.server.settings import load_settings
    from orderchamp_auth.server.store.migrate import upgrade_to_head

    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings({"ORDERCHAMP_DATA_DIR": data_dir, "ORDERCHAMP_SECRET_KEY": "p" * 32,
                                  "ORDERCHAMP_API_RESPONSE_CACHE_MB": args.response_cache_mb})
        upgrade_to_head(settings.database_url)
        app = mount_baseline(create_app(settings))
        platform = app.state.platform
        demo = seed_demo(settings, platform.database, platform.client_secrets)
        loop = asyncio.new_event_loop()
        for name, (path, query) in QUERIES.items():
            micros = loop.run_until_complete(cpu_per_request(app, path, query, demo.private_token, args.batches))
            print(f"{name:12s} {micros:8.1f} µs CPU (best batch of 20)")


if __name__ == "__main__":
    main()

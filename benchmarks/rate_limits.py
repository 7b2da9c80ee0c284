#!/usr/bin/env python3
"""What the rate limit costs a request, in process: the same app with limits off, on in this
worker's own buckets (the gate's bookkeeping alone), the same answered through a future on the
loop's next round (a request suspended and resumed, as a remote store's are), in the workers'
shared bucket file, and in Redis (batched, and in batches of one: a round trip per request),
measured in turns on one loop so that a busy machine skews none of them.

Each batch runs ``--concurrency`` requests at once (as one worker of ``bench.py -c 16`` with two
workers sees about 8), on uvloop as uvicorn runs; the figure is the median batch of this
thread's CPU time per request. Redis's own CPU per request (its ``INFO commandstats``, the
script calls of the run) is printed beside it: on one host it takes the same cores.

    .venv/bin/python benchmarks/rate_limits.py --redis-url redis://127.0.0.1:6379/5
    .venv/bin/python benchmarks/rate_limits.py --redis-url redis://127.0.0.1:6379/5 --concurrency 1

``--old-package DIR`` (``DIR/orderchamp_old``: a copy of another tree's ``src/orderchamp_auth``, as
for ``compare_trees.py``) measures that tree's variants in the same turns, as ``old: <variant>``:
each tree's limits against its own "off", in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from profile_api import call  # noqa: E402

ACCOUNT_QUERY = "{ account { name type slug } }"
UNDER_CALLGRIND = "RATE_LIMITS_UNDER_CALLGRIND"
VARIANTS = ("this worker", "this worker, awaited", "shared file", "redis batched", "redis, batches of 1")


def awaited(store):
    """``store``'s answers handed over on the loop's next round, through a future, as a remote
    store's would: what a request's suspension and resumption costs by themselves."""
    reserve_now = store.reserve_now

    def reserve(key: str, cost: int):
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, reserve_now(key, cost))
        return future

    store.reserve = reserve
    return store


async def batch(app, body: bytes, token: str, concurrency: int, requests: int) -> float:
    async def client() -> None:
        for _ in range(requests // concurrency):
            status, payload = await call(app, "/v1/graphql", body, token)
            assert status == 200 and b'"errors"' not in payload, payload[:200]

    began = time.thread_time()
    await asyncio.gather(*[client() for _ in range(concurrency)])
    return (time.thread_time() - began) / (requests // concurrency * concurrency) * 1e6


async def script_stats(redis_url: str) -> tuple[int, int]:
    """(calls, µs) of EVALSHA on the Redis server so far."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url)
    try:
        stats = (await client.info("commandstats")).get("cmdstat_evalsha", {})
    finally:
        await client.aclose()
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def instructions(args: argparse.Namespace) -> None:
    """This script again under callgrind, which dumps its counts at each marker between batches."""
    with tempfile.TemporaryDirectory() as out:
        command = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid", f"--callgrind-out-file={out}/cg",
                   sys.executable, *sys.argv]
        run = subprocess.run(command, env={**os.environ, UNDER_CALLGRIND: "1"}, capture_output=True, text=True,
                             check=True)
        names = json.loads(run.stdout.strip().splitlines()[-1])
        parts = {}
        for path in Path(out).glob("cg.*"):
            text = path.read_text()
            parts[int(re.search(r"^part: (\d+)", text, re.M)[1])] = int(re.search(r"^totals: (\d+)", text, re.M)[1])
    # part 1 is everything before the first marker; then one part per batch, in the order run
    counts: dict[str, list[int]] = {name: [] for name in names}
    for index in range(args.rounds * len(names)):
        counts[names[index % len(names)]].append(parts[index + 2])
    print(f"{args.query}  concurrency {args.concurrency}, instructions per request, median of {args.rounds} "
          f"batches of {args.requests}")
    for name, samples in counts.items():
        base = statistics.median(counts["old: off" if name.startswith("old: ") else "off"])
        median = statistics.median(samples)
        print(f"{name:26s} {median / args.requests:9.0f}  off/this {base / median:5.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="per batch")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--query", default=ACCOUNT_QUERY)
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, of: " + ", ".join(VARIANTS))
    ap.add_argument("--old-package", help="a directory holding orderchamp_old/, measured in the same turns")
    ap.add_argument("--profile", choices=["off", *VARIANTS],
                    help="print a cProfile listing (wall time) of this variant's batches instead")
    ap.add_argument("--instructions", action="store_true",
                    help="instructions per request instead (this process under callgrind, not Redis's: load-independent, "
                         "slow, so use few --rounds and --requests)")
    args = ap.parse_args()
    if args.instructions and not os.environ.get(UNDER_CALLGRIND):
        instructions(args)
        return
    from dataclasses import replace

    from orderchamp_auth.server.app import create_app
    from orderchamp_auth.server.demo import seed_demo
    from orderchamp_auth.server.settings import load_settings
    from orderchamp_auth.server.store.migrate import upgrade_to_head

    variants = [name for name in VARIANTS if name in args.variants.split(",")]
    trees = [("", "orderchamp_auth")]
    if args.old_package:
        sys.path.insert(0, args.old_package)
        trees.append(("old: ", "orderchamp_old"))

    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:
        loop = asyncio.new_event_loop()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings({"ORDERCHAMP_DATA_DIR": data_dir, "ORDERCHAMP_SECRET_KEY": "p" * 32,
                                  "ORDERCHAMP_RATE_LIMITS": "0"})
        upgrade_to_head(settings.database_url)
        off = create_app(settings)
        platform = off.state.platform
        demo = seed_demo(settings, platform.database, platform.client_secrets)
        on = replace(settings, rate_limits=True, rate_limit_capacity=10**9, rate_limit_restore_rate=10**9)
        apps = {}
        stores = {}
        for prefix, package in trees:
            tree_app = importlib.import_module(f"{package}.server.app")
            tree_settings = importlib.import_module(f"{package}.server.settings")
            local = importlib.import_module(f"{package}.server.ratelimit.local")
            remote = importlib.import_module(f"{package}.server.ratelimit.redis_buckets")
            # the other tree's settings from the same environment (settings it lacks: ignored)
            apps[prefix + "off"] = off if not prefix else tree_app.create_app(
                tree_settings.load_settings({"ORDERCHAMP_DATA_DIR": data_dir, "ORDERCHAMP_SECRET_KEY": "p" * 32,
                                             "ORDERCHAMP_RATE_LIMITS": "0"}))
            for name in variants:
                app = apps[prefix + name] = tree_app.create_app(on if not prefix else tree_settings.load_settings({
                    "ORDERCHAMP_DATA_DIR": data_dir, "ORDERCHAMP_SECRET_KEY": "p" * 32,
                    "ORDERCHAMP_RATE_LIMIT_BUCKET": "10000000", "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE": "10000000"}))
                limiter = app.state.graphql.rate_limits.limiter
                if name == "this worker":
                    limiter.store = local.LocalBuckets(limiter.limits)
                elif name == "this worker, awaited":
                    limiter.store = awaited(local.LocalBuckets(limiter.limits))
                elif name == "shared file":
                    limiter.store = local.SharedBuckets(local.create_shared_file(), limiter.limits)
                else:
                    limiter.store = stores[prefix + name] = remote.RedisBuckets(
                        args.redis_url, limiter.limits, timeout=10.0 if os.environ.get(UNDER_CALLGRIND) else 1.0, key_prefix=f"bench-{uuid.uuid4().hex}:",
                        max_batch=256 if name == "redis batched" else 1)
        body = json.dumps({"query": args.query}).encode()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.rounds):
                loop.run_until_complete(batch(apps[args.profile], body, demo.private_token, args.concurrency,
                                              args.requests))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            return
        if os.environ.get(UNDER_CALLGRIND):
            for app in apps.values():  # warm: documents compiled, connections made, caches filled
                # no bearer-cache refresh: under callgrind a second is a few hundred requests
                app.state.platform.authenticator.check_interval = 1e9
                loop.run_until_complete(batch(app, body, demo.private_token, args.concurrency, args.concurrency))
            for _ in range(args.rounds):
                for app in apps.values():
                    os.getppid()  # the marker: callgrind dumps its counts here (--dump-before)
                    loop.run_until_complete(batch(app, body, demo.private_token, args.concurrency, args.requests))
            os.getppid()
            print(json.dumps(list(apps)))
            return
        cpu: dict[str, list[float]] = {name: [] for name in apps}
        redis_us = {name: 0 for name in stores}
        requests = {name: 0 for name in stores}
        for _ in range(args.rounds):
            for name, app in apps.items():
                before = loop.run_until_complete(script_stats(args.redis_url)) if name in stores else None
                cpu[name].append(loop.run_until_complete(
                    batch(app, body, demo.private_token, args.concurrency, args.requests)))
                if before is not None:
                    after = loop.run_until_complete(script_stats(args.redis_url))
                    redis_us[name] += after[1] - before[1]
                    requests[name] += args.requests
        for store in stores.values():
            assert store.failures == 0, "Redis did not answer"
            loop.run_until_complete(store.aclose())
        print(f"{args.query}  concurrency {args.concurrency}, median of {args.rounds} batches of {args.requests}")
        for name, samples in cpu.items():
            base = statistics.median(cpu["old: off" if name.startswith("old: ") else "off"])
            median = statistics.median(samples)
            line = f"{name:26s} {median:7.1f} µs/request  off/this {base / median:5.2f}"
            if name in stores:
                store = stores[name]
                redis = redis_us[name] / requests[name]
                line += (f"  +Redis {redis:5.1f} µs/request  off/(this+Redis) {base / (median + redis):5.2f}"
                         f"  {store.round_trips and requests[name] / store.round_trips:4.1f} requests/round trip")
            print(line)


if __name__ == "__main__":
    main()

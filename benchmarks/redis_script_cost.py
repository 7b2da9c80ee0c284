#!/usr/bin/env python3
"""Redis's own CPU for one batch call of the rate-limit script (``RedisBuckets``'s EVALSHA), by
batch shape: what the script costs the Redis server, which on one host takes the workers' cores.

Redis's ``INFO commandstats`` (``usec`` of ``evalsha``) before and after ``--calls`` calls of
each shape; with ``--other SRC`` the script of another tree (its ``src``, read as text) too, the
two in turns, which goes first alternating by round, so that a busy machine skews neither. The
median µs per call of ``--rounds`` rounds is printed. Other clients' EVALSHA calls on the same
Redis would count too: give it a Redis of its own.

    .venv/bin/python benchmarks/redis_script_cost.py --redis-url redis://127.0.0.1:6390/0 --other ../main/src
"""

from __future__ import annotations

import argparse
import statistics
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (entries, distinct keys): one request alone; four of one client (bench.py's case); four clients
SHAPES = [(1, 1), (4, 1), (4, 4)]


def script_of(src: Path) -> bytes:
    text = (src / "orderchamp_auth/server/ratelimit/redis_buckets.py").read_text()
    start = text.index('BATCH_SCRIPT = """') + len('BATCH_SCRIPT = """')
    return text[start:text.index('"""', start)].encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", required=True)
    ap.add_argument("--other", help="another tree's src, whose script is measured in turns with this one's")
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    import redis

    trees = {"this tree": script_of(HERE.parent / "src")}
    if args.other:
        trees[args.other] = script_of(Path(args.other))
    client = redis.Redis.from_url(args.redis_url)
    shas = {name: client.script_load(script) for name, script in trees.items()}
    prefix = f"bench-script-{uuid.uuid4().hex}:"
    samples: dict[tuple[str, tuple[int, int]], list[float]] = {}

    def usec() -> int:
        return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("usec", 0))

    for round_ in range(args.rounds):
        order = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for entries, distinct in SHAPES:
            for name in order:
                keys = [f"{prefix}{name}:{i % distinct}" for i in range(entries)]
                # a bucket no call drains: every reservation is granted, as in bench.py's runs
                argv = ["10000000", "10000000.0", "", *["1"] * entries]
                before = usec()
                for _ in range(args.calls):
                    client.evalsha(shas[name], entries, *keys, *argv)
                samples.setdefault((name, (entries, distinct)), []).append((usec() - before) / args.calls)
    client.delete(*{f"{prefix}{name}:{i}" for name in trees for i in range(4)})
    print(f"Redis µs per script call, median of {args.rounds} rounds of {args.calls}")
    for entries, distinct in SHAPES:
        figures = "  ".join(f"{name}: {statistics.median(samples[(name, (entries, distinct))]):5.1f}"
                            for name in trees)
        print(f"  {entries} reservation(s) on {distinct} key(s)  {figures}")


if __name__ == "__main__":
    main()

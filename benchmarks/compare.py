#!/usr/bin/env python3
"""Ours vs the peer OAuth servers, one after another in the same run, same client, same settings.

For each target in --targets (default: ours,authlib,oidc,oidc-sqlite2) this starts the server,
runs benchmarks/bench.py against it (api, token, flow at every -c concurrency, -d seconds each),
stops it, and moves on; nothing runs in parallel. Then it prints the figures side by side and
the ratios ours/peer for token exchanges/s, full flows/s and bearer API requests/s.

  ours          orderchamp-auth serve, 2 workers (uvicorn), fresh SQLite (WAL) in a temp dir
  authlib       Authlib + Flask, gunicorn 2 sync workers, SQLite      (peers/run_authlib.sh)
  oidc          node-oidc-provider, ONE Node process, in-memory Map    (peers/run_oidc.sh)
  oidc-sqlite2  node-oidc-provider, node:cluster of 2, SQLite (WAL)    (OIDC_ADAPTER=sqlite WORKERS=2)
  ours-pg       ours on PostgreSQL (bench.py makes and drops a database on --pg-url)
  oidc-pg2      node-oidc-provider, node:cluster of 2, PostgreSQL      (OIDC_ADAPTER=pg WORKERS=2)
  authlib-pg    Authlib on PostgreSQL                                  (AUTHLIB_DATABASE_URL)
  before, before-pg   ours from another checkout (--before-bin PATH/TO/orderchamp-auth), for
                before/after figures of one change in the same run

Ratios: ours/peer for every peer on SQLite or in memory, ours-pg/peer for the PostgreSQL peers,
and ours/before, ours-pg/before-pg.

The peers must have been set up first (compare.sh does it: /work/shared/bench/peers/setup_*.sh
install into ~/.cache/oc-peers). Peer code stays there; nothing of it is copied here.

Usage:
  benchmarks/compare.py [-c 16,64] [-d 10] [--targets ours,authlib,oidc,oidc-sqlite2] [--out results.jsonl]
  benchmarks/compare.py --summarize results.jsonl      # only print the tables of an earlier run
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.join(HERE, "bench.py")
PEERS_DIR = os.environ.get("PEERS_DIR", "/work/shared/bench/peers")

PEERS = {
    # label: (bench.py --target, start script, extra env, port)
    "authlib": ("authlib", "run_authlib.sh", {"WORKERS": "2"}, 8101),
    "oidc": ("oidc", "run_oidc.sh", {"OIDC_ADAPTER": "map", "WORKERS": "1"}, 8103),
    "oidc-sqlite2": ("oidc", "run_oidc.sh", {"OIDC_ADAPTER": "sqlite", "WORKERS": "2"}, 8103),
    "oidc-pg2": ("oidc", "run_oidc.sh", {"OIDC_ADAPTER": "pg", "WORKERS": "2"}, 8103),
    "authlib-pg": ("authlib", "run_authlib.sh",
                   {"AUTHLIB_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/oc_peer_authlib"}, 8101),
}
OURS = ("ours", "ours-pg", "before", "before-pg")
PG_PEERS = ("oidc-pg2", "authlib-pg")


def ratio_pairs(labels: list[str]) -> list[tuple[str, str]]:
    """(numerator, denominator) of the ratios worth printing for these targets."""
    pairs = []
    for lab in labels:
        if lab in OURS:
            continue
        mine = "ours-pg" if lab in PG_PEERS else "ours"
        if mine in labels:
            pairs.append((mine, lab))
    for mine, before in (("ours", "before"), ("ours-pg", "before-pg")):
        if mine in labels and before in labels:
            pairs.append((mine, before))
    return pairs
TESTS = (("token", "token exchanges/s"), ("flow", "full install flows/s"), ("api", "bearer API req/s"))


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_port_free(port: int, seconds: float = 20) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not port_busy(port):
            return True
        time.sleep(0.3)
    return False


def run_bench(args: list[str], timeout: float, env: dict[str, str] | None = None) -> list[dict]:
    cmd = [sys.executable, BENCH, "--json", *args]
    log("$ " + " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    recs = []
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        log("bench.py timed out")
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            recs.append(json.loads(line))
    if proc.returncode not in (0, None):
        log(f"bench.py exited with {proc.returncode}")
    return recs


def bench_target(label: str, a: argparse.Namespace) -> list[dict]:
    common = [
        "-c",
        a.concurrency,
        "-d",
        str(a.duration),
        "--tests",
        a.tests,
        "--label",
        label,
        "--quiet-wait",
        str(a.quiet_wait),
        "--noise-limit",
        str(a.noise_limit),
    ]
    # per target: setup + calibration + per conc (api, mint+token, flow), minting up to 240 s each
    timeout = 600 + len(a.concurrency.split(",")) * (6 * a.duration + 700 + 6 * a.quiet_wait)
    if label in OURS:
        start = ["--start", "--workers", str(a.workers)]
        if label.startswith("before"):
            if not a.before_bin:
                log(f"{label} needs --before-bin: skipping it")
                return []
            start += ["--server-bin", a.before_bin]
        env = dict(os.environ)
        env.pop("DATABASE_URL", None)
        if label.endswith("-pg"):
            env["DATABASE_URL"] = a.pg_url
        return run_bench([*start, *common, *a.bench_arg], timeout, env)
    target, script, env, port = PEERS[label]
    if port_busy(port):
        log(f"port {port} is in use by another process: skipping {label}")
        return []
    env = {**os.environ, **env, "WORKERS": env.get("WORKERS", str(a.workers))}
    if label == "authlib":
        env["WORKERS"] = str(a.workers)
    out = subprocess.run(
        [os.path.join(PEERS_DIR, script)], env=env, capture_output=True, text=True, timeout=60
    )
    pid_text = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
    if not pid_text.isdigit() or not port_busy(port):
        log(f"{label} did not start: {out.stderr[-500:]}")
        return []
    pid = int(pid_text)
    log(f"started {label} (pid {pid}, port {port})")
    try:
        return run_bench(["--target", target, "--server-sid", str(pid), *common, *a.bench_arg], timeout)
    finally:
        try:
            os.kill(pid, signal.SIGTERM)  # the PID printed by the peer's own run script
        except ProcessLookupError:
            pass
        if not wait_port_free(port):
            log(f"{label} (pid {pid}) still listening on {port} after SIGTERM; sending SIGKILL to it")
            try:
                os.killpg(pid, signal.SIGKILL)  # its own session (started with setsid)
            except ProcessLookupError:
                pass
            wait_port_free(port, 10)


def summarize(recs: list[dict], labels: list[str]) -> str:
    by = {}
    for r in recs:
        by.setdefault((r["target"], r["test"], r["conc"]), []).append(r)
    concs = sorted({r["conc"] for r in recs})
    pairs = ratio_pairs(labels)
    lines = []
    for test, title in TESTS:
        lines.append(f"\n{title}")
        head = ["conc"] + [f"{lab} /s (p50/p99 ms)" for lab in labels] + [f"{n}/{d}" for n, d in pairs]
        rows = []
        for c in concs:
            row, rate = [str(c)], {}
            for lab in labels:
                rs = by.get((lab, test, c))
                if not rs:
                    row.append("-")
                    continue
                r = rs[-1]
                rate[lab] = r["rate_per_s"]
                lat = r.get("latency_ms", {})
                flag = ""
                if r.get("exhausted"):
                    flag += " >="
                if sum(r.get("errors", {}).values()):
                    flag += f" err={sum(r['errors'].values())}"
                row.append(f"{r['rate_per_s']:.0f} ({lat.get('p50')}/{lat.get('p99')}){flag}")
            for n, d in pairs:
                if rate.get(n) and rate.get(d):
                    row.append(f"{rate[n] / rate[d]:.2f}")
                else:
                    row.append("-")
            rows.append(row)
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
        lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        lines += ["| " + " | ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) + " |" for r in rows]
    cpu = [r for r in recs if r.get("server_cores") is not None]
    if cpu:
        lines.append("\nCPU (cores used during each measurement: server / client / rest of the box = noise)")
        for r in cpu:
            lines.append(
                f"  {r['target']:<13} {r['test']:<6} c={r['conc']:<3} server {r['server_cores']}"
                f"  client {r.get('client_cores')}  other {r.get('other_cores')}"
            )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-c", "--concurrency", default="16,64")
    ap.add_argument("-d", "--duration", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--tests", default="api,token,flow")
    ap.add_argument("--targets", default="ours,authlib,oidc,oidc-sqlite2")
    ap.add_argument(
        "--out",
        default=os.path.join(os.path.expanduser("~/.cache/oc-bench"), "compare.jsonl"),
        help="JSON lines of this run (overwritten)",
    )
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="bench.py: wait up to this long for a quiet box before each measurement, and "
        "re-measure once when other processes were busy during it (0 = off)",
    )
    ap.add_argument("--noise-limit", type=float, default=0.3, help="cores used by other processes = busy")
    ap.add_argument("--bench-arg", action="append", default=[], help="extra argument passed to bench.py")
    ap.add_argument("--summarize", help="print the tables of an earlier --out file and exit")
    ap.add_argument("--before-bin", help="orderchamp-auth of the checkout measured as before/before-pg")
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="PostgreSQL server for ours-pg/before-pg (bench.py makes its own database there)")
    a = ap.parse_args()
    labels = [t for t in a.targets.split(",") if t]
    for lab in labels:
        if lab not in OURS and lab not in PEERS:
            ap.error(f"unknown target {lab!r}")
    if a.summarize:
        with open(a.summarize) as fh:
            recs = [json.loads(x) for x in fh if x.strip()]
        seen = [lab for lab in dict.fromkeys(r["target"] for r in recs)]
        print(summarize(recs, ["ours"] + [x for x in seen if x != "ours"] if "ours" in seen else seen))
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    recs: list[dict] = []
    with open(a.out, "w") as fh:
        for lab in labels:
            got = bench_target(lab, a)
            for r in got:
                fh.write(json.dumps(r) + "\n")
            fh.flush()
            recs += got
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M')}  -c {a.concurrency}  -d {a.duration:g}s  workers {a.workers}"
        f"  (JSON lines: {a.out})"
    )
    print(summarize(recs, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())

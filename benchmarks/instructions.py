#!/usr/bin/env python3
"""Instructions per request of the whole HTTP server path, counted by callgrind: a figure no
load on the machine can move.

Runs ``orderchamp-auth serve --workers 1`` of the given tree(s) under ``valgrind
--tool=callgrind`` on a fresh SQLite database with the demo data, drives it over loopback with
one keep-alive connection (sequential requests, the client itself not counted), and after a
warm-up zeroes the counters, sends N requests, dumps, sends N more and dumps again. Each phase's
instructions divided by N is the cost of one request, uvicorn's HTTP parsing and writing, the
middleware, the endpoint and the database included; the two phases should agree (their
difference is the idle loop's ticks and the caches filling). Tests: ``api`` (bearer
``{ account { name type slug } }``, response cache on, as bench.py), ``token`` (authorization-code
exchanges of one installation, PKCE, codes written straight into the database beforehand, each
exchange replacing the installation's live token as in bench.py).

The webhook delivery worker is off (``ORDERCHAMP_WEBHOOK_WORKER=0``) unless ``--webhook-worker``:
it polls the database every 250 ms whatever the load, and under callgrind a phase lasts
about fifty times longer than it would natively, so its polls would count as request cost.
The request log is on, as ``serve`` has it.

Trees are given by their ``orderchamp-auth`` script (its interpreter is the one next to it);
trees run one after another, so that each has the machine as the others had it, though the
figure does not depend on that. ``--keep DIR`` keeps the callgrind files for
``callgrind_annotate`` (``--inclusive=yes``; the Python frames show as the interpreter's C
functions, so pair it with cProfile of profile_api.py / token_cost.py for the Python side).

    benchmarks/instructions.py --tests api,token
    benchmarks/instructions.py --bin before=/work/bench-pre/.venv/bin/orderchamp-auth --bin ours=.venv/bin/orderchamp-auth
    ORDERCHAMP_RATE_LIMITS=0 benchmarks/instructions.py --tests api -n 300
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUERY = "{ account { name type slug } }"
# As bench.py --start: limits on with a bucket no run drains, unless the environment says.
TEST_LIMITS = {"ORDERCHAMP_RATE_LIMIT_BUCKET": "10000000", "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE": "10000000"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive HTTP/1.1 connection; every answer checked."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        self.conn.request("POST", path, body, headers)
        response = self.conn.getresponse()
        payload = response.read()
        if response.status != 200 or b'"errors"' in payload:
            raise SystemExit(f"{path}: {response.status} {payload[:300]!r}")
        return payload


class Requests:
    """The requests of one test: ``send(client, count)``."""

    def __init__(self, test: str, demo: dict, tree_python: str, database_url: str, total: int) -> None:
        self.test = test
        if test == "api":
            self.body = json.dumps({"query": QUERY}).encode()
            self.headers = {"Content-Type": "application/json", "Authorization": f"Bearer {demo['private_token']}"}
        else:
            # the tree's own models write its codes (the schema differs between trees)
            made = subprocess.run([tree_python, __file__, "--mint", str(total), database_url, json.dumps(demo)],
                                  capture_output=True, text=True, check=False)
            if made.returncode != 0:
                raise SystemExit(f"minting codes failed: {made.stderr[-800:]}")
            self.bodies = [line.encode() for line in made.stdout.split()]
            self.headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def send(self, client: Client, count: int) -> None:
        for _ in range(count):
            if self.test == "api":
                client.post("/v1/graphql", self.body, self.headers)
            else:
                client.post("/oauth/access_token", self.bodies.pop(), self.headers)


def mint_codes(count: int, database_url: str, demo_json: str) -> None:
    """Print ``count`` form bodies of code exchanges (run with the tree's interpreter)."""
    sys.path.insert(0, str(HERE))
    from sqlalchemy import create_engine
    from token_cost import mint

    raw = json.loads(demo_json)
    demo = types.SimpleNamespace(**raw)
    engine = create_engine(database_url)
    bodies, _ = mint(engine, demo, count)
    engine.dispose()
    sys.stdout.write("\n".join(body.decode() for body in bodies))


def total_instructions(path: str) -> int:
    with open(path) as fh:
        for line in fh:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"{path}: no totals")


def wait_healthy(port: int, proc: subprocess.Popen, log: str, seconds: float = 900) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early, see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            if b" 200 " in s.recv(200):
                return
        time.sleep(1)
    raise SystemExit(f"server not healthy after {seconds:.0f} s, see {log}")


def control(command: str, pid: int) -> None:
    """``callgrind_control -z`` / ``-d``, then wait until callgrind has done it."""
    before = set(glob.glob(f"{CALLGRIND_OUT}.*")) if command == "-d" else set()
    subprocess.run(["callgrind_control", command, str(pid)], check=True, capture_output=True)
    if command == "-d":
        for _ in range(600):
            if set(glob.glob(f"{CALLGRIND_OUT}.*")) - before:
                return
            time.sleep(0.1)
        raise SystemExit("callgrind did not dump")


CALLGRIND_OUT = ""


def measure(label: str, server_bin: str, test: str, n: int, warmup: int, keep: str | None,
            webhook_worker: bool, serve_args: list[str]) -> tuple[int, int]:
    """Instructions of the server for each of two phases of ``n`` requests."""
    global CALLGRIND_OUT
    python = os.path.join(os.path.dirname(server_bin), "python")
    tmp = tempfile.mkdtemp(prefix="oc-instr-")
    port = free_port()
    database_url = f"sqlite:///{tmp}/bench.sqlite3"
    limits = {} if "ORDERCHAMP_RATE_LIMITS" in os.environ or "ORDERCHAMP_RATE_LIMIT_BUCKET" in os.environ else TEST_LIMITS
    env = {**os.environ, **limits, **({} if webhook_worker else {"ORDERCHAMP_WEBHOOK_WORKER": "0"}),
           "ORDERCHAMP_SECRET_KEY": secrets.token_urlsafe(32), "DATABASE_URL": database_url,
           "ORDERCHAMP_WEB_URL": f"http://127.0.0.1:{port}"}
    CALLGRIND_OUT = f"{tmp}/callgrind.out"
    log = f"{tmp}/serve.log"
    with open(log, "w") as logf:
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={CALLGRIND_OUT}", python, server_bin,
             "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *serve_args],
            cwd=tmp, env=env, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_healthy(port, proc, log)
        out = subprocess.run([server_bin, "demo", "--json"], cwd=tmp, env=env, capture_output=True, text=True,
                             check=False)
        if out.returncode != 0:
            raise SystemExit(f"demo seeding failed: {out.stderr[-800:]}")
        requests = Requests(test, json.loads(out.stdout), python, database_url, warmup + 2 * n)
        client = Client(port)
        requests.send(client, warmup)
        time.sleep(1)
        control("-z", proc.pid)
        phases = []
        for _ in range(2):
            requests.send(client, n)
            time.sleep(0.5)  # what the server does after its last answer (logging) lands in this phase
            control("-d", proc.pid)
            phases.append(total_instructions(max(glob.glob(f"{CALLGRIND_OUT}.*"), key=os.path.getmtime)))
        client.conn.close()
        return phases[0], phases[1]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=120)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        if keep:
            os.makedirs(keep, exist_ok=True)
            name = re.sub(r"[^\w.-]", "_", f"{label}-{test}")
            for i, path in enumerate(sorted(glob.glob(f"{CALLGRIND_OUT}.*"), key=os.path.getmtime)):
                shutil.copy(path, os.path.join(keep, f"{name}.{i + 1}"))
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", metavar="LABEL=PATH",
                    help="a tree's orderchamp-auth (repeatable); default: this repository's .venv")
    ap.add_argument("--tests", default="api,token", help="comma-separated: api, token (default both)")
    ap.add_argument("-n", type=int, default=200, help="requests per measured phase (default 200)")
    ap.add_argument("--warmup", type=int, default=100, help="requests before counting (default 100)")
    ap.add_argument("--keep", metavar="DIR", help="keep the callgrind files there (LABEL-TEST.1, .2)")
    ap.add_argument("--webhook-worker", action="store_true", help="leave the webhook delivery worker on")
    ap.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                    help="passed on to serve (repeatable), e.g. --serve-arg=--no-access-log (a tree that has it)")
    ap.add_argument("--mint", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.mint:
        mint_codes(int(args.mint[0]), args.mint[1], args.mint[2])
        return
    bins = args.bin or [f"ours={HERE.parent / '.venv/bin/orderchamp-auth'}"]
    for test in args.tests.split(","):
        for given in bins:
            label, _, path = given.rpartition("=")
            first, second = measure(label or path, os.path.abspath(path), test, args.n, args.warmup, args.keep,
                                    args.webhook_worker, args.serve_arg)
            print(f"{test:5s} {label or path:10s} {first / args.n:12,.0f} {second / args.n:12,.0f} instructions per "
                  f"request (two phases of {args.n})", flush=True)


if __name__ == "__main__":
    main()

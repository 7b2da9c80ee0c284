#!/usr/bin/env python3
"""Round trips, statements and CPU per step of the install flow, on PostgreSQL.

Starts our server like ``bench.py --start`` (one worker, a fresh database on the PostgreSQL
server that ``DATABASE_URL`` names, demo data), then:

- ``--steps`` install flows, step by step (authorize GET, consent POST, token exchange, one API
  call): per step, the statements PostgreSQL ran (``log_min_duration_statement=0`` set on that
  database only, read back from the server's log when it is readable; BEGIN and COMMIT count,
  each is a round trip) and the server's waits for PostgreSQL (``psycopg.Connection.wait``
  calls, counted in the server by a ``sitecustomize`` put on its ``PYTHONPATH``; a no-op one,
  such as the ROLLBACK of an autocommit read, counts too);
- ``-n`` flows in a row, then ``-n`` token exchanges in a row, statement log off: CPU per
  request of the server process and of its PostgreSQL backends, from /proc.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres ~/.cache/oc-bench/venv/bin/python benchmarks/pg_round_trips.py
    ... --server-bin /other/checkout/.venv/bin/orderchamp-auth   # another tree, the same way
    ... --show   # and the statements of one flow
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402 - needs aiohttp: run this with ~/.cache/oc-bench/venv/bin/python

SITECUSTOMIZE = '''
import os, signal, json
try:
    import psycopg
except ImportError:
    psycopg = None
if psycopg is not None:
    _counts = {"waits": 0}
    _wait = psycopg.Connection.wait
    def wait(self, gen, *args, **kwargs):
        _counts["waits"] += 1
        return _wait(self, gen, *args, **kwargs)
    psycopg.Connection.wait = wait
    def _dump(*_):
        path = os.path.join(os.environ["PG_ROUND_TRIPS_DIR"], str(os.getpid()))
        with open(path + ".tmp", "w") as fh:
            json.dump(_counts, fh)
        os.rename(path + ".tmp", path + ".json")
    signal.signal(signal.SIGUSR1, _dump)
'''

STEPS = ("authorize", "consent", "token", "api")


def cpu_of(pids: list[int]) -> float:
    """CPU seconds of the live processes among ``pids``."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += proc_cpu(pid)
    return total


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / bench._CLK


class Probe:
    """The server's counters and CPU, and its PostgreSQL backends' CPU."""

    def __init__(self, server: bench.OurServer, count_dir: str) -> None:
        self.server, self.count_dir = server, count_dir
        self.counting: set[int] | None = None

    def server_pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == self.server.sid:
                    pids.append(int(entry))
        return pids

    def backend_pids(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.server.database.admin_url, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                (self.server.database.name,)).fetchall()
        return [row[0] for row in rows]

    def waits(self) -> int:
        for name in os.listdir(self.count_dir):
            os.unlink(os.path.join(self.count_dir, name))
        pids = self.server_pids()
        for pid in pids:
            os.kill(pid, signal.SIGUSR1)
        # The processes that count are those that imported psycopg (not, say, a supervisor):
        # learnt on the first snapshot, then waited for every time.
        expected = self.counting or set(pids)
        deadline = time.monotonic() + (2 if self.counting is None else 10)
        while time.monotonic() < deadline and len(self._dumped()) < len(expected):
            time.sleep(0.002)
        names = self._dumped()
        if self.counting is None:
            self.counting = {int(name.split(".")[0]) for name in names}
        total = 0
        for name in names:
            with open(os.path.join(self.count_dir, name)) as fh:
                total += json.load(fh)["waits"]
        return total

    def _dumped(self) -> list[str]:
        return [name for name in os.listdir(self.count_dir) if name.endswith(".json")]

    def snapshot(self) -> dict[str, float]:
        server_cpu, backend_cpu = cpu_of(self.server_pids()), cpu_of(self.backend_pids())
        return {"waits": self.waits(), "server_cpu": server_cpu, "backend_cpu": backend_cpu}


def log_size(log_path: str) -> int:
    try:
        return os.path.getsize(log_path)
    except OSError:
        return 0


def set_statement_log(server: bench.OurServer, *, on: bool) -> None:
    """PostgreSQL logs every statement of the server's database (or stops): set on the
    database only, for its new sessions, so its open ones are ended."""
    import psycopg

    name = server.database.name
    with psycopg.connect(server.database.admin_url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ' + ("SET log_min_duration_statement = 0" if on
                                                     else "RESET log_min_duration_statement"))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                     "AND pid <> pg_backend_pid()", (name,))


def statements_logged(log_path: str, start: int, database: str, end: int | None = None) -> tuple[int, list[str]]:
    """Statements PostgreSQL ran for ``database`` (executions, not their parse and bind steps),
    as logged between bytes ``start`` and ``end`` of its log."""
    try:
        with open(log_path, errors="replace") as fh:
            fh.seek(start)
            text = fh.read() if end is None else fh.read(max(0, end - start))
    except OSError:
        return -1, []
    found = []
    pattern = r"\[(\d+)\] \S+@(\S+) LOG:  duration: [\d.]+ ms  (statement|execute [^:]*): (.*)"
    for match in re.finditer(pattern, text):
        if match.group(2) == database:
            found.append(f"[{match.group(1)}] {match.group(4)[:100]}")
    return len(found), found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=300, help="flows, then exchanges, for CPU (default 300)")
    ap.add_argument("--steps", type=int, default=30, help="flows counted step by step (default 30)")
    ap.add_argument("--server-bin", help="orderchamp-auth to start (default: this checkout's)")
    ap.add_argument("--log", default="/var/log/postgresql/postgresql-15-main.log",
                    help="PostgreSQL's log, for the statements it logged (skipped if unreadable)")
    ap.add_argument("--show", action="store_true", help="print the statements of one flow")
    args = ap.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgresql://", "postgres://")):
        sys.exit("set DATABASE_URL to a PostgreSQL server (a fresh database is made there)")
    count_dir = tempfile.mkdtemp(prefix="pg-round-trips-")
    site_dir = tempfile.mkdtemp(prefix="pg-round-trips-site-")
    with open(os.path.join(site_dir, "sitecustomize.py"), "w") as fh:
        fh.write(SITECUSTOMIZE)
    server = bench.OurServer(bench.find_server_bin(args.server_bin), 1, extra_env={
        "PYTHONPATH": site_dir, "PG_ROUND_TRIPS_DIR": count_dir, "ORDERCHAMP_RATE_LIMITS": "0",
        "ORDERCHAMP_WEBHOOK_WORKER": "0"})  # its polls would be counted with the steps
    logging = os.access(args.log, os.R_OK)
    if logging:
        set_statement_log(server, on=True)
    try:
        demo = server.start()
        a = bench.parse_args(["--start"])
        cfg = bench.build_config(a, demo)
        probe = Probe(server, count_dir)

        async def run() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
            totals = {step: {"waits": 0.0, "server_cpu": 0.0, "backend_cpu": 0.0, "statements": 0.0}
                      for step in STEPS}
            whole: dict[str, dict[str, float]] = {}
            async with bench.new_session(1) as session:
                cl = bench.Client(cfg, session)
                await cl.login(demo["bench_users"][0], bench.DEMO_PASSWORD)
                for _ in range(20):  # warm-up: statements compiled and prepared, connections made
                    code, verifier, _ = await cl.get_code()
                    await cl.api(await cl.exchange(code, verifier))
                # Round trips per step: a snapshot around every step (its own cost taken off).
                calibration = [probe.snapshot() for _ in range(11)]
                idle = {key: (calibration[-1][key] - calibration[0][key]) / 10 for key in calibration[0]}
                bench.log(f"{args.steps} flows, step by step")
                for _ in range(args.steps):
                    marks = [probe.snapshot()]
                    offsets = [log_size(args.log)]
                    step = await authorize_only(cl)
                    marks.append(probe.snapshot())
                    offsets.append(log_size(args.log))
                    code, verifier = await consent_only(cl, step)
                    marks.append(probe.snapshot())
                    offsets.append(log_size(args.log))
                    token = await cl.exchange(code, verifier)
                    marks.append(probe.snapshot())
                    offsets.append(log_size(args.log))
                    await cl.api(token)
                    marks.append(probe.snapshot())
                    time.sleep(0.05)  # the last statements' log lines
                    offsets.append(log_size(args.log))
                    for name, before, after in zip(STEPS, marks, marks[1:], strict=False):
                        add(totals[name], before, after, idle)
                    for name, start, end in zip(STEPS, offsets, offsets[1:], strict=False):
                        totals[name]["statements"] += statements_logged(args.log, start, server.database.name,
                                                                        end)[0]
                if logging:  # logging costs the backends CPU: off for the runs below
                    set_statement_log(server, on=False)
                    for _ in range(5):  # the server finds its connections closed and makes new ones
                        with contextlib.suppress(bench.FlowError):
                            code, verifier, _ = await cl.get_code()
                            await cl.api(await cl.exchange(code, verifier))
                # CPU: whole runs between two snapshots (the clock ticks of /proc need many).
                bench.log(f"{args.n} flows, then {args.n} token exchanges, one after another")
                before = probe.snapshot()
                for _ in range(args.n):
                    code, verifier, _ = await cl.get_code()
                    await cl.api(await cl.exchange(code, verifier))
                whole["flow"] = per(probe.snapshot(), before, args.n)
                codes = [(await cl.get_code())[:2] for _ in range(args.n)]
                before = probe.snapshot()
                for code, verifier in codes:
                    await cl.exchange(code, verifier)
                whole["token"] = per(probe.snapshot(), before, args.n)
            return totals, whole

        totals, whole = asyncio.run(run())
        print(f"per step, {args.steps} flows: statements PostgreSQL ran (BEGIN and COMMIT included: each a round"
              " trip), and the server's waits for it (Connection.wait calls, no-op ones included)")
        flow = {"statements": 0.0, "waits": 0.0}
        for step in STEPS:
            for key in flow:
                flow[key] += totals[step][key]
            statements = f"{totals[step]['statements'] / args.steps:6.2f}" if logging else "     -"
            print(f"  {step:<10} {statements} {totals[step]['waits'] / args.steps:6.2f}")
        print(f"  {'flow':<10} {flow['statements'] / args.steps if logging else 0:6.2f} "
              f"{flow['waits'] / args.steps:6.2f}")
        print(f"CPU µs per request, {args.n} in a row:  {'server':>8} {'PG backend':>11}")
        for name, got in whole.items():
            print(f"  {name:<10} {'':>24}{got['server_cpu'] * 1e6:8.0f} {got['backend_cpu'] * 1e6:11.0f}"
                  f"   ({got['waits']:.2f} waits)")
        if args.show:
            show_statements(server, cfg, demo, args.log)
    finally:
        server.stop()


async def authorize_only(cl: bench.Client) -> tuple[str, str, str, str]:
    """The authorize GET: the consent form's action and fields, the state and the verifier."""
    cfg = cl.cfg
    state = bench.secrets.token_urlsafe(12)
    verifier, challenge = bench.pkce_pair()
    query = bench.urllib.parse.urlencode([
        ("response_type", "code"), ("client_id", cfg["client_id"]), ("redirect_uri", cfg["redirect_uri"]),
        ("scope", cfg["scope"]), ("state", state), ("code_challenge", challenge),
        ("code_challenge_method", "S256")])
    url = cl.url(cfg["authorize"]) + "?" + query
    async with cl.s.get(url, headers={"Cookie": cl._cookie_header(cl.base_cookies)}, allow_redirects=False) as r:
        text = await r.text()
        if r.status != 200:
            raise SystemExit(f"authorize answered {r.status}")
    form = bench.pick_form(text, cfg["consent_action"])
    names = {k for k, _ in cfg["consent_fields"]}
    fields = [kv for kv in form["inputs"] if kv[0] not in names] + list(cfg["consent_fields"])
    action = bench.urllib.parse.urljoin(url, form["action"]) if form["action"] else url
    return action, bench.urllib.parse.urlencode(fields), state, verifier


async def consent_only(cl: bench.Client, step: tuple[str, str, str, str]) -> tuple[str, str]:
    action, body, state, verifier = step
    async with cl.s.post(action, data=body, allow_redirects=False, headers={
            "Cookie": cl._cookie_header(cl.base_cookies),
            "Content-Type": "application/x-www-form-urlencoded"}) as r:
        await r.read()
        location = r.headers.get("Location", "")
    params = dict(bench.urllib.parse.parse_qsl(bench.urllib.parse.urlsplit(location).query))
    if params.get("state") != state or not params.get("code"):
        raise SystemExit(f"consent did not redirect with a code: {location[:200]}")
    return params["code"], verifier


def per(after: dict[str, float], before: dict[str, float], n: int) -> dict[str, float]:
    return {key: (after[key] - before[key]) / n for key in after}


def add(total: dict[str, float], before: dict[str, float], after: dict[str, float],
        idle: dict[str, float]) -> None:
    for key in after:
        total[key] += after[key] - before[key] - idle[key]


def show_statements(server: bench.OurServer, cfg: dict, demo: dict, log_path: str) -> None:
    """One flow with PostgreSQL logging every statement of the database, printed per step."""

    name = server.database.name
    set_statement_log(server, on=True)

    async def one() -> None:
        async with bench.new_session(1) as session:
            cl = bench.Client(cfg, session)
            await cl.login(demo["bench_users"][0], bench.DEMO_PASSWORD)
            for _ in range(3):  # the dropped connections found and replaced
                try:
                    code, verifier, _ = await cl.get_code()
                    await cl.api(await cl.exchange(code, verifier))
                except bench.FlowError:
                    pass
            start = os.path.getsize(log_path)
            step = await authorize_only(cl)
            print_logged("authorize", log_path, start, name)
            start = os.path.getsize(log_path)
            code, verifier = await consent_only(cl, step)
            print_logged("consent", log_path, start, name)
            start = os.path.getsize(log_path)
            token = await cl.exchange(code, verifier)
            print_logged("token", log_path, start, name)
            start = os.path.getsize(log_path)
            await cl.api(token)
            print_logged("api", log_path, start, name)

    asyncio.run(one())


def print_logged(step: str, log_path: str, start: int, database: str) -> None:
    time.sleep(0.3)  # the log is written by the backends, asynchronously to us
    count, found = statements_logged(log_path, start, database)
    print(f"-- {step}: {count} statements logged")
    for line in found:
        print("   ", line)


if __name__ == "__main__":
    main()

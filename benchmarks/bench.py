#!/usr/bin/env python3
"""Load benchmark for orderchamp-auth (and, with the same client, for the peer servers).

Three measurements, each at every concurrency given with -c, each bounded by -d seconds:

  token  Token exchanges/s. Codes are minted first (authorize GET + consent POST per code,
         not timed), then exchanged under load at POST <token endpoint> (form-encoded,
         client_secret in the body, PKCE verifier). Client: wrk + the peers' token_wrk.lua
         (default; costs the 2-core box far less CPU than Python) or the async Python client.
  flow   Complete install flows/s, async Python client (aiohttp, uvloop if present). One flow:
         GET authorize (with the user's session cookie) -> 200 consent page -> POST the consent
         form (its hidden fields + decision=approve) -> 303 to the redirect URI -> verify the
         callback signature with the client secret (orderchamp_auth.protocol.signing.
         verify_query_string; ours only, the peers sign nothing) and the state -> POST token
         endpoint -> one API call with the new token. The user logs in ONCE before the run
         (like the peers, whose user is always logged in); every flow starts from that cookie.
  api    Bearer-authenticated API requests/s: POST /v1/graphql {"query": "{ account { name } }"}
         with a fixed token from one flow (peers: GET /api/me). Responses are checked (HTTP 200
         and the expected JSON). Client: wrk + benchmarks/request_wrk.lua (default) or Python.
         --baseline-path PATH also measures PATH with { account { name type slug } } and no
         token, right after, and reports api/baseline (issue 3's graphql-core baseline);
         --start --baseline serves it at /bench/graphql-baseline (serve_with_baseline.py), and
         --ratios measures issue 3's pairs, response cache on and off, in one command.

Output: a table (rate/s, p50/p99 ms, ok, errors, client and server CPU in cores); --json
prints one JSON object per measurement instead; --out FILE appends the JSON lines.

Targets (--target): ours (default), authlib (:8101), oidc (:8103) -- the peers of
/work/shared/bench/peers, started with their run_*.sh -- or custom paths with --base etc.

Examples:
  # start our server (2 workers, fresh SQLite in a temp dir, demo data) and measure all three
  benchmarks/bench.py --start
  benchmarks/bench.py --start -c 16,64 -d 10 --json
  DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres benchmarks/bench.py --start   # on PostgreSQL
  # issue 3's API ratios against the bare graphql-core baseline, response cache on and off
  benchmarks/bench.py --ratios -c 16 -d 8
  # a server that is already running (seeded with `orderchamp-auth demo --json > demo.json`)
  benchmarks/bench.py --base http://127.0.0.1:8000 --demo-json demo.json
  # a peer (started with /work/shared/bench/peers/run_authlib.sh)
  benchmarks/bench.py --target authlib -c 16 -d 10

Loopback only. Every loop is bounded in time (-d is capped at 120 s, minting at 240 s) and in
count. Needs aiohttp (benchmarks/setup_client.sh makes ~/.cache/oc-bench/venv; bench.py
re-executes itself with that interpreter when the current one lacks aiohttp) and wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CACHE = os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
CLIENT_VENV_PY = os.path.join(CACHE, "oc-bench", "venv", "bin", "python")
PEERS_DIR = os.environ.get("PEERS_DIR", "/work/shared/bench/peers")
TOKEN_LUA = os.path.join(PEERS_DIR, "token_wrk.lua")
REQUEST_LUA = os.path.join(HERE, "request_wrk.lua")

MAX_DURATION = 120.0
MAX_MINT_SECONDS = 240.0

try:
    import aiohttp
except ImportError:  # re-exec with the benchmark client's venv
    if os.path.exists(CLIENT_VENV_PY) and os.environ.get("OC_BENCH_REEXEC") != "1":
        os.environ["OC_BENCH_REEXEC"] = "1"
        os.execv(CLIENT_VENV_PY, [CLIENT_VENV_PY, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit("bench.py needs aiohttp: run benchmarks/setup_client.sh (or pip install aiohttp)")

try:
    from orderchamp_auth.protocol.signing import verify_query_string
except ImportError:  # the protocol core is stdlib-only: use it from the source tree
    sys.path.insert(0, os.path.join(REPO, "src"))
    from orderchamp_auth.protocol.signing import verify_query_string

from fresh_database import BenchDatabase  # noqa: E402 - beside this script

ACCOUNT_QUERY = "{ account { name } }"
# Issue 3's API ratios: these queries of the real API, each against the bare graphql-core
# baseline (benchmarks/graphql_baseline.py) answering BASELINE_QUERY, response cache on and off.
BASELINE_PATH = "/bench/graphql-baseline"
BASELINE_QUERY = "{ account { name type slug } }"
BASELINE_EXPECT = '{"data":{"account":{"name"'
RATIO_QUERIES = {
    "account": (BASELINE_QUERY, '{"data":{"account":{"name"'),
    "products50": ("{ products(first: 50) { nodes { id title variants(first: 10) "
                   "{ nodes { id sku price inventoryQuantity } } } } }", '{"data":{"products":{"nodes":[{"id"'),
}

TARGETS = {
    "ours": dict(
        base=None,
        authorize="/oauth/authorize",
        token="/oauth/access_token",
        api="/v1/graphql",
        api_method="POST",
        api_query=ACCOUNT_QUERY,
        api_expect='{"data":{"account":{"name"',
        scope="account_read,products_read",
        consent_action="/oauth/authorize",
        consent_fields=[("decision", "approve")],
        login=True,
        signed_callback=True,
    ),
    "authlib": dict(
        base="http://127.0.0.1:8101",
        authorize="/oauth/authorize",
        token="/oauth/token",
        api="/api/me",
        api_method="GET",
        api_query=None,
        api_expect=None,
        scope="read",
        consent_action=None,
        consent_fields=[("confirm", "yes")],
        login=False,
        signed_callback=False,
        client_id="bench-client",
        client_secret="bench-secret",
        redirect_uri="http://127.0.0.1:9/callback",
    ),
    "oidc": dict(
        base="http://127.0.0.1:8103",
        authorize="/auth",
        token="/token",
        api="/api/me",
        api_method="GET",
        api_query=None,
        api_expect=None,
        scope="read",
        consent_action=None,
        consent_fields=[("confirm", "yes")],
        login=False,
        signed_callback=False,
        client_id="bench-client",
        client_secret="bench-secret",
        redirect_uri="http://127.0.0.1:9/callback",
    ),
}
# Accounts (one user each) that the loops' workers sign in as, one per worker up to this many.
BENCH_ACCOUNTS = 16
DEMO_EMAIL = "supplier@demo.orderchamp.test"
DEMO_PASSWORD = "orderchamp-demo"  # the demo seed's documented password, loopback only


# ------------------------------------------------------------------------------- helpers
def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        sys.exit(f"refusing non-loopback URL {url!r}")


def pct(sorted_ms: list[float], p: float) -> float | None:
    if not sorted_ms:
        return None
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * (len(sorted_ms) - 1)))))
    return round(sorted_ms[k], 2)


def lat_summary(seconds: list[float]) -> dict[str, float | None]:
    ms = sorted(v * 1000.0 for v in seconds)
    return {
        "p50": pct(ms, 50),
        "p90": pct(ms, 90),
        "p99": pct(ms, 99),
        "mean": round(statistics.fmean(ms), 2) if ms else None,
    }


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Forms(HTMLParser):
    """Every <form> of a page with its action, method and named hidden/text inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._cur: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._cur = {
                "action": a.get("action") or "",
                "method": (a.get("method") or "get").lower(),
                "inputs": [],
            }
            self.forms.append(self._cur)
        elif tag == "input" and self._cur is not None:
            kind = (a.get("type") or "text").lower()
            if a.get("name") and kind in ("hidden", "text"):
                self._cur["inputs"].append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._cur = None


def pick_form(html: str, action_path: str | None) -> dict | None:
    p = Forms()
    p.feed(html)
    for f in p.forms:
        if action_path is None or urllib.parse.urlsplit(f["action"]).path == action_path:
            return f
    return None


# ----------------------------------------------------------------------- CPU accounting
_CLK = os.sysconf("SC_CLK_TCK")


def session_cpu_seconds(sid: int | None) -> float | None:
    """utime+stime of every live process in session `sid` (the server and its workers)."""
    if not sid:
        return None
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid:  # fields[3] = session id
            total += int(fields[11]) + int(fields[12])
    return total / _CLK


def busy_cpu_seconds() -> float:
    """Busy CPU time of the whole box so far (all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        vals = [int(x) for x in fh.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    return (sum(vals[:8]) - idle) / _CLK


class CpuMeter:
    def __init__(self, server_sid: int | None):
        self.sid = server_sid

    def __enter__(self) -> CpuMeter:
        self.t0 = time.perf_counter()
        self.self0 = time.process_time()
        ru = os.times()
        self.child0 = ru.children_user + ru.children_system
        self.srv0 = session_cpu_seconds(self.sid)
        self.box0 = busy_cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = max(time.perf_counter() - self.t0, 1e-9)
        ru = os.times()
        client = (time.process_time() - self.self0) + (ru.children_user + ru.children_system - self.child0)
        self.client_cores = round(client / wall, 2)
        srv1 = session_cpu_seconds(self.sid)
        self.server_cores = (
            round((srv1 - self.srv0) / wall, 2) if self.srv0 is not None and srv1 is not None else None
        )
        # everything else on the box (another test suite...): noise indicator
        self.other_cores = round(
            max(
                0.0, (busy_cpu_seconds() - self.box0) / wall - self.client_cores - (self.server_cores or 0.0)
            ),
            2,
        )


def wait_quiet(a: argparse.Namespace, sid: int | None) -> float:
    """Wait (bounded by --quiet-wait seconds) until the rest of the box uses < --noise-limit cores.

    The box is shared (another test suite may run): measuring while it is busy halves a
    server's figures. Returns the last "other" load seen, in cores."""
    if a.quiet_wait <= 0:
        return 0.0
    end = time.monotonic() + a.quiet_wait
    other = 0.0
    while True:
        box0, srv0, me0 = busy_cpu_seconds(), session_cpu_seconds(sid) or 0.0, time.process_time()
        time.sleep(1.0)
        other = (
            (busy_cpu_seconds() - box0)
            - ((session_cpu_seconds(sid) or 0.0) - srv0)
            - (time.process_time() - me0)
        )
        if other < a.noise_limit or time.monotonic() >= end:
            if other >= a.noise_limit:
                log(f"  box still busy ({other:.2f} cores used by other processes); measuring anyway")
            return other
        log(f"  box busy ({other:.2f} cores used by other processes): waiting")
        time.sleep(2.0)


def guarded(a: argparse.Namespace, fn) -> dict:
    """Run one measurement; if other processes took more than --noise-limit cores meanwhile,
    run it once more and keep the quieter of the two (the other one is kept as noisy_other)."""
    rec = fn()
    if a.noise_limit and (rec.get("other_cores") or 0) > a.noise_limit and a.quiet_wait > 0:
        log(f"  noisy: other processes used {rec['other_cores']} cores during it; measuring again")
        again = fn()
        first, second = (
            (rec, again) if (again.get("other_cores") or 0) <= rec["other_cores"] else (again, rec)
        )
        second["noisy_other"] = {"rate_per_s": first["rate_per_s"], "other_cores": first.get("other_cores")}
        rec = second
        rec["remeasured"] = True
    return rec


# ------------------------------------------------------------------------- HTTP client
class FlowError(Exception):
    def __init__(self, kind: str, detail: str = ""):
        super().__init__(kind)
        self.kind, self.detail = kind, detail


class Client:
    def __init__(self, cfg: dict, session: aiohttp.ClientSession):
        self.cfg = cfg
        self.s = session
        self.base_cookies: dict[str, str] = {}

    def url(self, path: str) -> str:
        return self.cfg["base"] + path

    @staticmethod
    def _cookie_header(jar: dict[str, str]) -> str:
        return "; ".join(f"{k}={v}" for k, v in jar.items())

    @staticmethod
    def _absorb(jar: dict[str, str], resp: aiohttp.ClientResponse) -> None:
        for k, morsel in resp.cookies.items():
            if morsel.value in ("", '""') or morsel.get("max-age") == "0":
                jar.pop(k, None)
            else:
                jar[k] = morsel.value

    async def login(self, email: str, password: str) -> None:
        jar: dict[str, str] = {}
        async with self.s.get(self.url("/login")) as r:
            self._absorb(jar, r)
            page = await r.text()
        form = pick_form(page, "/login")
        if form is None:
            raise SystemExit("login page without a /login form")
        fields = dict(form["inputs"])
        fields.update(email=email, password=password, next="/")
        async with self.s.post(
            self.url("/login"),
            data=urllib.parse.urlencode(fields),
            allow_redirects=False,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": self._cookie_header(jar)},
        ) as r:
            self._absorb(jar, r)
            status = r.status
        if status != 303 or not any("session" in k for k in jar):
            raise SystemExit(f"login failed (HTTP {status}); check --email/--password")
        self.base_cookies = {k: v for k, v in jar.items() if k != "oc_csrf"}

    async def get_code(self) -> tuple[str, str, dict[str, float]]:
        """authorize GET (+ any redirects) -> consent POST -> redirect URI. Returns code, verifier, step times."""
        cfg = self.cfg
        jar = dict(self.base_cookies)
        state = secrets.token_urlsafe(12)
        verifier, challenge = pkce_pair()
        query = urllib.parse.urlencode(
            [
                ("response_type", "code"),
                ("client_id", cfg["client_id"]),
                ("redirect_uri", cfg["redirect_uri"]),
                ("scope", cfg["scope"]),
                ("state", state),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ]
        )
        url, method, body = self.url(cfg["authorize"]) + "?" + query, "GET", None
        steps: dict[str, float] = {"authorize": 0.0, "consent": 0.0}
        step = "authorize"
        consented = False
        for _hop in range(8):
            headers = {"Accept": "text/html"}
            if jar:
                headers["Cookie"] = self._cookie_header(jar)
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            t0 = time.perf_counter()
            async with self.s.request(method, url, data=body, headers=headers, allow_redirects=False) as r:
                self._absorb(jar, r)
                status, loc = r.status, r.headers.get("Location")
                text = await r.text() if status == 200 else ""
                if status != 200:
                    await r.read()
            steps[step] += time.perf_counter() - t0
            if status in (301, 302, 303, 307, 308):
                if not loc:
                    raise FlowError("redirect_without_location")
                loc = urllib.parse.urljoin(url, loc)
                if loc.startswith(cfg["redirect_uri"]):
                    raw_query = urllib.parse.urlsplit(loc).query
                    if cfg["signed_callback"]:
                        try:
                            params = verify_query_string(raw_query, cfg["client_secret"])
                        except Exception as exc:
                            raise FlowError("bad_signature:" + type(exc).__name__, loc) from None
                    else:
                        params = dict(urllib.parse.parse_qsl(raw_query))
                    if "error" in params:
                        raise FlowError("authorize_error:" + params["error"], loc)
                    if params.get("state") != state or not params.get("code"):
                        raise FlowError("state_or_code_missing", loc)
                    return params["code"], verifier, steps
                url, method, body = loc, "GET", None
                continue
            if status == 200 and not consented:
                form = pick_form(text, cfg["consent_action"])
                if form is None:
                    raise FlowError("no_consent_form", text[:200])
                names = {k for k, _ in cfg["consent_fields"]}
                fields = [kv for kv in form["inputs"] if kv[0] not in names] + list(cfg["consent_fields"])
                url = urllib.parse.urljoin(url, form["action"]) if form["action"] else url
                method, body = form["method"].upper(), urllib.parse.urlencode(fields)
                consented, step = True, "consent"
                continue
            raise FlowError(f"authorize_http_{status}", text[:200])
        raise FlowError("too_many_hops")

    async def exchange(self, code: str, verifier: str | None) -> str:
        cfg = self.cfg
        form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", cfg["redirect_uri"]),
            ("client_id", cfg["client_id"]),
            ("client_secret", cfg["client_secret"]),
        ]
        if verifier:
            form.append(("code_verifier", verifier))
        async with self.s.post(
            self.url(cfg["token"]),
            data=urllib.parse.urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        ) as r:
            raw, status = await r.read(), r.status
        if status != 200:
            raise FlowError(f"token_http_{status}", raw[:200].decode("latin1"))
        try:
            return json.loads(raw)["access_token"]
        except (ValueError, KeyError):
            raise FlowError("token_bad_json", raw[:200].decode("latin1")) from None

    async def api(self, token: str | None, path: str | None = None) -> None:
        cfg = self.cfg
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if cfg["api_method"] == "POST":
            headers["Content-Type"] = "application/json"
            body = json.dumps({"query": cfg["api_query"]})
        async with self.s.request(
            cfg["api_method"], self.url(path or cfg["api"]), data=body, headers=headers
        ) as r:
            raw, status = await r.read(), r.status
        if status != 200:
            raise FlowError(f"api_http_{status}", raw[:200].decode("latin1"))
        if cfg["api_expect"] and cfg["api_expect"].encode() not in raw:
            raise FlowError("api_unexpected_body", raw[:200].decode("latin1"))


def new_session(concurrency: int) -> aiohttp.ClientSession:
    conn = aiohttp.TCPConnector(limit=max(1, concurrency), ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=conn,
        timeout=aiohttp.ClientTimeout(total=30),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )


async def run_loop(
    cfg: dict,
    base_cookies: dict | list[dict],
    mode: str,
    concurrency: int,
    duration: float,
    max_items: int | None = None,
    codes: list | None = None,
    token: str | None = None,
    path: str | None = None,
) -> dict:
    """One bounded closed-loop run: `concurrency` workers, each repeating `mode` until the deadline.

    With a list of cookie jars, worker i signs in as user i (modulo the list): on our platform an
    installation has one live token, so workers sharing one account's installation would revoke
    each other's tokens; one account per worker measures independent installs."""
    duration = min(duration, MAX_MINT_SECONDS if mode == "mint" else MAX_DURATION)
    async with new_session(concurrency) as session:
        jars = base_cookies if isinstance(base_cookies, list) else [base_cookies]
        ok, errors, samples, lat = 0, {}, {}, []
        steps: dict[str, list[float]] = {}
        minted: list[dict] = []
        started = 0
        pool = list(reversed(codes)) if codes is not None else None
        deadline = time.perf_counter() + duration

        def take() -> bool:
            nonlocal started
            if time.perf_counter() >= deadline or (max_items is not None and started >= max_items):
                return False
            if pool is not None and not pool:
                return False
            started += 1
            return True

        async def worker(index: int) -> None:
            nonlocal ok
            cl = Client(cfg, session)
            cl.base_cookies = jars[index % len(jars)]
            while take():
                t0 = time.perf_counter()
                try:
                    if mode == "token":
                        item = pool.pop()
                        await cl.exchange(item["code"], item.get("verifier"))
                    elif mode == "api":
                        await cl.api(token, path)
                    else:
                        code, ver, st = await cl.get_code()
                        if mode == "mint":
                            minted.append({"code": code, "verifier": ver})
                        else:
                            t1 = time.perf_counter()
                            tok = await cl.exchange(code, ver)
                            t2 = time.perf_counter()
                            await cl.api(tok)
                            st["token"], st["api"] = t2 - t1, time.perf_counter() - t2
                            for k, v in st.items():
                                steps.setdefault(k, []).append(v)
                    lat.append(time.perf_counter() - t0)
                    ok += 1
                except FlowError as e:
                    errors[e.kind] = errors.get(e.kind, 0) + 1
                    samples.setdefault(e.kind, e.detail[:200])
                except (TimeoutError, aiohttp.ClientError, OSError) as e:
                    k = "net:" + type(e).__name__
                    errors[k] = errors.get(k, 0) + 1
                    samples.setdefault(k, str(e)[:200])

        t_start = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    res = {
        "ok": ok,
        "errors": errors,
        "duration_s": round(elapsed, 2),
        "rate_per_s": round(ok / elapsed, 1) if elapsed else None,
        "latency_ms": lat_summary(lat),
    }
    if steps:
        res["step_p50_ms"] = {k: lat_summary(v)["p50"] for k, v in steps.items()}
    if samples:
        res["error_samples"] = samples
    if mode == "mint":
        res["codes"] = minted
    if pool is not None:
        res["exhausted"] = not pool and elapsed < duration - 0.5
    return res


# ----------------------------------------------------------------------------------- wrk
def _to_ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        return float("nan")
    x, u = float(m.group(1)), m.group(2)
    return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[u]


def run_wrk(url: str, concurrency: int, duration: float, script: str, env: dict) -> dict:
    check_loopback(url)
    d = int(min(duration, MAX_DURATION))
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{d}s", "--latency", "--timeout", "10s", "-s", script, url]
    r = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env}, timeout=d + 60)
    out = r.stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not m:
        raise RuntimeError(f"wrk failed: {out[-500:]} {r.stderr[-500:]}")
    nreq = int(m.group(1))
    secs = _to_ms(m.group(2) + m.group(3)) / 1000
    res = {"requests": nreq, "duration_s": round(secs, 2), "latency_ms": {}}
    for q in ("50", "90", "99"):
        mq = re.search(rf"^\s+{q}%\s+(\S+)", out, re.M)
        res["latency_ms"][f"p{q}"] = round(_to_ms(mq.group(1)), 2) if mq else None
    mn = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["non2xx"] = int(mn.group(1)) if mn else 0
    ms = re.search(r"Socket errors: (.*)", out)
    res["socket_errors"] = ms.group(1).strip() if ms else ""
    mb = re.search(r"bad_responses=(\d+)", out)
    res["bad"] = int(mb.group(1)) if mb else None
    mc = re.search(r"codes_loaded=(\d+)", out)
    res["codes_loaded"] = int(mc.group(1)) if mc else None
    return res


# ------------------------------------------------------------------------- our server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_server_bin(given: str | None) -> str:
    for cand in (
        given,
        os.path.join(REPO, ".venv", "bin", "orderchamp-auth"),
        shutil.which("orderchamp-auth"),
    ):
        if cand and os.path.exists(cand):
            return cand
    sys.exit("orderchamp-auth not found: pass --server-bin")


class OurServer:
    """`orderchamp-auth serve` on a free loopback port, a fresh database (see BenchDatabase), demo data.

    ``baseline``: the same command run by benchmarks/serve_with_baseline.py with the server's own
    interpreter, which mounts the graphql-core baseline at BASELINE_PATH."""

    def __init__(self, server_bin: str, workers: int, port: int | None = None, extra_env: dict | None = None,
                 baseline: bool = False):
        self.bin, self.workers = server_bin, workers
        self.serve = [server_bin]
        if baseline:
            python = os.path.join(os.path.dirname(server_bin), "python")
            if not os.path.exists(python):
                sys.exit(f"--baseline needs the server's interpreter next to it: {python} not found")
            self.serve = [python, os.path.join(HERE, "serve_with_baseline.py")]
        self.port = port or free_port()
        self.tmp = tempfile.mkdtemp(prefix="oc-bench-")
        self.database = BenchDatabase(self.tmp, os.environ.get("DATABASE_URL"))
        self.env = {
            **os.environ,
            "ORDERCHAMP_SECRET_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": self.database.url,
            "ORDERCHAMP_WEB_URL": f"http://127.0.0.1:{self.port}",
            **(extra_env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self) -> dict:
        logf = open(os.path.join(self.tmp, "serve.log"), "w")
        self.proc = subprocess.Popen(
            [
                *self.serve,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=self.tmp,
            env=self.env,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{self.port}/healthz"
        for _ in range(150):  # <= 30 s
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited early, see {self.tmp}/serve.log")
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    if b" 200 " in s.recv(200):
                        break
            time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit(f"server not healthy at {url}")
        out = subprocess.run(
            [self.bin, "demo", "--json"],
            cwd=self.tmp,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            self.stop()
            raise SystemExit(f"demo seeding failed: {out.stderr[-800:]}")
        demo = json.loads(out.stdout)
        demo["bench_users"] = []
        for i in range(BENCH_ACCOUNTS):
            email = f"bench{i}@bench.orderchamp.test"
            made = subprocess.run(
                [self.bin, "account", "create", "--name", f"Bench shop {i}", "--user-email", email,
                 "--user-password", DEMO_PASSWORD, "--json"],
                cwd=self.tmp, env=self.env, capture_output=True, text=True, timeout=120,
            )
            if made.returncode != 0:
                self.stop()
                raise SystemExit(f"bench account failed: {made.stderr[-800:]}")
            demo["bench_users"].append(email)
        return demo

    @property
    def sid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: server + its workers
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None
        self.database.drop()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ------------------------------------------------------------------------ measurements
def record(
    a: argparse.Namespace, test: str, client: str, conc: int, res: dict, cpu: CpuMeter | None, **extra: object
) -> dict:
    rec = {"target": a.label or a.target, "test": test, "client": client, "conc": conc, **res, **extra}
    if cpu is not None:
        rec["client_cores"], rec["server_cores"] = cpu.client_cores, cpu.server_cores
        rec["other_cores"] = cpu.other_cores
    rec["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    return rec


def measure_api(a, cfg, cookies, token, conc, path, label_test, sid) -> dict:
    if path != cfg["api"]:  # a baseline: its own query (the one it answers), no token
        cfg = dict(cfg, api_query=a.baseline_query or cfg["api_query"],
                   api_expect=BASELINE_EXPECT if a.baseline_query == BASELINE_QUERY else None)
    expect = cfg["api_expect"]
    if a.client == "wrk":
        env = {"WRK_METHOD": cfg["api_method"], "WRK_EXPECT": expect or ""}
        if token:
            env["WRK_BEARER"] = token
        if cfg["api_method"] == "POST":
            env["WRK_BODY"], env["WRK_CONTENT_TYPE"] = (
                json.dumps({"query": cfg["api_query"]}),
                "application/json",
            )
        wait_quiet(a, sid)
        with CpuMeter(sid) as cpu:
            w = run_wrk(cfg["base"] + path, conc, a.duration, REQUEST_LUA, env)
        bad = (w["bad"] or 0) if w["bad"] is not None else w["non2xx"]
        ok = w["requests"] - bad
        res = {
            "ok": ok,
            "errors": {"bad_response": bad} if bad else {},
            "duration_s": w["duration_s"],
            "rate_per_s": round(ok / w["duration_s"], 1),
            "latency_ms": w["latency_ms"],
        }
        if w["socket_errors"]:
            res["socket_errors"] = w["socket_errors"]
    else:
        wait_quiet(a, sid)
        with CpuMeter(sid) as cpu:
            c2 = dict(cfg, api_expect=expect)
            res = asyncio.run(run_loop(c2, cookies, "api", conc, a.duration, token=token, path=path))
    return record(a, label_test, a.client, conc, res, cpu, path=path)


def mint(a, cfg, cookies, n: int) -> tuple[list, float]:
    res = asyncio.run(run_loop(cfg, cookies, "mint", a.mint_concurrency, MAX_MINT_SECONDS, max_items=n))
    if res["errors"]:
        log(f"  mint errors: {res['errors']} {res.get('error_samples')}")
    return res["codes"], res["rate_per_s"] or 0.0


def measure_token(a, cfg, cookies, conc, sid, est: float) -> dict:
    need = int(min(a.max_mint, max(200, est * a.duration * 1.5)))
    for attempt in (1, 2):
        t0 = time.perf_counter()
        codes, mint_rate = mint(a, cfg, cookies, need)
        log(f"  minted {len(codes)} codes in {time.perf_counter() - t0:.1f}s ({mint_rate}/s)")
        if a.client == "wrk":
            fd, path = tempfile.mkstemp(prefix="oc-codes-", suffix=".jsonl")
            with os.fdopen(fd, "w") as fh:
                for c in codes:
                    fh.write(json.dumps(c) + "\n")
            env = {
                "CODES_FILE": path,
                "CLIENT_ID": cfg["client_id"],
                "CLIENT_SECRET": cfg["client_secret"],
                "REDIRECT_URI": cfg["redirect_uri"],
            }
            try:
                wait_quiet(a, sid)
                with CpuMeter(sid) as cpu:
                    w = run_wrk(cfg["base"] + cfg["token"], conc, a.duration, TOKEN_LUA, env)
            finally:
                os.unlink(path)
            usable = len(codes) - 1  # token_wrk.lua's first request() at start-up is never sent
            overflow = max(0, w["requests"] - usable)
            bad = w["non2xx"] - overflow
            ok = w["requests"] - w["non2xx"]
            exhausted = overflow > 0
            res = {
                "ok": ok,
                "errors": {"non2xx": bad} if bad else {},
                "duration_s": w["duration_s"],
                "rate_per_s": round(ok / w["duration_s"], 1),
                "latency_ms": w["latency_ms"],
                "exhausted": exhausted,
            }
        else:
            wait_quiet(a, sid)
            with CpuMeter(sid) as cpu:
                res = asyncio.run(run_loop(cfg, cookies, "token", conc, a.duration, codes=codes))
            exhausted = res["exhausted"]
        if not exhausted or attempt == 2 or need >= a.max_mint:
            break
        log(f"  code pool ran out ({need}); retrying with a bigger pool")
        need = int(min(a.max_mint, need * 2.2))
    return record(a, "token", a.client, conc, res, cpu, minted=len(codes), mint_rate=mint_rate)


def measure_flow(a, cfg, cookies, conc, sid) -> dict:
    wait_quiet(a, sid)
    with CpuMeter(sid) as cpu:
        res = asyncio.run(run_loop(cfg, cookies, "flow", conc, a.duration))
    return record(a, "flow", "aiohttp", conc, res, cpu)


# --------------------------------------------------------------------------------- output
def fmt_table(recs: list[dict]) -> str:
    head = [
        "target",
        "test",
        "client",
        "conc",
        "rate/s",
        "p50 ms",
        "p99 ms",
        "ok",
        "errors",
        "cli cores",
        "srv cores",
        "other cores",
        "note",
    ]
    rows = []
    for r in recs:
        errs = sum(r.get("errors", {}).values())
        note = []
        if r.get("exhausted"):
            note.append("POOL EXHAUSTED (lower bound)")
        if r["test"] == "flow" and r.get("step_p50_ms"):
            note.append("steps p50 " + "/".join(f"{k}={v}" for k, v in r["step_p50_ms"].items()))
        if r.get("path") and r["test"] != "api":
            note.append(r["path"])
        if r.get("query"):
            note.append(f"{r['query']}, response cache {r.get('cache')}")
        if r.get("ratio_to_baseline") is not None:
            note.append(f"api/baseline={r['ratio_to_baseline']}")
        if errs:
            note.append(json.dumps(r["errors"])[:80])
        lat = r.get("latency_ms", {})
        rows.append(
            [
                r["target"],
                r["test"],
                r["client"],
                str(r["conc"]),
                f"{r['rate_per_s']}",
                str(lat.get("p50")),
                str(lat.get("p99")),
                str(r["ok"]),
                str(errs),
                str(r.get("client_cores", "")),
                str(r.get("server_cores", "")),
                str(r.get("other_cores", "")),
                "; ".join(note),
            ]
        )
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def emit(a, rec: dict, out_fh) -> None:
    line = json.dumps(rec)
    if out_fh:
        out_fh.write(line + "\n")
        out_fh.flush()
    if a.json:
        print(line, flush=True)
    lat = rec.get("latency_ms", {})
    log(
        f"[{rec['target']}] {rec['test']:<8} c={rec['conc']:<3} {rec['rate_per_s']}/s "
        f"p50={lat.get('p50')} p99={lat.get('p99')} ok={rec['ok']} errors={rec.get('errors')} "
        f"cores cli/srv/other={rec.get('client_cores')}/{rec.get('server_cores')}/{rec.get('other_cores')}"
    )


# ----------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=sorted(TARGETS), default="ours", help="server kind (default ours)")
    ap.add_argument("--label", help="name shown in the output (default: the target)")
    ap.add_argument(
        "--start",
        action="store_true",
        help="ours only: start `orderchamp-auth serve` on a free port (fresh SQLite in a temp dir, "
        "demo data) for this run and stop it afterwards",
    )
    ap.add_argument("--workers", type=int, default=2, help="--start: server workers (default 2)")
    ap.add_argument("--server-bin", help="--start: path of orderchamp-auth (default: the repo's .venv)")
    ap.add_argument(
        "--server-sid",
        type=int,
        help="session id (setsid leader PID) of a running server, to report its CPU use",
    )
    ap.add_argument("--base", help="server origin, e.g. http://127.0.0.1:8000 (loopback only)")
    ap.add_argument("--demo-json", help="file with the output of `orderchamp-auth demo --json` (ours)")
    ap.add_argument("--client-id")
    ap.add_argument("--client-secret")
    ap.add_argument("--redirect-uri")
    ap.add_argument("--email", default=DEMO_EMAIL, help="ours: the user who logs in once")
    ap.add_argument("--password", default=DEMO_PASSWORD)
    ap.add_argument("--scope")
    ap.add_argument("--api-query", help=f"ours: GraphQL query for the api test (default {ACCOUNT_QUERY!r})")
    ap.add_argument("--api-expect", help="substring every api response must contain")
    ap.add_argument(
        "--baseline-path",
        action="append",
        default=[],
        help="also measure this path (same method, --baseline-query as the body, no token) after "
        "each api run and report api/baseline; repeatable",
    )
    ap.add_argument(
        "--baseline-query",
        default=BASELINE_QUERY,
        help=f"the query sent to a baseline path (default {BASELINE_QUERY!r}, the one "
        "benchmarks/graphql_baseline.py answers; '' sends the api query)",
    )
    ap.add_argument(
        "--baseline",
        action="store_true",
        help=f"with --start: serve with the graphql-core baseline mounted at {BASELINE_PATH} "
        "(benchmarks/serve_with_baseline.py) and measure it after each api run",
    )
    ap.add_argument(
        "--ratios",
        action="store_true",
        help="issue 3's API ratios in one command: starts the server with the baseline twice (response "
        "cache on, then off: ORDERCHAMP_API_RESPONSE_CACHE_MB=0; rate limits off unless "
        "ORDERCHAMP_RATE_LIMITS is set) and measures each of "
        + ", ".join(RATIO_QUERIES) + " right before the baseline; prints api/baseline per pair",
    )
    ap.add_argument("-c", "--concurrency", default="16", help="comma list, e.g. 16,64 (default 16)")
    ap.add_argument(
        "-d", "--duration", type=float, default=10.0, help="seconds per measurement (default 10, max 120)"
    )
    ap.add_argument("--tests", default="api,token,flow", help="comma list of api,token,flow (default all)")
    ap.add_argument(
        "--client",
        choices=["wrk", "py"],
        default=None,
        help="client for the api and token tests (default wrk if installed); flows always use aiohttp",
    )
    ap.add_argument("--mint-concurrency", type=int, default=16)
    ap.add_argument("--max-mint", type=int, default=60000, help="upper bound of codes minted per token run")
    ap.add_argument("--runs", type=int, default=1, help="repeat each measurement (default 1)")
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each measurement wait up to this many seconds for the rest of the box to "
        "use < --noise-limit cores, and measure once more if it was busier meanwhile "
        "(default 0: off; compare.py uses 120)",
    )
    ap.add_argument("--noise-limit", type=float, default=0.3, help="cores (default 0.3)")
    ap.add_argument("--json", action="store_true", help="print JSON lines on stdout instead of the table")
    ap.add_argument("--out", help="append the JSON lines to this file")
    a = ap.parse_args(argv)
    a.duration = max(1.0, min(a.duration, MAX_DURATION))
    a.concs = [int(c) for c in str(a.concurrency).split(",") if c]
    a.test_list = [t for t in a.tests.split(",") if t]
    if unknown := set(a.test_list) - {"api", "token", "flow"}:
        ap.error(f"unknown tests {unknown}")
    if a.client is None:
        a.client = "wrk" if shutil.which("wrk") else "py"
    if a.ratios:
        a.start, a.baseline, a.test_list = True, True, ["api"]
    if a.start and a.target != "ours":
        ap.error("--start only starts our server; start a peer with its run_*.sh")
    if a.baseline:
        if not a.start:
            ap.error("--baseline starts the server with the baseline mounted: use it with --start")
        if BASELINE_PATH not in a.baseline_path:
            a.baseline_path.append(BASELINE_PATH)
    return a


def build_config(a: argparse.Namespace, demo: dict | None) -> dict:
    cfg = dict(TARGETS[a.target])
    if demo:
        cfg["base"] = demo.get("web_url", cfg.get("base"))
        cfg["client_id"], cfg["client_secret"] = demo["client_id"], demo["client_secret"]
        cfg["redirect_uri"] = demo["redirect_urls"][0]
        sup = demo.get("users", {}).get("supplier", {})
        a.email, a.password = sup.get("email", a.email), sup.get("password", a.password)
    for key, val in (
        ("base", a.base),
        ("client_id", a.client_id),
        ("client_secret", a.client_secret),
        ("redirect_uri", a.redirect_uri),
        ("scope", a.scope),
        ("api_query", a.api_query),
        ("api_expect", a.api_expect),
    ):
        if val:
            cfg[key] = val
    missing = [k for k in ("base", "client_id", "client_secret", "redirect_uri") if not cfg.get(k)]
    if missing:
        sys.exit(
            f"missing {missing}: use --start, --demo-json or --base/--client-id/--client-secret/--redirect-uri"
        )
    cfg["base"] = cfg["base"].rstrip("/")
    check_loopback(cfg["base"])
    return cfg


def connect(a: argparse.Namespace, cfg: dict, demo: dict | None) -> tuple[dict | list[dict], str]:
    """One checked flow (its token is the api test's), the loops' users signed in, a warm-up."""

    async def prepare() -> tuple[dict, str]:
        async with new_session(4) as session:
            cl = Client(cfg, session)
            if cfg["login"]:
                await cl.login(a.email, a.password)
            code, ver, _ = await cl.get_code()
            tok = await cl.exchange(code, ver)
            await cl.api(tok)
            return cl.base_cookies, tok

    supplier_cookies, token = asyncio.run(prepare())
    log(f"one flow OK against {cfg['base']} (client {cfg['client_id']})")

    async def sign_in_bench_users() -> list[dict]:
        jars = []
        async with new_session(4) as session:
            for email in (demo or {}).get("bench_users", []):
                cl = Client(cfg, session)
                await cl.login(email, DEMO_PASSWORD)
                jars.append(cl.base_cookies)
        return jars

    # The API's token belongs to the demo supplier's installation, which the loops never touch
    # when there are bench users (--start); a server of someone else's runs them as its supplier.
    cookies: dict | list[dict] = (asyncio.run(sign_in_bench_users()) if cfg["login"] else []) or supplier_cookies
    # warm-up (not reported): a few flows and API calls
    asyncio.run(run_loop(cfg, cookies, "flow", 4, 2.0))
    asyncio.run(run_loop(cfg, cookies, "api", 4, 1.0, token=token))
    return cookies, token


def measure_api_and_baselines(a, cfg, cookies, token, conc, sid, out_fh, **labels: object) -> list[dict]:
    """One api run and, right after it, each baseline's; the api record gets api/baseline."""
    rec = guarded(a, lambda: measure_api(a, cfg, cookies, token, conc, cfg["api"], "api", sid))
    rec.update(labels)
    recs = [rec]
    for bpath in a.baseline_path:
        b = guarded(a, lambda p=bpath: measure_api(a, cfg, cookies, None, conc, p, "baseline", sid))
        b.update(labels)
        if b["rate_per_s"]:
            rec["ratio_to_baseline"] = round(rec["rate_per_s"] / b["rate_per_s"], 3)
            rec.setdefault("baseline_rate_per_s", b["rate_per_s"])
            b["api_rate_per_s"] = rec["rate_per_s"]
        recs.append(b)
        emit(a, b, out_fh)
    emit(a, rec, out_fh)
    return recs


def load_test_limits() -> dict[str, str]:
    """The rate limits stay on (their cost is part of every request's figure), with a bucket
    no load test can drain: with Orderchamp's 1000 points restoring 50/s, a load test would
    measure the throttle. ORDERCHAMP_RATE_LIMITS or ORDERCHAMP_RATE_LIMIT_BUCKET in the
    environment take precedence."""
    if "ORDERCHAMP_RATE_LIMITS" in os.environ or "ORDERCHAMP_RATE_LIMIT_BUCKET" in os.environ:
        return {}
    return {"ORDERCHAMP_RATE_LIMIT_BUCKET": "10000000", "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE": "10000000"}


def api_ratios(a: argparse.Namespace, out_fh) -> list[dict]:
    """Issue 3's figures: each of RATIO_QUERIES, then the baseline, response cache on and off
    (one server each, started with the baseline mounted)."""
    recs: list[dict] = []
    # A page of 50 products costs more than a bucket restores per second: the ratio is of the
    # engine, and the rate limits' cost has a figure of its own (README, "Rate limits").
    limits = {} if "ORDERCHAMP_RATE_LIMITS" in os.environ else {"ORDERCHAMP_RATE_LIMITS": "0"}
    for cache, env in (("on", {}), ("off", {"ORDERCHAMP_API_RESPONSE_CACHE_MB": "0"})):
        server = OurServer(find_server_bin(a.server_bin), a.workers, extra_env={**limits, **env}, baseline=True)
        try:
            demo = server.start()
            log(f"started orderchamp-auth with the baseline on :{server.port} ({a.workers} workers, "
                f"response cache {cache}, {server.tmp})")
            cfg = build_config(a, demo)
            cookies, token = connect(a, cfg, demo)
            for run in range(1, a.runs + 1):
                for name, (query, expect) in RATIO_QUERIES.items():
                    qcfg = dict(cfg, api_query=query, api_expect=expect)
                    asyncio.run(run_loop(qcfg, cookies, "api", 4, 1.0, token=token))  # its document cached
                    for conc in a.concs:
                        recs += measure_api_and_baselines(a, qcfg, cookies, token, conc, server.sid, out_fh,
                                                          run=run, query=name, cache=cache)
        finally:
            server.stop()
    return recs


def fmt_ratios(recs: list[dict]) -> str:
    lines = ["query       cache  conc  run  api/s      baseline/s  api/baseline",
             "----------  -----  ----  ---  ---------  ----------  ------------"]
    for r in recs:
        if r["test"] != "api":
            continue
        lines.append(f"{r.get('query', ''):10s}  {r.get('cache', ''):5s}  {r['conc']:<4d}  {r.get('run', 1):<3d}  "
                     f"{r['rate_per_s']:<9}  {r.get('baseline_rate_per_s', ''):<10}  "
                     f"{r.get('ratio_to_baseline', '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    server = None
    demo = None
    if a.demo_json:
        with open(a.demo_json) as fh:
            demo = json.load(fh)
    out_fh = open(a.out, "a") if a.out else None
    recs: list[dict] = []
    try:
        if a.ratios:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
            recs = api_ratios(a, out_fh)
            if not a.json:
                print(fmt_table(recs))
                print()
                print(fmt_ratios(recs))
            return 0
        if a.start:
            server = OurServer(find_server_bin(a.server_bin), a.workers, extra_env=load_test_limits(),
                               baseline=a.baseline)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
            demo = server.start()
            log(f"started orderchamp-auth on :{server.port} ({a.workers} workers, {server.tmp})")
        sid = server.sid if server else a.server_sid
        cfg = build_config(a, demo)
        cookies, token = connect(a, cfg, demo)

        est_token = 0.0
        if "token" in a.test_list:  # calibrate the code pool: exchange 300 codes with the Python client
            codes, _ = mint(a, cfg, cookies, 300)
            cal = asyncio.run(run_loop(cfg, cookies, "token", 16, 10.0, codes=codes))
            est_token = (cal["rate_per_s"] or 1.0) * (2.5 if a.client == "wrk" else 1.1)
            log(f"calibration: ~{cal['rate_per_s']} exchanges/s with the Python client")

        for run in range(1, a.runs + 1):
            for test in ("api", "token", "flow"):
                if test not in a.test_list:
                    continue
                for conc in a.concs:
                    if test == "api":
                        recs += measure_api_and_baselines(a, cfg, cookies, token, conc, sid, out_fh, run=run)
                    elif test == "token":
                        rec = guarded(
                            a, lambda c=conc, e=est_token: measure_token(a, cfg, cookies, c, sid, e)
                        )
                        rec["run"] = run
                        recs.append(rec)
                        emit(a, rec, out_fh)
                        est_token = max(est_token, rec["rate_per_s"] or 0.0)  # size the next pool from it
                    else:
                        rec = guarded(a, lambda c=conc: measure_flow(a, cfg, cookies, c, sid))
                        rec["run"] = run
                        recs.append(rec)
                        emit(a, rec, out_fh)
    finally:
        if server:
            server.stop()
        if out_fh:
            out_fh.close()
    if not a.json:
        print(fmt_table(recs))
    return 0

if __name__ == "__main__":
    sys.exit(main())

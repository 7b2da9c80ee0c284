"""Test helpers: a live server on loopback, a world of accounts and apps, a browser-like client."""

from __future__ import annotations

import html
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx

from orderchamp_auth.protocol.scopes import ScopeSet
from orderchamp_auth.server.admin import create_account, create_user
from orderchamp_auth.server.oauth.apps import create_app
from orderchamp_auth.server.oauth.private_tokens import create_private_token
from orderchamp_auth.server.ratelimit.bucket import Limits
from orderchamp_auth.server.ratelimit.limiter import BucketStore
from orderchamp_auth.server.ratelimit.local import LocalBuckets
from orderchamp_auth.server.ratelimit.redis_buckets import RedisBuckets
from orderchamp_auth.server.settings import Settings
from orderchamp_auth.server.store.database import utcnow
from orderchamp_auth.server.web.platform import Platform

PASSWORD = "correct horse battery"
TEST_SECRET_KEY = "test-secret-key-for-orderchamp-auth-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Set (CI's PostgreSQL run): the rate-limit tests keep their buckets in this Redis.
TEST_REDIS_URL = os.environ.get("ORDERCHAMP_TEST_REDIS_URL") or None


def bucket_store(limits: Limits, clock: Callable[[], float]) -> BucketStore:
    """The buckets a rate-limit test runs against: in Redis when ``TEST_REDIS_URL`` is set (keys
    of the test's own, the test's clock sent to the script), else in this process."""
    if TEST_REDIS_URL is None:
        return LocalBuckets(limits, clock=clock)
    return RedisBuckets(TEST_REDIS_URL, limits, timeout=2.0, redis_clock=clock,
                        key_prefix=f"test-{uuid.uuid4().hex}:")


TEST_WEBHOOK_HOSTS = (("hooks.example.com", "93.184.216.34"), ("stock.example.com", "93.184.216.34"),
                      ("intranet-hooks.example.com", "10.0.0.5"))


def make_settings(database_url: str, port: int, **overrides: object) -> Settings:
    base = f"http://127.0.0.1:{port}"
    values: dict[str, object] = dict(
        database_url=database_url,
        secret_keys=(TEST_SECRET_KEY,),
        web_url=base,
        api_url=f"{base}/v1",
        login_max_failures_per_address=10_000,
        # No delivery worker in the tests' servers: the webhook tests start their own.
        webhook_worker=False,
        # The example names the tests subscribe with, answered without DNS (none here).
        webhook_hosts=TEST_WEBHOOK_HOSTS,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@dataclass
class LiveServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: str

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far, all its threads (Linux's /proc; one
        worker: uvicorn serves in this very process). A load on the machine stretches how long
        a request takes far more than what it costs the server."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_live_server(settings: Settings, port: int, log_path: str, workers: int = 1,
                      extra_env: dict[str, str] | None = None) -> LiveServer:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        ORDERCHAMP_SECRET_KEY=",".join(settings.secret_keys),
        ORDERCHAMP_WEB_URL=settings.web_url,
        ORDERCHAMP_API_URL=settings.api_url,
        ORDERCHAMP_LOGIN_MAX_FAILURES_PER_ADDRESS=str(settings.login_max_failures_per_address),
        ORDERCHAMP_WRITE_LOCK_TIMEOUT_MS=str(settings.write_lock_timeout_ms),
        ORDERCHAMP_RATE_LIMITS="1" if settings.rate_limits else "0",
        ORDERCHAMP_RATE_LIMIT_BUCKET=str(settings.rate_limit_capacity),
        ORDERCHAMP_RATE_LIMIT_RESTORE_RATE=str(settings.rate_limit_restore_rate),
        ORDERCHAMP_RATE_LIMIT_MAX_QUERY_COST=str(settings.rate_limit_max_query_cost),
        ORDERCHAMP_REDIS_URL=settings.redis_url or "",
        ORDERCHAMP_WEBHOOK_WORKER="1" if settings.webhook_worker else "0",
        ORDERCHAMP_WEBHOOK_HOSTS=",".join(f"{name}={ip}" for name, ip in settings.webhook_hosts),
    )
    env.update(extra_env or {})
    cmd = [sys.executable, "-m", "uvicorn", "orderchamp_auth.server.app:create_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--workers", str(workers)]
    log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {open(log_path).read()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return LiveServer(base, process, log_path)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass
class Supplier:
    account_id: int
    email: str
    password: str = PASSWORD


@dataclass
class PartnerApp:
    client_id: str
    client_secret: str
    application_url: str
    redirect_uris: list[str]
    partner_id: int
    app_id: int


@dataclass
class World:
    """Creates what a test needs directly through the platform's own services."""

    platform: Platform
    created: list[str] = field(default_factory=list)

    def supplier(self, *, extra_accounts: int = 0) -> Supplier:
        with self.platform.database.write() as db:
            account = create_account(db, name=unique("Shop"))
            user = create_user(db, email=f"{unique('user')}@example.com", password=PASSWORD)
            users = db.users
            users.add_to_account(user.id, account.id)
            for _ in range(extra_accounts):
                users.add_to_account(user.id, create_account(db, name=unique("Other")).id)
            return Supplier(account.id, user.email)

    def app(
        self,
        *,
        verified: bool = True,
        redirect_uris: list[str] | None = None,
        demo_account_id: int | None = None,
        application_url: str = "https://app.example.com/install",
    ) -> PartnerApp:
        uris = redirect_uris or ["https://app.example.com/callback"]
        with self.platform.database.write() as db:
            partners = db.partners
            partner = partners.create(unique("Partner"))
            if demo_account_id is not None:
                partners.link_demo_account(partner.id, demo_account_id)
            app, secret = create_app(
                db, self.platform.client_secrets, partner_id=partner.id, name=unique("App"),
                application_url=application_url, redirect_uris=uris, verified=verified,
            )
            return PartnerApp(app.client_id, secret, application_url, uris, partner.id, app.id)

    def private_token(self, account_id: int, scopes: str) -> str:
        return self.private_token_with_secret(account_id, scopes)[0]

    def private_token_with_secret(self, account_id: int, scopes: str) -> tuple[str, str, int]:
        """A new private token's value, its webhook signing secret and its id."""
        with self.platform.database.write() as db:
            token, value, webhook_secret = create_private_token(
                db, self.platform.secret_box, account_id=account_id, name=unique("token"),
                scopes=ScopeSet.parse(scopes), user_id=None, now=utcnow(),
            )
            return value, webhook_secret, token.id


_INPUT = re.compile(r"<input\b([^>]*)>", re.I)
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')


def form_fields(page: str, action: str | None = None) -> list[tuple[str, str]]:
    """Hidden and prefilled inputs of the first form (or the form posting to ``action``)."""
    forms = re.findall(r"<form\b([^>]*)>(.*?)</form>", page, re.S | re.I)
    for attrs, body in forms:
        if action is not None and f'action="{action}"' not in attrs:
            continue
        fields = []
        for raw in _INPUT.findall(body):
            attr = {k: html.unescape(v) for k, v in _ATTR.findall(raw)}
            if "name" in attr and attr.get("type", "text") in ("hidden", "text") and "value" in attr:
                fields.append((attr["name"], attr["value"]))
        for select_name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
            chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options) or re.search(
                r'<option value="([^"]*)"', options
            )
            if chosen:
                fields.append((select_name, html.unescape(chosen.group(1))))
        return fields
    raise AssertionError(f"no form with action {action!r} in page")


def query_of(location: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(location).query, keep_blank_values=True))


class Browser:
    """A cookie-keeping client that does not follow redirects, like a test of each hop."""

    def __init__(self, base_url: str, client: httpx.Client | None = None) -> None:
        self.base_url = base_url
        self.http = client or httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.http.close()

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        page = self.http.get("/login")
        fields = dict(form_fields(page.text, "/login"))
        fields.update(email=email, password=password)
        return self.http.post("/login", data=fields)

    def csrf(self, path: str = "/backoffice/api") -> str:
        page = self.http.get(path)
        return dict(form_fields(page.text))["csrf_token"]

    def authorize(self, params: dict[str, str]) -> httpx.Response:
        return self.http.get("/oauth/authorize?" + urlencode(params))

    def decide(self, consent_page: str, decision: str, **overrides: str) -> httpx.Response:
        fields = dict(form_fields(consent_page, "/oauth/authorize"))
        fields.update(overrides)
        fields["decision"] = decision
        return self.http.post("/oauth/authorize", data=fields)

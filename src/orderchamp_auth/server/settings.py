"""Settings from the environment (or a ``.env`` file), built once by the app factory."""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from .store import urls

log = logging.getLogger("orderchamp_auth")

SECRET_FILE = "orderchamp-auth.secret"
DATABASE_FILE = "orderchamp-auth.sqlite3"
MAX_CODE_TTL = 300
LOG_FORMATS = ("text", "json")


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_keys: tuple[str, ...]
    web_url: str = "http://127.0.0.1:8000"
    api_url: str = "http://127.0.0.1:8000/v1"
    code_ttl: int = MAX_CODE_TTL
    signature_max_age: int = 300
    session_max_age: int = 12 * 3600
    login_max_failures_per_email: int = 5
    login_max_failures_per_address: int = 20
    login_failure_window: int = 900
    auth_cache_check_interval: float = 1.0
    # per worker, for API responses (api/response_cache.py); 0 turns the cache off
    api_response_cache_mb: int = 32
    # "plans": reads the plan compiler covers run as plans (api/plan.py), the rest on
    # graphql-core; "graphql-core": every request on graphql-core (to compare the two)
    api_engine: str = "plans"
    # how long a write may wait for a lock (off the event loop: store/write_lock.py), then 503
    write_lock_timeout_ms: int = 15000
    data_dir: Path = field(default_factory=Path.cwd)
    # whether ORDERCHAMP_WEB_URL / ORDERCHAMP_API_URL were given, or derived (serve fills them in)
    web_url_given: bool = False
    api_url_given: bool = False
    # one log line per request (server/request_log.py); ``serve`` turns it on
    request_log: bool = False
    # "json": every log line (requests and ``logging`` records) a JSON object (request_log.py)
    log_format: str = "text"
    # the Prometheus metrics on 127.0.0.1:<port> (metrics.py); None: no metrics at all
    metrics_port: int | None = None
    # cost-based rate limits (server/ratelimit, api/cost.py); load_settings turns them on
    rate_limits: bool = False
    rate_limit_capacity: int = 1000  # points a bucket holds
    rate_limit_restore_rate: int = 50  # points a second
    rate_limit_max_query_cost: int = 1000  # a query costing more is refused before it runs
    # client ids whose every request is answered Throttled: a sandbox for apps' handling
    rate_limit_throttled_apps: frozenset[str] = frozenset()
    # buckets in Redis, shared by every host; None: in this host's memory
    redis_url: str | None = None
    # the longest a request waits for Redis before it goes on with the worker's own buckets
    redis_timeout_ms: int = 100
    # webhooks (server/webhooks/): the delivery worker inside each server process; receivers on
    # http://127.0.0.1 / localhost (on under ``serve --demo``); the delays in seconds before
    # each retry (empty: the worker's default schedule); how long a claim is held
    webhook_worker: bool = True
    webhook_allow_loopback: bool = False
    webhook_retry_delays: tuple[float, ...] = ()
    webhook_lease_ms: int = 30_000
    webhook_poll_ms: int = 250
    # fixed answers for webhook host names ("name=IP", like /etc/hosts, checked like any other
    # answer), asked before DNS at subscribe and delivery time: for tests and closed networks
    webhook_hosts: tuple[tuple[str, str], ...] = ()

    @property
    def secret_key(self) -> str:
        """The newest key: it signs and encrypts; older ones still verify and decrypt."""
        return self.secret_keys[0]

    @property
    def secure_cookies(self) -> bool:
        return self.web_url.startswith("https://")

    @property
    def web_origins(self) -> frozenset[str]:
        """The origins a browser may name in ``Origin`` for our own pages: the web URL's, and
        when that is on loopback, its other loopback names on the same port (a demo opened at
        ``localhost`` instead of ``127.0.0.1``: no other site can serve that port)."""
        origin = origin_of(self.web_url)
        parts = urlsplit(self.web_url)
        if origin == "null" or parts.hostname not in _LOOPBACK_NAMES:
            return frozenset({origin})
        port = parts.port or _DEFAULT_PORTS[parts.scheme.lower()]
        return frozenset(origin_of(f"{parts.scheme}://{name}:{port}") for name in ("127.0.0.1", "localhost", "[::1]"))

    @property
    def api_path(self) -> str:
        return urlsplit(self.api_url).path.rstrip("/") or "/v1"

    @property
    def database_display(self) -> str:
        """The database URL as it may be printed: without its password."""
        return urls.redact(self.database_url)

    def with_urls(self, host: str, port: int) -> Settings:
        """Fill the URLs from serve's host and port unless the environment (or .env) set them."""
        if ":" in host:
            host = f"[{host}]"
        web_url = self.web_url if self.web_url_given else f"http://{host}:{port}"
        api_url = self.api_url if self.api_url_given else f"{web_url}/v1"
        return replace(self, web_url=web_url, api_url=api_url)


_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` as browsers serialise an origin (RFC 6454): lower case, the
    default port left out. Anything unparsable gives ``"null"``, which matches no web URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return "null"
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return "null"
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _int(env: dict[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _url(env: dict[str, str], name: str, default: str) -> str:
    """An absolute http(s) URL without query, fragment or credentials (links are built on it)."""
    raw = env.get(name) or default
    try:
        parts = urlsplit(raw)
        _ = parts.port
    except ValueError:
        raise SettingsError(f"{name} is not a valid URL: {raw!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{name} must be an absolute http:// or https:// URL, not {raw!r}")
    if parts.query or parts.fragment or "?" in raw or "#" in raw:
        raise SettingsError(f"{name} must not have a query (?...) or fragment (#...): {raw!r}")
    if parts.username or parts.password:
        raise SettingsError(f"{name} must not contain a user name or password")
    return raw.rstrip("/")


def _flag(env: dict[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "")
    if raw not in ("", "0", "1"):
        raise SettingsError(f"{name} must be 1 (on) or 0 (off), not {raw!r}")
    return default if raw == "" else raw == "1"


def _redis_url(env: dict[str, str]) -> str | None:
    raw = env.get("ORDERCHAMP_REDIS_URL", "").strip()
    if not raw:
        return None
    if urlsplit(raw).scheme not in ("redis", "rediss", "unix"):
        raise SettingsError("ORDERCHAMP_REDIS_URL must be a redis://, rediss:// or unix:// URL")
    return raw


def _delays(env: dict[str, str], name: str) -> tuple[float, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    try:
        delays = tuple(float(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{name} must be seconds separated by commas, such as 60,300,900, not {raw!r}") from None
    if len(delays) > 50 or any(not 0 <= d <= 7 * 86400 for d in delays):
        raise SettingsError(f"{name} must be at most 50 delays of 0 to 604800 seconds each")
    return delays


def _hosts(env: dict[str, str], name: str) -> tuple[tuple[str, str], ...]:
    found = []
    for part in env.get(name, "").split(","):
        if not part.strip():
            continue
        host, _, ip = part.partition("=")
        try:
            ipaddress.ip_address(ip.strip())
        except ValueError:
            raise SettingsError(f"{name} must be name=IP pairs separated by commas, not {part.strip()!r}") from None
        if not host.strip():
            raise SettingsError(f"{name} must be name=IP pairs separated by commas, not {part.strip()!r}")
        found.append((host.strip().lower(), ip.strip()))
    if len(found) > 100:
        raise SettingsError(f"{name} can name at most 100 hosts")
    return tuple(found)


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name) or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _database_url(env: dict[str, str], data_dir: Path) -> str:
    url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / DATABASE_FILE}"
    try:
        urls.parse(url)
    except ValueError as exc:
        raise SettingsError(f"DATABASE_URL {exc}") from None
    return url


def _load_or_create_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    try:
        if path.is_file():
            return path.read_text("utf-8").strip()
        data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value)
    except OSError as exc:
        raise SettingsError(
            f"ORDERCHAMP_SECRET_KEY is not set and {path} cannot be read or created ({exc.strerror}); "
            "set ORDERCHAMP_SECRET_KEY, or ORDERCHAMP_DATA_DIR to a writable directory"
        ) from None
    log.warning(
        "ORDERCHAMP_SECRET_KEY is not set: generated one into %s. Set it explicitly in production.", path
    )
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = dict(environ if environ is not None else os.environ)
    data_dir = Path(env.get("ORDERCHAMP_DATA_DIR") or Path.cwd())
    env = {**_read_dotenv(data_dir / ".env"), **env}
    database_url = _database_url(env, data_dir)
    raw_keys = env.get("ORDERCHAMP_SECRET_KEY")
    if raw_keys:
        # Comma-separated for rotation: the first signs, every one verifies.
        keys = tuple(k.strip() for k in raw_keys.split(",") if k.strip())
    else:
        keys = (_load_or_create_secret(data_dir),)
    if any(len(k) < 16 for k in keys):
        raise SettingsError("ORDERCHAMP_SECRET_KEY must be at least 16 characters")
    web_url = _url(env, "ORDERCHAMP_WEB_URL", "http://127.0.0.1:8000")
    api_url = _url(env, "ORDERCHAMP_API_URL", f"{web_url}/v1")
    return Settings(
        database_url=database_url,
        secret_keys=keys,
        web_url=web_url,
        api_url=api_url,
        code_ttl=_int(env, "ORDERCHAMP_CODE_TTL", MAX_CODE_TTL, low=1, high=MAX_CODE_TTL),
        signature_max_age=_int(env, "ORDERCHAMP_SIGNATURE_MAX_AGE", 300, low=1, high=86400),
        login_max_failures_per_email=_int(env, "ORDERCHAMP_LOGIN_MAX_FAILURES", 5, low=1, high=1000),
        login_max_failures_per_address=_int(env, "ORDERCHAMP_LOGIN_MAX_FAILURES_PER_ADDRESS", 20, low=1, high=100000),
        api_response_cache_mb=_int(env, "ORDERCHAMP_API_RESPONSE_CACHE_MB", 32, low=0, high=4096),
        api_engine=_choice(env, "ORDERCHAMP_API_ENGINE", ("plans", "graphql-core")),
        write_lock_timeout_ms=_int(env, "ORDERCHAMP_WRITE_LOCK_TIMEOUT_MS", 15000, low=1, high=600_000),
        data_dir=data_dir,
        web_url_given=bool(env.get("ORDERCHAMP_WEB_URL")),
        api_url_given=bool(env.get("ORDERCHAMP_API_URL")),
        request_log=_flag(env, "ORDERCHAMP_REQUEST_LOG"),
        log_format=_choice(env, "ORDERCHAMP_LOG_FORMAT", LOG_FORMATS),
        metrics_port=_int(env, "ORDERCHAMP_METRICS_PORT", 0, low=1, high=65535) if env.get("ORDERCHAMP_METRICS_PORT")
        else None,
        rate_limits=_flag(env, "ORDERCHAMP_RATE_LIMITS", default=True),
        rate_limit_capacity=_int(env, "ORDERCHAMP_RATE_LIMIT_BUCKET", 1000, low=1, high=10_000_000),
        rate_limit_restore_rate=_int(env, "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE", 50, low=1, high=10_000_000),
        rate_limit_max_query_cost=_int(env, "ORDERCHAMP_RATE_LIMIT_MAX_QUERY_COST", 1000, low=1, high=10_000_000),
        rate_limit_throttled_apps=frozenset(
            c.strip() for c in env.get("ORDERCHAMP_RATE_LIMIT_THROTTLE_APPS", "").split(",") if c.strip()),
        redis_url=_redis_url(env),
        redis_timeout_ms=_int(env, "ORDERCHAMP_REDIS_TIMEOUT_MS", 100, low=1, high=10_000),
        webhook_worker=_flag(env, "ORDERCHAMP_WEBHOOK_WORKER", default=True),
        webhook_allow_loopback=_flag(env, "ORDERCHAMP_WEBHOOK_ALLOW_LOOPBACK"),
        webhook_retry_delays=_delays(env, "ORDERCHAMP_WEBHOOK_RETRY_DELAYS"),
        # At least twice an attempt's 5 s bound: a lease that ran out while its attempt was still
        # going would let another worker send the delivery a second time.
        webhook_lease_ms=_int(env, "ORDERCHAMP_WEBHOOK_LEASE_MS", 30_000, low=10_000, high=3_600_000),
        webhook_poll_ms=_int(env, "ORDERCHAMP_WEBHOOK_POLL_MS", 250, low=10, high=60_000),
        webhook_hosts=_hosts(env, "ORDERCHAMP_WEBHOOK_HOSTS"),
    )

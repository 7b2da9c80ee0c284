"""One bucket however the API is served: by the two workers of ``serve --workers 2`` (memory
they share), by two servers on one Redis; and with that Redis stopped mid-run the API still
answers, and shares its buckets again once Redis is back.

Each request costs 10 points (ten aliased objects, nothing to refund) against a bucket of 100
that restores 1 point a second: 10 requests pass, and one more only every 10 seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from ..support import World, free_port
from .cli_support import cli_env, serve

TEN_POINTS = "{ %s }" % " ".join(f"a{i}: account {{ name }}" for i in range(10))
LIMITS = {"ORDERCHAMP_RATE_LIMITS": "1", "ORDERCHAMP_RATE_LIMIT_BUCKET": "100",
          "ORDERCHAMP_RATE_LIMIT_RESTORE_RATE": "1"}


def _post(base_url: str, token: str) -> httpx.Response:
    # a connection per request: the kernel spreads them over the workers
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return client.post("/v1/graphql", json={"query": TEN_POINTS}, headers={"authorization": f"Bearer {token}"})


def _burst(base_urls: list[str], token: str, count: int) -> tuple[list[int], float]:
    started = time.monotonic()
    statuses = [_post(base_urls[i % len(base_urls)], token).status_code for i in range(count)]
    return statuses, time.monotonic() - started


def _assert_one_bucket(statuses: list[int], elapsed: float) -> None:
    assert set(statuses) <= {200, 429}
    granted = statuses.count(200)
    # each worker (or server) on its own would let 10 through: together they would pass 20+
    assert 10 <= granted <= 10 + int(elapsed // 10), (statuses, elapsed)


def _serving(env: dict[str, str], *args: str) -> Iterator[str]:
    port = free_port()
    with serve(env, "--port", str(port), *args) as serving:
        serving.wait_for("serving on ")
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def token(platform) -> str:
    world = World(platform)
    return world.private_token(world.supplier().account_id, "account_read")


def test_the_workers_of_one_serve_share_one_bucket(migrated_database_url, token):
    env = cli_env(migrated_database_url, **LIMITS)
    for base_url in _serving(env, "--workers", "2"):
        statuses, elapsed = _burst([base_url], token, 24)
        _assert_one_bucket(statuses, elapsed)
        throttled = _post(base_url, token)
        assert throttled.json()["errors"][0]["message"] == "Throttled"
        assert int(throttled.headers["retry-after"]) >= 1


class OwnRedis:
    """A redis-server of this test's own on a free port (the machine's 6379 is left alone)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def keys(self) -> list[bytes]:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=1).keys("orderchamp:ratelimit:*")


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (.ci/run installs it)")
    server = OwnRedis()
    server.start()
    yield server
    server.stop()


def test_two_servers_on_one_redis_share_one_bucket_and_outlive_redis(migrated_database_url, token, own_redis):
    env = cli_env(migrated_database_url, ORDERCHAMP_REDIS_URL=own_redis.url, **LIMITS)
    servers = _serving(env)
    first = next(servers)
    others = _serving(env)
    second = next(others)
    try:
        statuses, elapsed = _burst([first, second], token, 24)
        _assert_one_bucket(statuses, elapsed)
        assert own_redis.keys(), "the bucket is not in Redis"

        own_redis.stop()
        during = [_post(base, token) for base in (first, second, first, second)]
        # fail open: every request is answered (each server limits on its own meanwhile)
        assert {r.status_code for r in during} == {200}
        assert all(r.json()["data"]["a0"]["name"] for r in during)

        own_redis.start()
        assert own_redis.keys() == []  # a fresh Redis: nothing in it yet
        # both servers come back to Redis by themselves (their pause is bounded): until then
        # their own buckets answer; then the one shared bucket throttles again
        deadline = time.monotonic() + 60
        while not own_redis.keys() and time.monotonic() < deadline:
            _post(first, token)
            _post(second, token)
            time.sleep(0.2)
        assert own_redis.keys(), "the servers did not come back to Redis"
        statuses = [_post(base, token).status_code for base in (first, second) * 12]
        assert 429 in statuses
    finally:
        for generator in (servers, others):
            generator.close()

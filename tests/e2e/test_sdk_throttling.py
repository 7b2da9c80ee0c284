"""The SDK against a real throttling server: it waits what the throttle status says and
retries until the bucket holds the query; with pacing it is not throttled at all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from orderchamp_auth.client import OrderchampClient, RetryPolicy

from ..support import LiveServer, World, free_port, make_settings, start_live_server

TEN_POINTS = "{ %s }" % " ".join(f"a{i}: account {{ name }}" for i in range(10))


@pytest.fixture(scope="module")
def throttling_server(migrated_database_url, tmp_path_factory) -> Iterator[LiveServer]:
    port = free_port()
    # 30 points restoring 100 a second: a burst of 10-point queries is throttled after three,
    # for a tenth of a second each
    settings = replace(make_settings(migrated_database_url, port), rate_limits=True, rate_limit_capacity=30,
                       rate_limit_restore_rate=100)
    server = start_live_server(settings, port, str(tmp_path_factory.mktemp("logs-throttle") / "server.log"))
    yield server
    server.stop()


def _client(server: LiveServer, token: str, answers: list[int], waits: list[float], **options) -> OrderchampClient:
    http = httpx.Client(timeout=10, event_hooks={"response": [lambda r: answers.append(r.status_code)]})

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    return OrderchampClient(token, api_url=f"{server.base_url}/v1", http_client=http, sleep=sleep,
                            retry=RetryPolicy(max_retries=20, max_delay=5), **options)


def test_the_client_waits_and_retries_until_the_bucket_holds_its_query(throttling_server, platform):
    world = World(platform)
    token = world.private_token(world.supplier().account_id, "account_read")
    answers: list[int] = []
    waits: list[float] = []
    with _client(throttling_server, token, answers, waits) as client:
        results = [client.execute(TEN_POINTS) for _ in range(8)]
    assert all(r.data["a0"]["name"] for r in results)
    assert 429 in answers, "the server never throttled: the test proves nothing"
    assert len(waits) == answers.count(429)
    # each wait is what 10 points take at 100 a second, less what the bucket held
    assert all(0 < w <= 0.1 for w in waits)
    assert results[-1].cost.requested == 10


def test_a_pacing_client_is_not_throttled(throttling_server, platform):
    world = World(platform)
    token = world.private_token(world.supplier().account_id, "account_read")
    answers: list[int] = []
    waits: list[float] = []
    with _client(throttling_server, token, answers, waits, pace=True) as client:
        for _ in range(8):
            client.execute(TEN_POINTS)
    assert answers.count(429) == 0
    assert waits, "pacing never waited: the burst was not past the bucket"

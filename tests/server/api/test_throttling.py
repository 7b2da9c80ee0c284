"""The endpoint's rate limit (api/throttle.py) in-process: the Throttled answer, recovery at
the restore rate on a clock the test moves, refunds, the single-query maximum, one bucket per
installation, and the sandbox's forced throttling. With ``ORDERCHAMP_TEST_REDIS_URL`` set (CI's
PostgreSQL run) the buckets are in that Redis, the test's clock sent to its script."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest
from starlette.testclient import TestClient

from orderchamp_auth.server.app import create_app
from orderchamp_auth.server.ratelimit.redis_buckets import RedisBuckets

from ...e2e.api_support import seeded_account
from ...support import World, bucket_store

PAGE_QUERY = "{ products(first: 48) { nodes { id } } }"  # 50 points requested


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def account(platform):
    return seeded_account(World(platform))


@pytest.fixture
def api(settings, platform, account):
    world = World(platform)
    app = create_app(replace(settings, rate_limits=True, rate_limit_capacity=200, rate_limit_restore_rate=10,
                             rate_limit_max_query_cost=150))
    clock = Clock()
    limiter = app.state.graphql.rate_limits.limiter
    store = limiter.store = bucket_store(limiter.limits, clock)
    token = world.private_token(account.account_id, "account_read,products_read")
    with TestClient(app) as client:
        def post(query: str, variables: dict | None = None, bearer: str = token):
            return client.post("/v1/graphql", json={"query": query, "variables": variables},
                               headers={"authorization": f"Bearer {bearer}"})
        post.clock = clock  # type: ignore[attr-defined]
        post.app = app  # type: ignore[attr-defined]
        yield post
        if isinstance(store, RedisBuckets):
            client.portal.call(store.aclose)  # type: ignore[union-attr]
            assert store.failures == 0 and store.round_trips > 0, "Redis did not answer: is it running?"


def test_every_response_carries_its_cost_and_the_throttle_status(api):
    response = api("{ account { name type slug } }")
    body = response.json()
    assert body["data"]["account"]["name"]
    assert body["extensions"]["cost"] == {
        "requestedQueryCost": 1, "actualQueryCost": 1,
        "throttleStatus": {"maximumAvailable": 200.0, "currentlyAvailable": 199, "restoreRate": 10.0}}
    # the extensions are appended as bytes: the same bytes as the whole object serialised
    assert response.content == orjson.dumps(body)
    assert response.headers["content-length"] == str(len(response.content))
    page = api(PAGE_QUERY)
    assert page.content == orjson.dumps(page.json())
    assert page.headers["content-length"] == str(len(page.content))


def test_a_burst_past_the_bucket_is_throttled_and_recovers_at_the_restore_rate(api):
    # 30 products in the seeded catalogue: 50 requested, 32 used, 18 refunded
    answers = [api("{ products(first: 48) { nodes { id } } }") for _ in range(12)]
    statuses = [a.status_code for a in answers]
    assert 200 in statuses and 429 in statuses
    throttled = answers[statuses.index(429)]
    body = throttled.json()
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 50 and cost["actualQueryCost"] is None
    available = cost["throttleStatus"]["currentlyAvailable"]
    assert available < 50
    assert int(throttled.headers["retry-after"]) >= (50 - available) / 10
    assert "data" not in body
    # the restore rate: 10 points a second
    missing = 50 - available
    api.clock.now += (missing - 1) / 10
    assert api(PAGE_QUERY).status_code == 429
    api.clock.now += 0.2
    assert api(PAGE_QUERY).status_code == 200


def test_the_difference_to_the_actual_cost_is_refunded(api):
    first = api(PAGE_QUERY).json()["extensions"]["cost"]
    assert first["requestedQueryCost"] == 50 and first["actualQueryCost"] == 2 + 30
    assert first["throttleStatus"]["currentlyAvailable"] == 200 - 32
    second = api(PAGE_QUERY).json()["extensions"]["cost"]
    assert second["throttleStatus"]["currentlyAvailable"] == 200 - 64


def test_a_query_over_the_single_query_maximum_is_refused_before_it_runs(api):
    response = api("{ products(first: 149) { nodes { id } } }")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "MAX_COST_EXCEEDED", "cost": 151, "maxCost": 150}
    assert "151" in error["message"]
    # nothing was taken from the bucket
    assert api("{ account { name } }").json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 199


def test_a_mutation_costs_ten(api, platform, account):
    token = World(platform).private_token(account.account_id, "account_read,account_write")
    body = api('mutation { accountUpdate(input: {name: "Renamed Shop"}) { account { name } userErrors { field } } }',
               bearer=token).json()
    assert body["extensions"]["cost"]["requestedQueryCost"] == 10 + 1 + 1


def test_tokens_have_buckets_of_their_own(api, platform, account):
    for _ in range(4):
        assert api(PAGE_QUERY).status_code == 200
    other = World(platform).private_token(account.account_id, "products_read")
    assert api(PAGE_QUERY, bearer=other).json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 168


def app_tokens(world: World, account_id: int, count: int) -> tuple[str, list[str]]:
    """An installed app's client id and ``count`` live tokens of its one installation."""
    from orderchamp_auth.protocol.tokens import TokenKind, display_prefix, generate_secret, hash_secret
    from orderchamp_auth.server.store.models import Installation, TokenKindName

    app = world.app()
    values = []
    with world.platform.database.write() as tx:
        installation = Installation(account_id=account_id, app_id=app.app_id, scopes="products_read")
        tx.session.add(installation)
        tx.flush()
        for _ in range(count):
            value = generate_secret(TokenKind.APP_TOKEN)
            tx.tokens.create(token_hash=hash_secret(value), kind=TokenKindName.APP.value,
                                       display_prefix=display_prefix(value), account_id=account_id,
                                       installation_id=installation.id, scopes="products_read")
            values.append(value)
    return app.client_id, values


def test_the_tokens_of_one_installation_share_its_bucket(api, platform, account):
    _, (first, second) = app_tokens(World(platform), account.account_id, 2)
    for _ in range(4):
        assert api(PAGE_QUERY, bearer=first).status_code == 200
    status = api(PAGE_QUERY, bearer=second).json()["extensions"]["cost"]["throttleStatus"]
    assert status["currentlyAvailable"] == 200 - 5 * 32


def test_the_sandbox_setting_throttles_every_request_of_one_app(settings, platform, account):
    world = World(platform)
    client_id, (throttled_token,) = app_tokens(world, account.account_id, 1)
    _, (other_token,) = app_tokens(world, account.account_id, 1)
    app = create_app(replace(settings, rate_limits=True, rate_limit_throttled_apps=frozenset({client_id})))
    with TestClient(app) as client:
        def post(token: str):
            return client.post("/v1/graphql", json={"query": "{ products(first: 1) { nodes { id } } }"},
                               headers={"authorization": f"Bearer {token}"})
        throttled = post(throttled_token)
        assert throttled.status_code == 429 and throttled.json()["errors"][0]["message"] == "Throttled"
        assert post(other_token).status_code == 200

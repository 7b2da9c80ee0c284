"""Throttling and HTTP errors against a real server on loopback (uvicorn, scripted answers)."""

import pytest

from orderchamp_auth.client import (
    AsyncOrderchampClient,
    HTTPStatusError,
    OrderchampClient,
    RetryPolicy,
    ThrottledError,
    UnauthenticatedError,
)

QUERY = "{ account { name } }"
OK = (200, {}, {"data": {"account": {"name": "Little Champs"}}})
TOO_MANY = (
    429,
    {"Retry-After": "2"},
    {"errors": [{"message": "slow down", "extensions": {"code": "THROTTLED"}}]},
)
THROTTLED = (
    200,
    {},
    {"data": None, "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]},
)


def sync_client(api_url: str, waits: list[float], **options) -> OrderchampClient:
    return OrderchampClient("oca_token", api_url=api_url, sleep=waits.append, **options)


def test_http_429_is_retried_after_the_retry_after_delay_then_succeeds(scripted_api):
    api_url, script = scripted_api.script(TOO_MANY, TOO_MANY, OK)
    waits: list[float] = []
    with sync_client(api_url, waits) as client:
        result = client.execute(QUERY)
    assert result.data == {"account": {"name": "Little Champs"}}
    assert waits == [2.0, 2.0]
    assert len(script.requests) == 3
    assert all(r["json"]["query"] == QUERY for r in script.requests)


def test_a_throttled_graphql_error_is_retried_with_exponential_backoff(scripted_api):
    api_url, _ = scripted_api.script(THROTTLED, THROTTLED, THROTTLED, OK)
    waits: list[float] = []
    with sync_client(api_url, waits, retry=RetryPolicy(max_retries=5, backoff_base=0.5)) as client:
        assert client.execute(QUERY).data["account"]["name"] == "Little Champs"
    assert waits == [0.5, 1.0, 2.0]


def test_the_client_gives_up_after_the_retry_bound(scripted_api):
    api_url, script = scripted_api.script(TOO_MANY)
    waits: list[float] = []
    with (
        sync_client(api_url, waits, retry=RetryPolicy(max_retries=3)) as client,
        pytest.raises(ThrottledError) as caught,
    ):
        client.execute(QUERY)
    assert waits == [2.0, 2.0, 2.0]
    assert len(script.requests) == 4
    assert (caught.value.status_code, caught.value.retry_after) == (429, 2.0)


def test_the_client_gives_up_when_the_server_asks_for_a_longer_wait_than_allowed(scripted_api):
    api_url, script = scripted_api.script((429, {"Retry-After": "120"}, {}), OK)
    waits: list[float] = []
    with (
        sync_client(api_url, waits, retry=RetryPolicy(max_delay=30)) as client,
        pytest.raises(ThrottledError),
    ):
        client.execute(QUERY)
    assert waits == [] and len(script.requests) == 1


def test_the_total_wait_is_bounded_too(scripted_api):
    api_url, _ = scripted_api.script(THROTTLED)
    waits: list[float] = []
    policy = RetryPolicy(max_retries=10, backoff_base=1, max_delay=8, max_total_wait=10)
    with sync_client(api_url, waits, retry=policy) as client, pytest.raises(ThrottledError):
        client.execute(QUERY)
    assert waits == [1, 2, 4]


def test_retry_after_as_an_http_date_is_honoured(scripted_api):
    api_url, _ = scripted_api.script((429, {"Retry-After": "Wed, 21 Oct 2015 07:28:05 GMT"}, {}), OK)
    waits: list[float] = []
    moment = 1445412480.0  # 2015-10-21 07:28:00 GMT
    with sync_client(api_url, waits, clock=lambda: moment) as client:
        client.execute(QUERY)
    assert waits == [5.0]


def test_a_real_server_answering_401_raises_unauthenticated(scripted_api):
    api_url, _ = scripted_api.script(
        (
            401,
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
            {"errors": [{"message": "invalid token", "extensions": {"code": "UNAUTHENTICATED"}}]},
        )
    )
    with sync_client(api_url, []) as client, pytest.raises(UnauthenticatedError):
        client.execute(QUERY)


def test_a_real_server_answering_500_raises_http_status_error_without_retrying(scripted_api):
    api_url, script = scripted_api.script((500, {}, "Internal Server Error"), OK)
    with sync_client(api_url, []) as client, pytest.raises(HTTPStatusError) as caught:
        client.execute(QUERY)
    assert caught.value.status_code == 500 and len(script.requests) == 1


def test_requests_carry_the_token_and_user_agent_over_the_wire(scripted_api):
    api_url, script = scripted_api.script(OK)
    with sync_client(api_url, []) as client:
        client.execute(QUERY)
    headers = script.requests[0]["headers"]
    assert headers["authorization"] == "Bearer oca_token"
    assert headers["user-agent"].startswith("orderchamp-auth-python/0.1.0 httpx/")


async def test_the_async_client_retries_throttling_with_an_injected_sleep(scripted_api):
    api_url, script = scripted_api.script(TOO_MANY, THROTTLED, OK)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncOrderchampClient("oca_token", api_url=api_url, sleep=sleep) as client:
        result = await client.execute(QUERY)
    assert result.data["account"]["name"] == "Little Champs"
    assert waits == [2.0, 2.0]  # the second throttle is the 2nd attempt: 1.0 * 2**1
    assert len(script.requests) == 3


async def test_the_async_client_gives_up_after_the_bound(scripted_api):
    api_url, _ = scripted_api.script(TOO_MANY)

    async def sleep(seconds: float) -> None:
        pass

    async with AsyncOrderchampClient(
        "oca_token", api_url=api_url, sleep=sleep, retry=RetryPolicy(max_retries=1)
    ) as client:
        with pytest.raises(ThrottledError):
            await client.execute(QUERY)


def _cost(requested: int, available: float, rate: float = 50.0) -> dict:
    return {"requestedQueryCost": requested, "actualQueryCost": None,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": rate}}


DOCUMENTED = (  # Orderchamp's documented answer: the message only, with the throttle status
    200, {}, {"errors": [{"message": "Throttled"}], "extensions": {"cost": _cost(120, 20.0)}},
)
SERVER_429 = (
    429, {"Retry-After": "3"},
    {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED", "cost": _cost(100, 75.0)}}],
     "extensions": {"cost": _cost(100, 75.0)}},
)
PRICED_OK = (200, {}, {"data": {"account": {"name": "Little Champs"}},
                       "extensions": {"cost": {**_cost(100, 40.0), "actualQueryCost": 100}}})


def test_the_documented_throttled_message_is_retried_after_exactly_what_the_bucket_lacks(scripted_api):
    api_url, script = scripted_api.script(DOCUMENTED, OK)
    waits: list[float] = []
    with sync_client(api_url, waits) as client:
        assert client.execute(QUERY).data["account"]["name"] == "Little Champs"
    assert waits == [pytest.approx((120 - 20) / 50)]
    assert len(script.requests) == 2


def test_the_throttle_status_is_finer_than_retry_after(scripted_api):
    api_url, _ = scripted_api.script(SERVER_429, OK)
    waits: list[float] = []
    with sync_client(api_url, waits) as client:
        client.execute(QUERY)
    assert waits == [pytest.approx(0.5)]


def test_results_expose_their_cost(scripted_api):
    api_url, _ = scripted_api.script(PRICED_OK)
    with sync_client(api_url, []) as client:
        cost = client.execute(QUERY).cost
    assert cost is not None and cost.requested == 100 and cost.actual == 100
    assert cost.throttle_status.currently_available == 40.0 and cost.throttle_status.restore_rate == 50.0


def test_pacing_waits_before_a_query_it_predicts_would_be_throttled(scripted_api):
    api_url, script = scripted_api.script(PRICED_OK, PRICED_OK, PRICED_OK)
    waits: list[float] = []
    now = [100.0]
    with sync_client(api_url, waits, pace=True, clock=lambda: now[0]) as client:
        client.execute(QUERY)  # nothing known yet: sent at once; the bucket is left at 40
        assert waits == []
        now[0] += 0.2  # 10 points back: 50 of the 100 the query costs
        client.execute(QUERY)
        assert waits == [pytest.approx(1.0)]
        client.execute("{ account { slug } }")  # a query it has not seen priced: sent at once
    assert len(waits) == 1 and len(script.requests) == 3


async def test_the_async_client_retries_the_documented_message_too(scripted_api):
    api_url, _ = scripted_api.script(DOCUMENTED, OK)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncOrderchampClient("oca_token", api_url=api_url, sleep=sleep) as client:
        assert (await client.execute(QUERY)).data["account"]["name"] == "Little Champs"
    assert waits == [pytest.approx(2.0)]

"""The sandbox's forced throttling: an installation's app is looked up with an awaited read (the
database's event-loop form, never a blocking read on the loop), once per installation."""

from __future__ import annotations

import asyncio

from orderchamp_auth.server.ratelimit import limiter as limiter_module
from orderchamp_auth.server.ratelimit.bucket import Limits
from orderchamp_auth.server.ratelimit.limiter import RateLimiter
from orderchamp_auth.server.ratelimit.local import LocalBuckets
from orderchamp_auth.server.store.repositories.tokens import TokenGrant

LIMITS = Limits(capacity=100, restore_rate=1.0, max_query_cost=100)
APPS = {1: "throttled-app", 2: "other-app"}


def grant(installation_id: int | None, token_id: int = 7) -> TokenGrant:
    return TokenGrant(token_id=token_id, account_id=1, scopes="", kind="app", installation_id=installation_id)


class Lookups:
    def __init__(self) -> None:
        self.asked: list[int] = []

    async def __call__(self, installation_id: int) -> str | None:
        self.asked.append(installation_id)
        await asyncio.sleep(0)  # a read that suspends, as one in the database's threads does
        return APPS.get(installation_id)


async def test_a_throttled_apps_installation_is_looked_up_once_with_an_awaited_read():
    lookups = Lookups()
    limiter = RateLimiter(LocalBuckets(LIMITS, clock=lambda: 0.0), LIMITS, throttled_apps=frozenset({"throttled-app"}),
                          client_id_of_installation=lookups)
    first, again = await limiter.reserve(grant(1), 10), await limiter.reserve(grant(1), 10)
    assert not first.granted and not again.granted and first.available == 0
    other = await limiter.reserve(grant(2), 10)
    assert other.granted and other.available == 90
    assert (await limiter.reserve(grant(2), 10)).available == 80
    private = await limiter.reserve(grant(None), 10)  # a private token: no installation to look up
    assert private.granted
    assert lookups.asked == [1, 2]


async def test_without_throttled_apps_nothing_is_looked_up():
    lookups = Lookups()
    limiter = RateLimiter(LocalBuckets(LIMITS, clock=lambda: 0.0), LIMITS, client_id_of_installation=lookups)
    assert (await limiter.reserve(grant(1), 10)).granted
    assert lookups.asked == []


async def test_the_remembered_installations_are_bounded(monkeypatch):
    monkeypatch.setattr(limiter_module, "MAX_KNOWN_INSTALLATIONS", 2)
    lookups = Lookups()
    limiter = RateLimiter(LocalBuckets(LIMITS, clock=lambda: 0.0), LIMITS, throttled_apps=frozenset({"throttled-app"}),
                          client_id_of_installation=lookups)
    for installation in (1, 2, 3, 1):
        await limiter.reserve(grant(installation), 1)
    assert len(limiter._client_ids) <= 2
    assert lookups.asked == [1, 2, 3, 1]  # 1 forgotten when the map filled, so looked up again

"""Which bucket a request draws on, and the sandbox's forced throttling.

An app's token draws on its installation's bucket (the app on one account: every token that
installation was issued shares it), a private token on its own. A bucket store is one of
``LocalBuckets``, ``SharedBuckets`` or ``RedisBuckets``, chosen once by the app factory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from ..store.repositories.tokens import TokenGrant
from .bucket import Limits, Reservation

MAX_KNOWN_INSTALLATIONS = 10_000


class BucketStore(Protocol):
    async def reserve(self, key: str, cost: int) -> Reservation: ...

    async def refund(self, key: str, points: int) -> None: ...


def bucket_key(grant: TokenGrant) -> str:
    if grant.installation_id is not None:
        return f"i{grant.installation_id}"
    return f"t{grant.token_id}"


class RateLimiter:
    """``throttled_apps``: client ids whose every request is answered Throttled (the sandbox
    setting that lets a developer see their app's handling), found through
    ``client_id_of_installation`` (a read, remembered: an installation's app never changes)."""

    def __init__(self, store: BucketStore, limits: Limits, *, throttled_apps: frozenset[str] = frozenset(),
                 client_id_of_installation: Callable[[int], str | None] | None = None) -> None:
        self.store = store
        self.limits = limits
        self.throttled_apps = throttled_apps
        self._client_id_of = client_id_of_installation
        self._client_ids: dict[int, str | None] = {}

    def reserve(self, grant: TokenGrant, cost: int) -> Awaitable[Reservation]:
        # the store's own awaitable, not a coroutine around it: a layer less for every request
        if self.throttled_apps and self._is_forced(grant):
            return _ready(Reservation(False, 0.0, self.limits.capacity, self.limits.restore_rate))
        return self.store.reserve(bucket_key(grant), cost)

    async def refund(self, grant: TokenGrant, points: int) -> None:
        if points > 0:
            await self.store.refund(bucket_key(grant), points)

    def _is_forced(self, grant: TokenGrant) -> bool:
        installation = grant.installation_id
        if installation is None or self._client_id_of is None:
            return False
        if installation not in self._client_ids:
            if len(self._client_ids) >= MAX_KNOWN_INSTALLATIONS:
                self._client_ids.clear()
            self._client_ids[installation] = self._client_id_of(installation)
        return self._client_ids[installation] in self.throttled_apps


async def _ready(reservation: Reservation) -> Reservation:
    return reservation

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
    """``reserve_now`` and ``refund_soon`` are the request's path: plain calls, no coroutine
    to make and await (a request is a few tens of µs, and each layer costs a part of one)."""

    def reserve(self, key: str, cost: int) -> Awaitable[Reservation]: ...

    def reserve_now(self, key: str, cost: int) -> Reservation | None:
        """The reservation decided at once, or None when only ``reserve`` can decide it (a remote
        store's answer, a lock another worker holds)."""

    def refund_soon(self, key: str, points: int) -> None:
        """Gives ``points`` back without waiting: applied now, or queued ahead of this worker's
        next reservation."""

    async def refund(self, key: str, points: int) -> None: ...


def bucket_key(grant: TokenGrant) -> str:
    if grant.installation_id is not None:
        return f"i{grant.installation_id}"
    return f"t{grant.token_id}"


class RateLimiter:
    """``throttled_apps``: client ids whose every request is answered Throttled (the sandbox
    setting that lets a developer see their app's handling), found through
    ``client_id_of_installation`` (a read, awaited the first time an installation is seen and
    remembered: an installation's app never changes)."""

    def __init__(self, store: BucketStore, limits: Limits, *, throttled_apps: frozenset[str] = frozenset(),
                 client_id_of_installation: Callable[[int], Awaitable[str | None]] | None = None) -> None:
        self.store = store
        self.limits = limits
        self.throttled_apps = throttled_apps
        self._client_id_of = client_id_of_installation
        self._client_ids: dict[int, str | None] = {}

    def reserve(self, grant: TokenGrant, cost: int) -> Awaitable[Reservation]:
        # the store's own awaitable, not a coroutine around it: a layer less for every request
        if self.throttled_apps and grant.installation_id is not None and self._client_id_of is not None:
            known = self._client_ids.get(grant.installation_id, _UNKNOWN)
            if known is _UNKNOWN:
                return self._reserve_after_lookup(grant, cost)
            if known in self.throttled_apps:
                return _ready(self._forced())
        return self.store.reserve(bucket_key(grant), cost)

    def reserve_now(self, grant: TokenGrant, cost: int) -> Reservation | None:
        """``reserve``'s answer when it is there at once (the store's ``reserve_now``), else None."""
        if self.throttled_apps and grant.installation_id is not None and self._client_id_of is not None:
            known = self._client_ids.get(grant.installation_id, _UNKNOWN)
            if known is _UNKNOWN:
                return None
            if known in self.throttled_apps:
                return self._forced()
        return self.store.reserve_now(bucket_key(grant), cost)

    def refund_soon(self, grant: TokenGrant, points: int) -> None:
        if points > 0:
            self.store.refund_soon(bucket_key(grant), points)

    async def refund(self, grant: TokenGrant, points: int) -> None:
        if points > 0:
            await self.store.refund(bucket_key(grant), points)

    async def _reserve_after_lookup(self, grant: TokenGrant, cost: int) -> Reservation:
        installation = grant.installation_id
        assert installation is not None and self._client_id_of is not None
        client_id = await self._client_id_of(installation)
        if len(self._client_ids) >= MAX_KNOWN_INSTALLATIONS:
            self._client_ids.clear()
        self._client_ids[installation] = client_id
        if client_id in self.throttled_apps:
            return self._forced()
        return await self.store.reserve(bucket_key(grant), cost)

    def _forced(self) -> Reservation:
        return Reservation(False, 0.0, self.limits.capacity, self.limits.restore_rate)


_UNKNOWN = object()


async def _ready(reservation: Reservation) -> Reservation:
    return reservation

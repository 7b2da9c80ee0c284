"""The bucket store the settings ask for, built once by the app factory: Redis when
``ORDERCHAMP_REDIS_URL`` is set, else memory shared by the workers of this ``serve`` (the
file it names in the environment), else this process's memory."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..settings import Settings
from ..store.database import Database
from .bucket import Limits
from .limiter import BucketStore, RateLimiter
from .local import SHARED_FILE_ENV, LocalBuckets, SharedBuckets
from .redis_buckets import RedisBuckets

if TYPE_CHECKING:
    from ..metrics import Metrics


def limits_of(settings: Settings) -> Limits:
    return Limits(settings.rate_limit_capacity, float(settings.rate_limit_restore_rate),
                  settings.rate_limit_max_query_cost)


def build_store(settings: Settings, metrics: Metrics | None = None) -> BucketStore:
    limits = limits_of(settings)
    if settings.redis_url:
        failed = metrics.rate_limit_store_failures.inc if metrics is not None else None
        return RedisBuckets(settings.redis_url, limits, timeout=settings.redis_timeout_ms / 1000, on_failure=failed)
    shared = os.environ.get(SHARED_FILE_ENV)
    if shared:
        return SharedBuckets(shared, limits)
    return LocalBuckets(limits)


def build_limiter(settings: Settings, database: Database, metrics: Metrics | None = None,
                  store: BucketStore | None = None) -> RateLimiter:
    async def client_id_of_installation(installation_id: int) -> str | None:
        # the database's event-loop form: in its threads on PostgreSQL, a local read on SQLite
        return await database.reading(lambda tx: tx.apps.client_id_of_installation(installation_id))

    return RateLimiter(store if store is not None else build_store(settings, metrics), limits_of(settings),
                       throttled_apps=settings.rate_limit_throttled_apps,
                       client_id_of_installation=client_id_of_installation)

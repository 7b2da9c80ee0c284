"""Prometheus metrics: requests and latency per route pattern, token exchanges by outcome,
API requests by engine, response-cache and bearer-cache hits.

Labels are bounded: a route's pattern (never the raw path), a known method, a status class,
an outcome from a fixed list. Each label combination's child is resolved once and kept, so
a request costs a dictionary lookup and a few additions (see ``Metrics``).

``serve --metrics-port`` runs prometheus-client in multiprocess mode: every worker writes its
values to files in a directory ``serve`` creates (``PROMETHEUS_MULTIPROC_DIR``, which must be
set before prometheus-client is imported), and the supervising process serves their sum on
127.0.0.1 only. Without the option nothing here is built and nothing is counted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
FLUSH_INTERVAL = 1.0  # seconds
UNMATCHED_ROUTE = "unmatched"  # 404s: any path, so never a label of its own
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TOKEN_OUTCOMES = ("issued", "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                  "unsupported_grant_type", "invalid_scope", "server_error", "other")
API_ENGINES = ("compiled_plan", "response_cache", "graphql_core")


class _Pending:
    """A counter child's increments, kept in this worker until the next flush: an ``inc()``
    of prometheus-client's multiprocess value takes a lock and writes a memory-mapped file
    (about 2 us), this one adds to an int."""

    __slots__ = ("child", "count")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.count = 0

    def inc(self) -> None:
        self.count += 1

    def flush(self) -> None:
        if self.count:
            count, self.count = self.count, 0
            self.child.inc(count)


class _PendingRequests:
    """One route, method and status's requests and their latency histogram, until the flush."""

    __slots__ = ("requests", "latency", "count", "total", "buckets")

    def __init__(self, requests: Any, latency: Any) -> None:
        self.requests, self.latency = requests, latency
        self.count, self.total = 0, 0.0
        self.buckets = [0] * (len(_LATENCY_BUCKETS) + 1)

    def flush(self) -> None:
        if not self.count:
            return
        self.requests.inc(self.count)
        # Histogram children have no public "add n observations"; their bucket and sum values
        # are what ``observe()`` increments.
        self.latency._sum.inc(self.total)
        for index, count in enumerate(self.buckets):
            if count:
                self.latency._buckets[index].inc(count)
        self.count, self.total = 0, 0.0
        self.buckets = [0] * len(self.buckets)


class Metrics:
    """Counts in plain ints on the event loop and hands them to prometheus-client once a
    second (``flush``, scheduled by ``start_flushing``): what /metrics shows is at most that
    much behind."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # Imported here, not with the module: serve names the multiprocess directory first.
        from prometheus_client import CollectorRegistry, Counter, Histogram

        # Its own registry: building two apps in one process (tests) registers no name twice.
        registry = registry if registry is not None else CollectorRegistry()
        self.registry = registry
        self._requests = Counter("orderchamp_http_requests", "HTTP requests answered",
                                 ["route", "method", "status"], registry=registry)
        self._latency = Histogram("orderchamp_http_request_duration_seconds", "Time to answer an HTTP request",
                                  ["route", "method"], buckets=_LATENCY_BUCKETS, registry=registry)
        self._counters: list[_Pending] = []
        token_exchanges = Counter("orderchamp_token_exchanges", "Authorization code exchanges by outcome",
                                  ["outcome"], registry=registry)
        self._token_outcomes = {outcome: self._pending(token_exchanges.labels(outcome)) for outcome in TOKEN_OUTCOMES}
        api = Counter("orderchamp_api_requests", "GraphQL API requests answered, by the engine that answered",
                      ["engine"], registry=registry)
        self.api_by_plan, self.api_from_cache, self.api_by_graphql_core = (
            self._pending(api.labels(engine)) for engine in API_ENGINES)
        response_cache = Counter("orderchamp_api_response_cache", "API response cache lookups",
                                 ["result"], registry=registry)
        self.response_cache_hit = self._pending(response_cache.labels("hit"))
        self.response_cache_miss = self._pending(response_cache.labels("miss"))
        bearer_cache = Counter("orderchamp_bearer_cache", "Bearer token cache lookups", ["result"], registry=registry)
        self.bearer_cache_hit = self._pending(bearer_cache.labels("hit"))
        self.bearer_cache_miss = self._pending(bearer_cache.labels("miss"))
        self.api_throttled = self._pending(Counter(
            "orderchamp_api_throttled", "GraphQL API requests answered Throttled", registry=registry))
        self.rate_limit_store_failures = self._pending(Counter(
            "orderchamp_rate_limit_store_failures",
            "Rate-limit calls to Redis that failed and were answered by the worker's own buckets",
            registry=registry))
        self._request_groups: dict[tuple[str, str, int], _PendingRequests] = {}
        self._flushing = False

    def _pending(self, child: Any) -> _Pending:
        pending = _Pending(child)
        self._counters.append(pending)
        return pending

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        group = self._request_groups.get((route, method, status))
        if group is None:
            group = self._group(route, method, status)
        group.count += 1
        group.total += seconds
        group.buckets[bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        if not self._flushing:
            self.start_flushing()

    def _group(self, route: str, method: str, status: int) -> _PendingRequests:
        label_method = method if method in _METHODS else "OTHER"
        if not 100 <= status < 600:
            status = 0
        key = (route, label_method, status)  # bounded: routes x methods x statuses
        group = self._request_groups.get(key)
        if group is None:
            status_class = f"{status // 100}xx" if status else "other"
            group = self._request_groups[key] = _PendingRequests(
                self._requests.labels(route, label_method, status_class), self._latency.labels(route, label_method))
        return group

    def count_token_exchange(self, outcome: str) -> None:
        self._token_outcomes.get(outcome, self._token_outcomes["other"]).inc()

    def flush(self) -> None:
        for counter in self._counters:
            counter.flush()
        for group in list(self._request_groups.values()):
            group.flush()

    def start_flushing(self) -> None:
        """Flush once a second on the running event loop, from its first request on."""
        self._flushing = True
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving: whoever counts outside a loop calls flush()

        def tick() -> None:
            self.flush()
            loop.call_later(FLUSH_INTERVAL, tick)

        loop.call_later(FLUSH_INTERVAL, tick)


def make_multiprocess_dir() -> str:
    """A fresh directory for the workers' values, named in the environment before any worker
    (or this process) imports prometheus-client's value classes."""
    path = tempfile.mkdtemp(prefix="orderchamp-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def remove_multiprocess_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def start_metrics_server(port: int) -> Any:
    """Serve the sum over all workers on 127.0.0.1:port, in a thread of the calling process;
    the HTTP server it runs (``shutdown()`` stops it)."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    server, _thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    return server

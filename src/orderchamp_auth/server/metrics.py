"""Prometheus metrics: requests and latency per route pattern, token exchanges by outcome,
API requests by engine, response-cache and bearer-cache hits.

Labels are bounded: a route's pattern (never the raw path), a known method, a status class,
an outcome from a fixed list. Each label combination's child is resolved once and kept, so
a request costs a dictionary lookup and an ``inc()``.

``serve --metrics-port`` runs prometheus-client in multiprocess mode: every worker writes its
values to files in a directory ``serve`` creates (``PROMETHEUS_MULTIPROC_DIR``, which must be
set before prometheus-client is imported), and the supervising process serves their sum on
127.0.0.1 only. Without the option nothing here is built and nothing is counted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"  # 404s: any path, so never a label of its own
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TOKEN_OUTCOMES = ("issued", "invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                  "unsupported_grant_type", "invalid_scope", "server_error", "other")
API_ENGINES = ("compiled_plan", "response_cache", "graphql_core")


class Metrics:
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
        token_exchanges = Counter("orderchamp_token_exchanges", "Authorization code exchanges by outcome",
                                  ["outcome"], registry=registry)
        self._token_outcomes = {outcome: token_exchanges.labels(outcome) for outcome in TOKEN_OUTCOMES}
        api = Counter("orderchamp_api_requests", "GraphQL API requests answered, by the engine that answered",
                      ["engine"], registry=registry)
        self.api_by_plan, self.api_from_cache, self.api_by_graphql_core = (api.labels(e) for e in API_ENGINES)
        response_cache = Counter("orderchamp_api_response_cache", "API response cache lookups",
                                 ["result"], registry=registry)
        self.response_cache_hit, self.response_cache_miss = response_cache.labels("hit"), response_cache.labels("miss")
        bearer_cache = Counter("orderchamp_bearer_cache", "Bearer token cache lookups", ["result"], registry=registry)
        self.bearer_cache_hit, self.bearer_cache_miss = bearer_cache.labels("hit"), bearer_cache.labels("miss")
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._resolve(route, method, status)
        children[0].inc()
        children[1].observe(seconds)

    def _resolve(self, route: str, method: str, status: int) -> tuple[Any, Any]:
        label_method = method if method in _METHODS else "OTHER"
        status_class = f"{status // 100}xx" if 100 <= status < 600 else "other"
        children = (self._requests.labels(route, label_method, status_class), self._latency.labels(route, label_method))
        if method in _METHODS and 100 <= status < 600:  # keys stay bounded: routes x methods x statuses
            self._request_children[(route, method, status)] = children
        return children

    def count_token_exchange(self, outcome: str) -> None:
        self._token_outcomes.get(outcome, self._token_outcomes["other"]).inc()


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

"""``/metrics``: Prometheus metrics in one registry built per app (never the global default).

Multi-process safe: when ``PROMETHEUS_MULTIPROC_DIR`` is set (several server processes),
the metric objects write to that directory's files and a scrape collects all of them through
``MultiProcessCollector``. Labels are bounded sets: project names and models (capped: past
the cap a value reads ``other``), outcomes, status codes, error codes; never a prompt, an IP
or an end-user id.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "LabelCap", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_SECONDS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            5.0, 10.0, 30.0)


class LabelCap:
    """A label's values, bounded: the first ``limit`` distinct values pass, the rest read
    ``other`` (a runaway of models or projects cannot grow the series without end)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return "other"
        self._seen.add(value)
        return value


class Metrics:
    def __init__(self, *, label_limit: int = 200) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        # multi-process: the values live in the directory's files, collected per scrape
        reg = None if self.multiprocess else self.registry
        self.project = LabelCap(label_limit)
        self.model = LabelCap(label_limit)
        self.requests = Counter(
            "vectorcache_requests", "Requests served, by outcome (hit_exact, hit_semantic, miss, "
            "bypass, error; other: routes that do not go through the cache).",
            ["project", "model", "outcome", "status"], registry=reg)
        self.request_seconds = Histogram(
            "vectorcache_request_duration_seconds", "Whole request, as the server saw it.",
            ["outcome"], buckets=_SECONDS, registry=reg)
        self.step_seconds = Histogram(
            "vectorcache_step_duration_seconds",
            "Steps of a lookup: exact, embedding, search, decision.", ["step"],
            buckets=_SECONDS, registry=reg)
        self.provider_seconds = Histogram(
            "vectorcache_provider_duration_seconds", "Calls to the LLM provider on a miss.",
            ["project", "model"], buckets=_SECONDS, registry=reg)
        self.provider_errors = Counter(
            "vectorcache_provider_errors", "Provider failures answered with 502.",
            ["project", "code"], registry=reg)
        self.rejections = Counter(
            "vectorcache_rejections", "Requests refused by a rate limit or a quota.",
            ["project", "reason"], registry=reg)
        self.auth_failures = Counter(
            "vectorcache_auth_failures", "Requests refused at authentication (401).",
            ["code"], registry=reg)
        self.alerts = Counter("vectorcache_alerts", "Alerts raised, by rule.", ["rule"],
                              registry=reg)
        self.webhook_deliveries = Counter(
            "vectorcache_webhook_deliveries", "Webhook delivery attempts, by result "
            "(delivered, retrying, failed).", ["result"], registry=reg)
        self.request_log_dropped = Counter(
            "vectorcache_request_log_dropped", "Request-log rows that could not be kept.",
            registry=reg)
        gauge_mode = {"multiprocess_mode": "livesum"} if self.multiprocess else {}
        self.queue_depth = Gauge("vectorcache_embedding_queue_depth",
                                 "Texts waiting for the embedding model.", registry=reg,
                                 **gauge_mode)  # type: ignore[arg-type]
        self.index_size = Gauge("vectorcache_index_vectors",
                                "Vectors searchable, per index backend.", ["backend"],
                                registry=reg, **gauge_mode)  # type: ignore[arg-type]
        self._before_scrape: list[Callable[[], None]] = []
        self._steps = [(f"{step}_time_ms", self.step_seconds.labels(step))
                       for step in ("exact", "embedding", "search", "decision")]

    def before_scrape(self, fn: Callable[[], None]) -> None:
        self._before_scrape.append(fn)

    def observe_steps(self, timings: dict[str, object]) -> None:
        """The cache service's step timings (ms) of one lookup (on the request path)."""
        for name, child in self._steps:
            ms = timings.get(name)
            if ms is not None:
                child.observe(ms / 1000)  # type: ignore[operator]

    def render(self) -> bytes:
        for fn in self._before_scrape:
            fn()
        if not self.multiprocess:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def register(self, collector: Collector) -> None:
        self.registry.register(collector)

"""Monitoring as the runtime holds it: the request log, analytics, metrics, alerts, webhook
deliveries and retention, wired to the service's write-behind events, and the schedule that
runs the periodic jobs once per period across replicas. Built by the runtime (no
module-level state)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from vectorcache.monitoring.alert_store import AlertStore
from vectorcache.monitoring.alerts import AlertService
from vectorcache.monitoring.analytics import Analytics
from vectorcache.monitoring.cache_cap import CacheCap
from vectorcache.monitoring.instance_hook import instance_hook
from vectorcache.monitoring.log_store import RequestLogStore
from vectorcache.monitoring.metrics import Metrics
from vectorcache.monitoring.requestlog import RequestLog
from vectorcache.monitoring.retention import Retention
from vectorcache.monitoring.rows import RequestRow
from vectorcache.monitoring.webhooks import Deliverer
from vectorcache.service.events import EventWriter
from vectorcache.settings import Settings
from vectorcache.store import Store

__all__ = ["Monitoring"]

log = logging.getLogger("vectorcache.monitoring")

RETENTION_PERIOD = 3600.0


class Monitoring:
    def __init__(self, store: Store, events: EventWriter, embedder: Any = None, *,
                 settings: Settings, clock: Callable[[], datetime],
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.period = settings.monitor_interval_seconds
        self.log_store = RequestLogStore(store.db)
        self.requests = RequestLog(self.log_store)
        self.analytics = Analytics(self.log_store)
        self.metrics = metrics or Metrics()
        self.alert_store = AlertStore(store.db, store)
        hook = instance_hook(settings)
        self.alerts = AlertService(store, self.alert_store, self.now, self.period, {
            "request_log_days": settings.request_log_retention_days,
            "audit_days": settings.audit_retention_days}, instance_hook=hook is not None)
        self._http = httpx.AsyncClient(timeout=10.0, follow_redirects=False)
        self.deliverer = Deliverer(self.alert_store, self._http, self.now,
                                   on_result=self._delivered, instance=hook)
        self.retention = Retention(store, self.log_store, self.alerts, self.now)
        self.cache_cap = CacheCap(store)
        self._store = store
        self._embedder = embedder
        self._events = events
        self._task: asyncio.Task[None] | None = None
        self._children: dict[tuple[str, str, str, int], tuple[Any, Any, str, str]] = {}
        events.observe(self.requests.observe)
        events.flush_also(self.requests.flush)
        self.metrics.before_scrape(self._sample)

    def now(self) -> float:
        return self.clock().timestamp()

    # ------------------------------------------------------------ schedule
    async def start(self, *, serving: bool) -> None:
        """Start the schedule (alerts, deliveries, retention) in a serving process."""
        if serving:
            self._task = asyncio.create_task(self._schedule(), name="vectorcache-monitoring")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._http.aclose()

    async def _schedule(self) -> None:
        tick = min(self.period, 10.0)
        while True:
            await asyncio.sleep(tick)
            try:
                await self.run_due_jobs(tick)
            except Exception:  # the next tick tries again; a failure is never fatal
                log.exception("a monitoring job failed")

    async def run_due_jobs(self, tick: float | None = None) -> None:
        """One tick: each job whose period has passed runs here, unless another replica
        claimed it first (``AlertStore.claim``)."""
        tick = self.period if tick is None else tick
        now = self.now()
        last = await self.alert_store.claim("alerts", now, self.period * 0.95)
        if last is not None:
            await self._events.flush()  # what was served until now is evaluated
            since = now - self.period if not last else max(last, now - 2 * self.period)
            for alert in await self.alerts.evaluate(now, since):
                self.metrics.alerts.labels(alert.rule).inc()
        if await self.alert_store.claim("deliveries", now, tick * 0.9) is not None:
            await self.deliverer.run_due()
        if await self.alert_store.claim("retention", now, RETENTION_PERIOD) is not None:
            await self.retention.run()
        if await self.alert_store.claim("cache_cap", now, self.period * 0.95) is not None:
            await self.enforce_caps()

    async def enforce_caps(self) -> int:
        """Every project's cache cap (``settings["cache"]``), least recently served first."""
        removed = 0
        for project in await self._store.list_projects():
            cap = (await self.alerts.settings(project.id))["cache"]
            removed += await self.cache_cap.enforce(project.id, int(cap["max_entries"]),
                                                    int(cap["max_bytes"]))
        return removed

    def _delivered(self, result: str) -> None:
        self.metrics.webhook_deliveries.labels(result).inc()

    # ------------------------------------------------------------ the request path
    def record(self, row: RequestRow, *, project_name: str = "") -> None:
        """A request done (the middleware): its row, behind; its counts, now."""
        self.requests.add(row)
        m = self.metrics
        labels = (project_name, row.model, row.outcome, row.status)
        counted = self._children.get(labels)
        if counted is None:  # a new label set (bounded): resolved once, then a dict lookup
            project = m.project(project_name) if project_name else ""
            model = m.model(row.model) if row.model else ""
            counted = self._children[labels] = (
                m.requests.labels(project, model, row.outcome, str(row.status)),
                m.request_seconds.labels(row.outcome), project, model)
        counted[0].inc()
        counted[1].observe(row.latency_ms / 1000)
        if row.status < 400 and not row.provider_ms:
            return
        project, model = counted[2], counted[3]
        if row.provider_ms:
            m.provider_seconds.labels(project, model).observe(row.provider_ms / 1000)
        if row.status == 502:
            m.provider_errors.labels(project, row.reason).inc()
        elif row.status == 429:
            m.rejections.labels(project, "quota" if "quota" in row.reason
                                else "rate_limit").inc()
        elif row.status == 401:
            m.auth_failures.labels(row.reason).inc()

    # ------------------------------------------------------------ scrape time
    def _sample(self) -> None:
        depth = getattr(self._embedder, "queue_depth", None)
        self.metrics.queue_depth.set(depth if isinstance(depth, int) else 0)
        dropped = self.requests.dropped
        if dropped:
            self.metrics.request_log_dropped.inc(dropped)
            self.requests.dropped = 0

    async def sample_index(self) -> None:
        """Index sizes (async: the store is asked) before a scrape."""
        status = await self._store.index_status()
        backend = "pgvector" if type(self._store).__name__.startswith("Postgres") else "ann"
        vectors = status.get("vectors", status.get("searchable", 0))
        self.metrics.index_size.labels(backend).set(float(vectors))

"""Write-behind usage events and key usage: batched off the request path, flushed on close.

Others write behind on the same loop: an observer sees each event as it is recorded (the
request log attaches it to its request), and each extra flush runs with every batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from vectorcache.clock import utcnow
from vectorcache.models import UsageEvent
from vectorcache.store import Store

__all__ = ["EventWriter"]

log = logging.getLogger("vectorcache.events")


class EventWriter:
    def __init__(self, store: Store, flush_interval: float = 0.25, max_batch: int = 500) -> None:
        self._store = store
        self._interval = flush_interval
        self._max = max_batch
        self._events: list[UsageEvent] = []
        self._keys: dict[str, tuple[int, datetime]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._observers: list[Callable[[UsageEvent], None]] = []
        self._flushers: list[Callable[[], Awaitable[None]]] = []

    def observe(self, observer: Callable[[UsageEvent], None]) -> None:
        """Call ``observer`` with each event as it is recorded (on the request path: cheap)."""
        self._observers.append(observer)

    def flush_also(self, flush: Callable[[], Awaitable[None]]) -> None:
        """Run ``flush`` with every batch, and on close (another write-behind buffer)."""
        self._flushers.append(flush)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="vectorcache-events")

    def record(self, event: UsageEvent) -> None:
        self._events.append(event)
        for observer in self._observers:
            observer(event)
        if len(self._events) >= self._max:
            self._wake.set()

    def touch_key(self, key_id: str) -> None:
        count, _ = self._keys.get(key_id, (0, utcnow()))
        self._keys[key_id] = (count + 1, utcnow())

    async def flush(self) -> None:
        for flush in self._flushers:
            try:
                await flush()
            except Exception:
                log.exception("a write-behind flush failed")
        events, keys = self._events, self._keys
        if not events and not keys:
            return
        self._events, self._keys = [], {}
        try:
            await self._store.add_events(events, keys)
        except Exception:
            log.exception("dropped %d usage events", len(events))

    async def _run(self) -> None:
        while not self._closing:
            try:
                await asyncio.wait_for(self._wake.wait(), self._interval)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()

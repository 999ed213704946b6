"""Idempotency keys: a retried request is answered with what the first one got, instead of
asking the provider (and paying it) again.

A client sends ``Idempotency-Key: <its own id>`` on ``POST /v1/cache/query`` or a
non-streaming ``POST /v1/chat/completions``. The first request with a key takes its *slot*
(per project, API key and idempotency key) and runs; a request with the same key that arrives
meanwhile waits for it. When it ends:

* with an answer, or with a failure after the provider may have worked on it (a timeout while
  it answered: ``UpstreamError.may_have_billed``), the response is kept for ``ttl_seconds``
  and replayed to every retry;
* with any other failure (the provider answered an error status or was never reached, a
  validation error, storage down), nothing is kept: a retry runs again, which costs nothing.

The same key with another request body is refused (422 ``idempotency_key_reused``).

Kept in this process, bounded in count and bytes (the oldest kept responses go first). With
several replicas sharing a Redis, ``shared_idempotency.py`` keeps each response there too
(sealed), so a retry that reaches another replica is replayed as well.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from vectorcache.errors import NotCacheable

__all__ = ["IdempotencyKeys", "Kept", "Turn", "key_reused"]

DAY_S = 86_400.0


def key_reused() -> NotCacheable:
    """The 422 for a key that came with another request body."""
    return NotCacheable("This Idempotency-Key was used with another request; use a new key "
                        "for a new request", code="idempotency_key_reused")


@dataclass(frozen=True)
class Kept:
    """A response as it will be replayed."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Turn:
    """One request's turn at a slot: ``replay`` is set when an earlier request's response
    answers this one; otherwise the caller runs and ``keep``s its response (or does not)."""

    replay: Kept | None = None
    kept: Kept | None = None

    def keep(self, response: Kept) -> None:
        self.kept = response


@dataclass
class _Slot:
    fingerprint: str
    done: asyncio.Event = field(default_factory=asyncio.Event)
    kept: Kept | None = None
    expires: float = 0.0


class IdempotencyKeys:
    def __init__(self, *, ttl_seconds: float = DAY_S, max_slots: int = 10_000,
                 max_bytes: int = 64 * 1024 * 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._max_slots = max_slots
        self._max_bytes = max_bytes
        self._clock = clock
        self._slots: OrderedDict[Hashable, _Slot] = OrderedDict()  # kept ones oldest first
        self._kept = 0
        self._bytes = 0

    @asynccontextmanager
    async def turn(self, slot: Hashable, fingerprint: str) -> AsyncIterator[Turn]:
        """Wait for a request running with this slot, then replay what it kept, or run."""
        while True:
            self._expire()
            found = self._slots.get(slot)
            if found is None:
                break
            if found.fingerprint != fingerprint:
                raise key_reused()
            if found.kept is not None:
                yield Turn(replay=found.kept)
                return
            await found.done.wait()  # its request ended; kept something, or freed the slot
        mine = _Slot(fingerprint)
        self._slots[slot] = mine
        turn = Turn()
        try:
            yield turn
        finally:
            if turn.kept is not None and len(turn.kept.body) <= self._max_bytes:
                mine.kept, mine.expires = turn.kept, self._clock() + self._ttl
                self._slots.move_to_end(slot)
                self._kept += 1
                self._bytes += len(turn.kept.body)
                self._evict()
            elif self._slots.get(slot) is mine:
                del self._slots[slot]
            mine.done.set()

    def _expire(self) -> None:
        """Kept responses expire in the order they were kept (one TTL for all)."""
        now = self._clock()
        for slot, found in list(self._slots.items()):
            if found.kept is None:
                continue  # running
            if found.expires > now:
                return
            self._drop(slot, found)

    def _evict(self) -> None:
        for slot, found in list(self._slots.items()):
            if self._kept <= self._max_slots and self._bytes <= self._max_bytes:
                return
            if found.kept is not None:
                self._drop(slot, found)

    def _drop(self, slot: Hashable, found: _Slot) -> None:
        del self._slots[slot]
        if found.kept is not None:
            self._kept -= 1
            self._bytes -= len(found.kept.body)

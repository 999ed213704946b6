"""In-process rate-limit counters for ``memory://``: a moving window and a fixed window.

Why not ``limits``' own async memory storage: on every hit it schedules an expiry pass that takes
each key's lock and, while holding it, hops to a worker thread; every request of a busy key then
queues behind that hop. Measured on the hit path at concurrency 32: ~300 requests/s with the
event loop half idle. These counters are plain dictionaries touched only from the event loop
(no ``await`` inside an update), so a hit costs microseconds and needs no lock.

Moving window: each key groups its hits in slots of 1/100 of the window, each slot keeping its
count and the time of its last hit. A slot is counted until that last hit is a window old, so the
count may include a few hits up to one slot older than the window: the limit can bite slightly
early, never late (never more than ``limit`` hits in any window), and a refused client is told to
come back when the oldest counted slot leaves (at most one window away). Fixed window: starts at
a key's first hit, as ``limits`` does, and restarts after it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Count", "LocalCounters"]

_SLOTS = 100  # per moving window
_SWEEP_EVERY = 4096  # hits between sweeps of idle keys (bounded memory with many client IPs)


@dataclass(frozen=True)
class Count:
    admitted: bool
    remaining: int
    reset: float  # unix seconds when a hit is next admitted / the window frees


@dataclass
class _Moving:
    window: float
    slots: deque[tuple[int, int, float]] = field(default_factory=deque)  # (slot, hits, last hit)
    total: int = 0

    def empty(self, now: float) -> bool:
        self.drop_old(now)
        return not self.slots

    def drop_old(self, now: float) -> None:
        """Forget slots whose last hit is a window old."""
        while self.slots and self.slots[0][2] <= now - self.window:
            self.total -= self.slots.popleft()[1]


@dataclass
class _Fixed:
    start: float
    window: float
    hits: int = 0


class LocalCounters:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._moving: dict[str, _Moving] = {}
        self._fixed: dict[str, _Fixed] = {}
        self._since_sweep = 0

    def moving(self, key: str, limit: int, window: float) -> Count:
        """Count one hit against ``limit`` per ``window`` seconds, if it fits."""
        now = self._clock()
        self._maybe_sweep(now)
        state = self._moving.get(key)
        if state is None or state.window != window:  # new key, or its window changed
            state = self._moving[key] = _Moving(window)
        state.drop_old(now)
        admitted = state.total < limit
        if admitted:
            slot = math.floor(now * _SLOTS / window)
            if state.slots and state.slots[-1][0] == slot:
                state.slots[-1] = (slot, state.slots[-1][1] + 1, now)
            else:
                state.slots.append((slot, 1, now))
            state.total += 1
        # when the oldest counted slot leaves the window (a slot frees, or the window empties)
        reset = (state.slots[0][2] if state.slots else now) + window
        return Count(admitted, max(0, limit - state.total), reset)

    def fixed(self, key: str, limit: int, window: float) -> Count:
        now = self._clock()
        self._maybe_sweep(now)
        state = self._fixed.get(key)
        if state is None or now >= state.start + window:
            state = self._fixed[key] = _Fixed(start=now, window=window)
        admitted = state.hits < limit
        if admitted:
            state.hits += 1
        return Count(admitted, max(0, limit - state.hits), state.start + window)

    def _maybe_sweep(self, now: float) -> None:
        self._since_sweep += 1
        if self._since_sweep < _SWEEP_EVERY:
            return
        self._since_sweep = 0
        for key in [k for k, s in self._moving.items() if s.empty(now)]:
            del self._moving[key]
        for key in [k for k, s in self._fixed.items() if now >= s.start + s.window]:
            del self._fixed[key]

    def __len__(self) -> int:
        return len(self._moving) + len(self._fixed)


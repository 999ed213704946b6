"""How every Redis client of a replica connects: the rate-limit counters (through ``limits``),
the miss leases (``service/miss_lease.py``) and the shared idempotency records
(``service/shared_idempotency.py``).

After Redis restarts, every pooled connection is dead; the first command on each fails. A client
that reconnects and retries once (at once: no backoff) turns that into one extra round trip
instead of an error, so a restart costs no request a 503 and no lease its holder. A Redis that
is really down fails fast (refused, or a short timeout) rather than after a long backoff, so a
replica answers 503 (or falls back to its own limits) in milliseconds, not seconds. Idle
connections are checked with a PING before use.

A Redis that accepts no packets (a host gone from the network, a firewall dropping them) is
not refused: each command waits out its timeout, and again for the retry (a rate-limit check,
a few commands, took 8 s). A ``Breaker`` bounds each use of Redis to ``TIMEOUT_S`` in all,
notices such a slow failure, and skips Redis for ``redis_breaker_seconds`` (5 s by default):
meanwhile each use of Redis fails at once, as if Redis had refused, so the replica applies
``rate_limits_without_redis`` (503, or its own limits) and goes on alone with misses and
idempotency keys. The first request after that tries Redis again. A fast failure (refused) does
not trip it: it costs nothing, and Redis may be back a moment later (a restart).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

__all__ = ["BREAKER_S", "REDIS_SCHEMES", "TIMEOUT_S", "Breaker", "RedisSkipped",
           "redis_options"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: how long to wait for Redis itself (connect, one command)
TIMEOUT_S = 2.0
#: how long a ``Breaker`` skips Redis after a slow failure, by default
BREAKER_S = 5.0
#: a failure that took this long was a timeout, not a refusal
_SLOW_S = TIMEOUT_S / 2


def redis_options() -> dict[str, Any]:
    """Keyword arguments for ``redis.asyncio.Redis.from_url`` (a fresh ``Retry`` each call)."""
    return {"retry": Retry(NoBackoff(), 1), "retry_on_error": [ConnectionError, TimeoutError],
            "socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S,
            "health_check_interval": 30}


class RedisSkipped(ConnectionError):
    """Raised by ``Breaker.watching`` instead of trying a Redis known to time out."""


class Breaker:
    """Skips Redis for ``skip_seconds`` after one of its commands failed slowly (a timeout).
    One per replica, shared by its Redis clients (0 seconds: never skip)."""

    def __init__(self, skip_seconds: float = BREAKER_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._skip_s = skip_seconds
        self._clock = clock
        self._until = 0.0

    @property
    def skipping(self) -> bool:
        """Whether Redis is being skipped now."""
        return self._clock() < self._until

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        """Around one use of Redis (a command, or a few): raises ``RedisSkipped`` at once
        while skipping; else allows it ``TIMEOUT_S`` in all (then ``TimeoutError``, an
        ``OSError``); a failure inside that took half as long starts the skipping."""
        if self.skipping:
            raise RedisSkipped("Redis timed out a moment ago; skipped for now")
        started = self._clock()
        try:
            async with asyncio.timeout(TIMEOUT_S):
                yield
        except Exception:
            if self._clock() - started >= _SLOW_S and self._skip_s > 0:
                self._until = self._clock() + self._skip_s
            raise

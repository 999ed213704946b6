"""How every Redis client of a replica connects: the rate-limit counters (through ``limits``)
and the miss leases (``service/miss_lease.py``).

After Redis restarts, every pooled connection is dead; the first command on each fails. A client
that reconnects and retries once (at once: no backoff) turns that into one extra round trip
instead of an error, so a restart costs no request a 503 and no lease its holder. A Redis that
is really down fails fast (refused, or a short timeout) rather than after a long backoff, so a
replica answers 503 (or falls back to its own limits) in milliseconds, not seconds. Idle
connections are checked with a PING before use.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, TimeoutError

__all__ = ["REDIS_SCHEMES", "TIMEOUT_S", "redis_options"]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
#: how long to wait for Redis itself (connect, one command)
TIMEOUT_S = 2.0


def redis_options() -> dict[str, Any]:
    """Keyword arguments for ``redis.asyncio.Redis.from_url`` (a fresh ``Retry`` each call)."""
    return {"retry": Retry(NoBackoff(), 1), "retry_on_error": [ConnectionError, TimeoutError],
            "socket_timeout": TIMEOUT_S, "socket_connect_timeout": TIMEOUT_S,
            "health_check_interval": 30}

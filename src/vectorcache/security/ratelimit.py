"""Rate limits and quotas on the ``limits`` library, and the ``X-RateLimit-*`` headers.

Counters live in the storage named by ``settings.rate_limit_storage_url``: ``memory://`` (one
process, counted in local_limits.py; quotas restart with it) or ``redis://host:port`` for several
replicas (through the ``limits`` library). Per-key and
per-IP limits use a moving window (a key may spend its whole minute at once, never more than
its limit in any 60 seconds); quotas use a fixed window of a day or a month. Each ``hit`` is
atomic in the storage, so concurrent requests never get past a limit together.

While a shared storage (Redis) is down, ``without_redis`` decides: ``refuse`` answers 503 (and
``/health/ready`` says so, so a load balancer stops sending); ``local`` counts in this process
until it is back, each replica on its own (a limit of N then admits up to N per replica).
A Redis that times out instead of refusing is skipped for a few seconds (``redis_client.Breaker``),
so that choice is made at once rather than after a timeout on every request.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute, RateLimitItemPerMonth
from limits.aio.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter, RateLimiter
from limits.storage import storage_from_string
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vectorcache.errors import ConfigurationError, RateLimited, ServiceUnavailable
from vectorcache.redis_client import Breaker, redis_options
from vectorcache.security.local_limits import Count, LocalCounters

__all__ = ["METER_SCOPE_KEY", "Meter", "RateLimitHeaders", "RateLimits", "Window"]

log = logging.getLogger("vectorcache.ratelimit")

METER_SCOPE_KEY = "vectorcache.meter"
_QUOTA_ITEMS = {"day": RateLimitItemPerDay, "month": RateLimitItemPerMonth}


@dataclass(frozen=True)
class Window:
    limit: int
    remaining: int
    reset: int  # unix seconds


@dataclass
class Meter:
    """The windows one request was counted in; the tightest one goes into the headers."""

    windows: list[Window] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        if not self.windows:
            return {}
        w = min(self.windows, key=lambda w: (w.remaining, w.limit))
        return {"X-RateLimit-Limit": str(w.limit), "X-RateLimit-Remaining": str(w.remaining),
                "X-RateLimit-Reset": str(w.reset)}


class RateLimits:
    """Per-minute moving windows and day/month quotas, counted in-process (``memory://``, see
    local_limits.py) or in a shared storage through ``limits`` (``redis://...``)."""

    def __init__(self, storage_url: str, without_redis: str = "refuse",
                 breaker: Breaker | None = None) -> None:
        self._breaker = breaker or Breaker()
        self._local = LocalCounters() if storage_url.startswith("memory://") else None
        #: counts while the shared storage is down (``without_redis = "local"``)
        self._fallback = LocalCounters() if self._local is None and without_redis == "local" \
            else None
        self._down = False  # the shared storage failed last time (logged once per outage)
        self._url = storage_url if storage_url.startswith("async+") else "async+" + storage_url
        self._moving: RateLimiter | None = None
        self._fixed: RateLimiter | None = None

    def _limiters(self) -> tuple[RateLimiter, RateLimiter]:
        if self._moving is None or self._fixed is None:  # built on first use, inside the loop
            # redis-py (a dependency) rather than limits' default client, coredis
            options = {"implementation": "redispy", **redis_options()} \
                if "redis" in self._url.split("://")[0] else {}
            try:
                storage = storage_from_string(self._url, **options)
            except Exception as exc:  # noqa: BLE001 - any failure to parse: a config error
                raise ConfigurationError(
                    f"rate_limit_storage_url is not usable ({type(exc).__name__}); use "
                    "memory:// or redis://host:port") from None
            self._moving = MovingWindowRateLimiter(storage)
            self._fixed = FixedWindowRateLimiter(storage)
        return self._moving, self._fixed

    async def _shared(self, moving: bool, item: RateLimitItem, ids: tuple[str, ...]) -> Count:
        limiter = self._limiters()[0 if moving else 1]
        try:
            async with self._breaker.watching():
                admitted = await limiter.hit(item, *ids)
                stats = await limiter.get_window_stats(item, *ids)
        except Exception as exc:  # whatever the storage raises: it is down
            self._outage(exc)
            if self._fallback is None:
                raise ServiceUnavailable("Service temporarily unavailable (rate-limit "
                                         "storage)") from exc
            return self._counted(self._fallback, moving, item, ids)
        if self._down:
            self._down = False
            log.warning("Rate-limit storage is back; counting in it again")
        return Count(admitted, max(0, stats.remaining), stats.reset_time)

    def _outage(self, exc: BaseException) -> None:
        if not self._down:  # once per outage: a flood of requests must not flood the log
            self._down = True
            log.warning("Rate-limit storage unavailable (%s): %s", type(exc).__name__,
                        "counting per replica until it is back" if self._fallback is not None
                        else "refusing requests (503) until it is back")

    @staticmethod
    def _counted(counters: LocalCounters, moving: bool, item: RateLimitItem,
                 ids: tuple[str, ...]) -> Count:
        return (counters.moving if moving else counters.fixed)(
            "/".join(ids), item.amount, float(item.get_expiry()))

    async def storage_status(self) -> str | None:
        """None when counting in process; else "ok", or what a replica does without it."""
        if self._local is not None:
            return None
        try:
            async with self._breaker.watching():
                if not await self._limiters()[0].storage.check():
                    raise ConnectionError("Redis did not answer PING")
            up = True
        except Exception:  # noqa: BLE001 - any failure to answer a PING: down
            up = False
        if up:
            return "ok"
        return "unavailable (per-replica limits)" if self._fallback is not None \
            else "unavailable"

    async def _count(self, moving: bool, item: RateLimitItem, ids: tuple[str, ...],
                     meter: Meter) -> int:
        """0 if admitted, else the seconds until it would be. ``moving``: a moving window,
        else a fixed one (quotas)."""
        if self._local is not None:
            count = self._counted(self._local, moving, item, ids)
        else:
            count = await self._shared(moving, item, ids)
        meter.windows.append(Window(item.amount, count.remaining, math.ceil(count.reset)))
        return 0 if count.admitted else max(1, math.ceil(count.reset - time.time()))

    async def per_minute(self, kind: str, ident: str, limit: int, meter: Meter) -> None:
        """Count one request against ``limit`` per minute for ``kind``/``ident``; 429 past it."""
        wait = await self._count(True, RateLimitItemPerMinute(limit), (kind, ident), meter)
        if wait:
            raise RateLimited(retry_after=wait)

    async def quota(self, ident: str, requests: int, period: str, meter: Meter) -> None:
        item = _QUOTA_ITEMS.get(period, RateLimitItemPerDay)(requests)
        wait = await self._count(False, item, ("quota", ident), meter)
        if wait:
            raise RateLimited(f"Request quota exceeded ({requests} per {period}). "
                              "Please try again later.", retry_after=wait, code="quota_exceeded")


class RateLimitHeaders:
    """Adds ``X-RateLimit-*`` to every response of a request that was counted (errors too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        meter = scope[METER_SCOPE_KEY] = Meter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and meter.windows:
                headers = MutableHeaders(scope=message)
                for name, value in meter.headers().items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

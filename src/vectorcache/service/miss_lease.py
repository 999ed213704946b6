"""Identical misses that no one ``SingleFlight`` sees together: one provider call anyway.

``SingleFlight`` coalesces identical concurrent misses of one kind in one process. A lease on
the request's exact key (an HMAC of the partition and the normalised prompt: never the prompt
text) covers the rest: streamed and non-streamed requests, ``/v1/cache/query`` and the gateway,
and, on replicas that share a Redis (``rate_limit_storage_url = redis://...``), other
processes.

* The request that misses first takes the lease for a short time (``miss_lease_seconds``,
  10 s by default), and gives it back when it has stored the answer (or failed, or was
  cancelled). While its call goes on it renews the lease every third of that time, so a long
  call or stream keeps it, and a replica that dies holding it stalls the others on that prompt
  for at most one lease, not for as long as a provider call may last. A renewal finding the
  lease gone (Redis restarted empty) takes it again, unless another request has.
* One that finds the lease taken waits until it is given back (an event in this process, a
  pub/sub message across processes) or expires (its holder died and stopped renewing it),
  then looks the prompt up again: the stored answer is served as a hit. If nothing was stored
  (an uncacheable answer, a provider error, a crash) it tries to lead once more
  (``CacheService.provider_turn``), so a third request waits for it rather than asking too.

Redis failing costs the coalescing across replicas, never the request: each process goes on
alone. A dead pooled connection (after a Redis restart) is reconnected and retried once
(``redis_client.py``), so a restart alone does not cost it; a Redis that times out is skipped
for a few seconds (``redis_client.Breaker``), so it costs one request a timeout, not each.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vectorcache.redis_client import REDIS_SCHEMES, Breaker, redis_options

__all__ = ["MissLeases"]

log = logging.getLogger("vectorcache.leases")

_PREFIX = "vectorcache:lease:"
#: give the lease back only if it is still ours (it may have expired and been taken since)
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('del', KEYS[1])
  redis.call('publish', KEYS[1], 'done')
end
return 0
"""
#: push the lease's expiry back if it is still ours; take it again if it is gone (Redis
#: restarted without it) and no one else has
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
elseif not holder then
  redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
  return 1
end
return 0
"""


class _Held:
    """A lease held in this process: set when given back; renewed until then."""

    def __init__(self, until: float) -> None:
        self.released = asyncio.Event()
        self.until = until  # loop time


class MissLeases:
    """``async with leases.lead_or_follow(key) as waited``: ``waited`` is False for the request
    that asks the provider (it holds the lease until the block ends), True for one that waited
    for another's call to end (it should look the prompt up again first)."""

    def __init__(self, url: str | None, lease_seconds: float,
                 breaker: Breaker | None = None) -> None:
        self._lease_s = lease_seconds
        self._breaker = breaker or Breaker()
        self._redis: Redis | None = None
        self._warned = False
        self._local: dict[str, _Held] = {}  # this process's leases, by key
        if url:
            url = url.removeprefix("async+")
            if url.startswith(REDIS_SCHEMES):
                self._redis = Redis.from_url(url, **redis_options())

    @property
    def client(self) -> Redis | None:
        """The shared Redis (None: this process alone), for other records kept beside the
        leases (``shared_idempotency.py``)."""
        return self._redis

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    @asynccontextmanager
    async def lead_or_follow(self, key: str) -> AsyncIterator[bool]:
        loop = asyncio.get_running_loop()
        held = self._local.get(key)
        if held is not None:  # taken in this process: no need to ask Redis
            while not held.released.is_set() and held.until > loop.time():
                try:
                    await asyncio.wait_for(held.released.wait(), held.until - loop.time())
                except TimeoutError:
                    pass  # renewed meanwhile, or run out: the loop's test says which
            yield True
            return
        held = self._local[key] = _Held(loop.time() + self._lease_s)
        try:
            async with self._shared_lease(key, held) as waited:
                yield waited
        finally:
            del self._local[key]
            held.released.set()

    @asynccontextmanager
    async def _shared_lease(self, key: str, held: _Held) -> AsyncIterator[bool]:
        redis = self._redis
        name, token = _PREFIX + key, secrets.token_hex(8)
        if redis is not None:
            try:
                async with self._breaker.watching():
                    leader = bool(await redis.set(name, token, nx=True, px=self._lease_ms))
            except (RedisError, OSError) as exc:
                self._alone(exc)
                redis = None
            else:
                if not leader:
                    held.until = math.inf  # local followers wait as long as this one does
                    await self._wait(redis, name)
                    yield True
                    return
        renewing = asyncio.create_task(self._renew(held, redis, name, token))
        try:
            yield False
        finally:
            renewing.cancel()
            await asyncio.wait([renewing])  # no renewal after (and so re-taking) the release
            if redis is not None:
                try:
                    # shielded: a cancelled leader (its client left) still lets the others on
                    async with self._breaker.watching():
                        await asyncio.shield(redis.eval(_RELEASE, 1, name, token))
                except (RedisError, OSError) as exc:  # the lease expires by itself
                    self._alone(exc)

    @property
    def _lease_ms(self) -> int:
        return max(int(self._lease_s * 1000), 1)

    async def _renew(self, held: _Held, redis: Redis | None, name: str, token: str) -> None:
        """Every third of the lease, push its end back (here, and in Redis if it is ours)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._lease_s / 3)
            held.until = loop.time() + self._lease_s
            if redis is not None:
                try:
                    async with self._breaker.watching():
                        await redis.eval(_RENEW, 1, name, token, self._lease_ms)
                except (RedisError, OSError) as exc:
                    self._alone(exc)

    async def _wait(self, redis: Redis, name: str) -> None:
        """Until the lease on ``name`` is given back or expires (or Redis fails)."""
        pubsub = redis.pubsub()
        try:
            async with self._breaker.watching():
                await pubsub.subscribe(name)
            # subscribed before reading the lease: a release after this point is heard
            while (remaining_ms := await self._pttl(redis, name)) >= 0:
                # -2: given back; -1: somehow without expiry. Else wait for the release or
                # the expiry read, then read it again: the holder may have renewed it
                try:
                    async with asyncio.timeout(remaining_ms / 1000 + 0.05):
                        while await pubsub.get_message(ignore_subscribe_messages=True,
                                                       timeout=None) is None:
                            pass
                    return
                except TimeoutError:
                    pass
        except (RedisError, OSError) as exc:
            self._alone(exc)
        finally:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except (RedisError, OSError):
                pass

    async def _pttl(self, redis: Redis, name: str) -> int:
        async with self._breaker.watching():
            return int(await redis.pttl(name))

    def _alone(self, exc: BaseException) -> None:
        if not self._warned:  # once per process: a Redis outage must not flood the log
            self._warned = True
            log.warning("Redis unavailable for coalescing misses across replicas (%s); "
                        "each replica asks the provider on its own until it is back",
                        type(exc).__name__)

"""Identical misses that no one ``SingleFlight`` sees together: one provider call anyway.

``SingleFlight`` coalesces identical concurrent misses of one kind in one process. A lease on
the request's exact key (an HMAC of the partition and the normalised prompt: never the prompt
text) covers the rest: streamed and non-streamed requests, ``/v1/cache/query`` and the gateway,
and, on replicas that share a Redis (``rate_limit_storage_url = redis://...``), other
processes.

* The request that misses first takes the lease for as long as a provider call may last, and
  gives it back when it has stored the answer (or failed, or was cancelled).
* One that finds the lease taken waits until it is given back (an event in this process, a
  pub/sub message across processes) or expires (its holder died), then looks the prompt up
  again: the stored answer is served as a hit. It asks the provider itself only if nothing was
  stored (an uncacheable answer, a provider error, a crash), without waiting a second time.

Redis failing costs the coalescing across replicas, never the request: each process goes on
alone.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

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
#: how long to wait for Redis itself (connect, one command) before going on alone
_REDIS_TIMEOUT_S = 2.0


class MissLeases:
    """``async with leases.lead_or_follow(key) as waited``: ``waited`` is False for the request
    that asks the provider (it holds the lease until the block ends), True for one that waited
    for another's call to end (it should look the prompt up again first)."""

    def __init__(self, url: str | None, lease_seconds: float) -> None:
        self._lease_s = lease_seconds
        self._redis: Redis | None = None
        self._warned = False
        self._local: dict[str, asyncio.Event] = {}  # this process's leases, by key
        if url:
            url = url.removeprefix("async+")
            if url.startswith(("redis://", "rediss://", "unix://")):
                self._redis = Redis.from_url(url, socket_timeout=_REDIS_TIMEOUT_S,
                                             socket_connect_timeout=_REDIS_TIMEOUT_S)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    @asynccontextmanager
    async def lead_or_follow(self, key: str) -> AsyncIterator[bool]:
        held = self._local.get(key)
        if held is not None:  # taken in this process: no need to ask Redis
            try:
                await asyncio.wait_for(held.wait(), self._lease_s)
            except TimeoutError:
                pass
            yield True
            return
        released = self._local[key] = asyncio.Event()
        try:
            async with self._shared_lease(key) as waited:
                yield waited
        finally:
            del self._local[key]
            released.set()

    @asynccontextmanager
    async def _shared_lease(self, key: str) -> AsyncIterator[bool]:
        redis = self._redis
        if redis is None:
            yield False
            return
        name, token = _PREFIX + key, secrets.token_hex(8)
        try:
            leader = bool(await redis.set(name, token, nx=True,
                                         px=max(int(self._lease_s * 1000), 1)))
        except (RedisError, OSError) as exc:
            self._alone(exc)
            yield False
            return
        if not leader:
            await self._wait(redis, name)
            yield True
            return
        try:
            yield False
        finally:
            try:
                # shielded: a cancelled leader (its client left) still lets the others go on
                await asyncio.shield(redis.eval(_RELEASE, 1, name, token))
            except (RedisError, OSError) as exc:  # the lease expires by itself
                self._alone(exc)

    async def _wait(self, redis: Redis, name: str) -> None:
        """Until the lease on ``name`` is given back or expires (or Redis fails)."""
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(name)
            # subscribed before reading the lease: a release after this point is heard
            remaining_ms = await redis.pttl(name)
            if remaining_ms < 0:  # already given back (-2), or somehow without expiry (-1)
                return
            async with asyncio.timeout(remaining_ms / 1000 + 0.05):
                while await pubsub.get_message(ignore_subscribe_messages=True,
                                               timeout=None) is None:
                    pass
        except TimeoutError:
            pass  # the holder died: its lease ran out
        except (RedisError, OSError) as exc:
            self._alone(exc)
        finally:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except (RedisError, OSError):
                pass

    def _alone(self, exc: BaseException) -> None:
        if not self._warned:  # once per process: a Redis outage must not flood the log
            self._warned = True
            log.warning("Redis unavailable for coalescing misses across replicas (%s); "
                        "each replica asks the provider on its own until it is back",
                        type(exc).__name__)

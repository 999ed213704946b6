"""``Idempotency-Key`` responses shared by the replicas of one Redis: a retry that reaches
another replica is answered with the first response, without asking the provider again.

Each process keeps what it answered (``IdempotencyKeys``, idempotency.py). With Redis in
``rate_limit_storage_url``, every response kept is also written to Redis, for
``idempotency_ttl_seconds``, under a name that is an HMAC (server secret) of the project, the
API key and the client's key, and sealed with the active data key (the encryption at rest of
cache entries; the data key's id beside it): Redis never holds an answer, a prompt, a request
fingerprint or an Idempotency-Key in clear, and a record not sealed by a replica, or sealed
under another name, is never replayed. A response over ``MAX_SHARED_BYTES`` is kept in
its process only.

A request with a key that no replica has answered takes a lease on its name (``MissLeases``:
renewed while it runs, given back when it ends), so a retry reaching another replica meanwhile
waits for it, then replays what it kept (or, if it kept nothing: runs, as a retry in the same
process does). The same key with another request body is refused (422) on any replica.

Redis failing, or being skipped (``redis_client.Breaker``), costs only the sharing: each
replica answers retries from what it kept itself, as without Redis.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from vectorcache.errors import ConfigurationError, ServiceUnavailable
from vectorcache.hashing import Hasher
from vectorcache.keyring import open_sealed
from vectorcache.redis_client import Breaker
from vectorcache.service.idempotency import IdempotencyKeys, Kept, Turn, key_reused
from vectorcache.service.miss_lease import MissLeases
from vectorcache.store import Store

__all__ = ["MAX_SHARED_BYTES", "SharedIdempotency"]

log = logging.getLogger("vectorcache.idempotency")

#: the largest response body written to Redis (larger ones stay in their process)
MAX_SHARED_BYTES = 1024 * 1024
_PREFIX = "vectorcache:idempotency:"
_LEASE = "idempotency:"  # the lease's own name (MissLeases prefixes it)


class SharedIdempotency:
    """``async with keys.turn(slot, fingerprint) as turn``, as ``IdempotencyKeys.turn``;
    ``slot`` is (project id, API key id, Idempotency-Key)."""

    def __init__(self, local: IdempotencyKeys, leases: MissLeases, hasher: Hasher,
                 keys: Store, breaker: Breaker, ttl_seconds: float) -> None:
        self._local = local
        self._leases = leases
        self._hasher = hasher
        self._keys = keys  # its cipher is read at each use (a data-key rotation swaps it)
        self._breaker = breaker
        self._ttl_ms = max(int(ttl_seconds * 1000), 1)
        self._warned = False

    @asynccontextmanager
    async def turn(self, slot: tuple[object, ...], fingerprint: str) -> AsyncIterator[Turn]:
        async with self._local.turn(slot, fingerprint) as turn:
            redis = self._leases.client
            if turn.replay is not None or redis is None:
                yield turn
                return
            name = self._hasher.idempotency(slot)
            while True:
                kept = await self._read(redis, name, fingerprint)
                if kept is not None:
                    turn.keep(kept)  # this process's next retry needs no Redis
                    yield Turn(replay=kept)
                    return
                async with self._leases.lead_or_follow(_LEASE + name) as waited:
                    if not waited:  # no one else runs it: this request does
                        try:
                            yield turn
                        finally:
                            if turn.kept is not None:
                                await self._write(redis, name, fingerprint, turn.kept)
                        return
                # another replica ran it meanwhile: read what it kept, if anything

    async def _read(self, redis: Redis, name: str, fingerprint: str) -> Kept | None:
        try:
            async with self._breaker.watching():
                raw = await redis.get(_PREFIX + name)
        except (RedisError, OSError) as exc:
            self._alone(exc)
            return None
        if raw is None:
            return None
        try:
            record = json.loads(raw)
            kid = record["kid"]
            if not isinstance(kid, str):  # a key id None would read it as plain
                raise TypeError("unsealed")
            plain = await open_sealed(self._keys, kid, record["sealed"].encode())
            meta, _, body = plain.partition(b"\n")  # JSON (no raw line break), then the body
            sealed = json.loads(meta)
            if sealed["name"] != name:  # sealed for another slot, and moved here
                raise ValueError("misplaced")
        except (ConfigurationError, ServiceUnavailable, ValueError, KeyError, TypeError,
                AttributeError):
            log.warning("An idempotency record in Redis could not be opened (another master "
                        "key, or a retired data key); the request runs again")
            return None
        if sealed["fingerprint"] != fingerprint:
            raise key_reused()
        return Kept(int(sealed["status"]), body, dict(sealed["headers"]))

    async def _write(self, redis: Redis, name: str, fingerprint: str, kept: Kept) -> None:
        if len(kept.body) > MAX_SHARED_BYTES:
            return
        cipher = self._keys.cipher
        meta = json.dumps({"name": name, "fingerprint": fingerprint, "status": kept.status,
                           "headers": kept.headers})
        sealed = cipher.encrypt(meta.encode() + b"\n" + kept.body)
        record = json.dumps({"kid": cipher.active_kid, "sealed": sealed.decode()})
        try:
            async with self._breaker.watching():
                await redis.set(_PREFIX + name, record, px=self._ttl_ms)
        except (RedisError, OSError) as exc:
            self._alone(exc)

    def _alone(self, exc: BaseException) -> None:
        if not self._warned:  # once per process: a Redis outage must not flood the log
            self._warned = True
            log.warning("Redis unavailable for sharing Idempotency-Key responses across "
                        "replicas (%s); each replica replays only what it answered itself",
                        type(exc).__name__)

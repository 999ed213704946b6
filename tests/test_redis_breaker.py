"""Issue 22: a Redis that accepts no packets cost every request its timeouts (~4 s). A
blackholed Redis here is a real listening socket that never answers (connections complete,
commands time out); after the first timeout the replica skips Redis for
``redis_breaker_seconds`` and applies ``rate_limits_without_redis`` at once. A Redis that
refuses (stopped, restarting) is not skipped: that failure is fast, and it may be back a
moment later."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from backends import REDIS, redis_server
from conftest import Tenant, make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.embeddings import Encoder
from vectorcache.errors import ServiceUnavailable
from vectorcache.redis_client import Breaker
from vectorcache.security.ratelimit import Meter, RateLimits
from vectorcache.testing import FakeProvider
from vectorcache.testing.loopback import free_port

pytestmark = pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")


@contextmanager
def blackholed_redis(port: int = 0) -> Iterator[str]:
    """A Redis URL whose server never answers: the kernel completes each connection (a
    listening socket's backlog), nothing reads or replies."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(512)
        yield f"redis://127.0.0.1:{sock.getsockname()[1]}"


def _timed_query(t: Tenant, question: str) -> tuple[float, int]:
    started = time.monotonic()
    status = t.post("/v1/cache/query", {"prompt": question, "model": "gpt-4o"}).status_code
    return time.monotonic() - started, status


@pytest.mark.parametrize("policy", ["local", "refuse"])
def test_redis_blackholed_costs_one_timeout_then_the_down_policy_applies_at_once(
        tmp_path: Path, encoder: Encoder, provider: FakeProvider, policy: str) -> None:
    with blackholed_redis() as url:
        app = create_app(settings_for(tmp_path, rate_limit_storage_url=url,
                                      rate_limits_without_redis=policy,
                                      redis_breaker_seconds=60), encoder=encoder)
        with TestClient(app, raise_server_exceptions=False) as client:
            tenant = make_tenant(client, provider)
            first, status = _timed_query(tenant, "Which planet has the most moons?")
            # it waited for Redis once (2 s at most in all; 8 s for the rate limits alone and
            # 4 s more for the miss lease before), then skipped it
            assert 1.0 <= first < 5.0, first
            expected = 200 if policy == "local" else 503
            assert status == expected
            # every later request (new prompts: misses, so the lease is skipped too) is fast
            for i in range(5):
                took, status = _timed_query(tenant, f"Question {i}: how far is the moon?")
                assert status == expected and took < 1.0, (i, took, status)
            started = time.monotonic()
            ready = client.get("/health/ready")
            assert time.monotonic() - started < 1.0
            if policy == "local":
                assert ready.status_code == 200
                assert ready.json()["checks"]["redis"] == "unavailable (per-replica limits)"
            else:
                assert ready.status_code == 503
                assert ready.json()["checks"]["redis"] == "unavailable"


def test_after_the_breaker_time_redis_is_tried_again(tmp_path: Path) -> None:
    """Skipped for ``skip_seconds`` only: once a real Redis answers on the port, counting is
    shared again (two replicas share one limit)."""
    port = free_port()

    async def blackholed() -> float:
        limits = RateLimits(f"redis://127.0.0.1:{port}", "refuse", Breaker(skip_seconds=1.0))
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            await limits.per_minute("key", "k", 10, Meter())
        took = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):  # skipped: at once
            await limits.per_minute("key", "k", 10, Meter())
        assert time.monotonic() - started < 0.5
        return took

    with blackholed_redis(port):
        assert asyncio.run(blackholed()) >= 1.0
    with redis_server(tmp_path, port) as url:
        async def back() -> list[int]:
            breaker = Breaker(skip_seconds=1.0)
            replicas = [RateLimits(url, "refuse", breaker), RateLimits(url, "refuse")]
            meter = Meter()
            for i in range(4):
                await replicas[i % 2].per_minute("key", "shared", 10, meter)
            return [w.remaining for w in meter.windows]

        assert asyncio.run(back()) == [9, 8, 7, 6]  # one limit, counted in Redis


def test_a_refused_redis_is_not_skipped(tmp_path: Path) -> None:
    """A stopped Redis refuses at once; the next request after it starts is counted in it
    (a restart costs nothing more than before)."""
    port = free_port()
    breaker = Breaker(skip_seconds=300)

    async def main(url: str, admitted: bool) -> None:
        limits = RateLimits(url, "refuse", breaker)
        if admitted:
            await limits.per_minute("key", "k", 10, Meter())
        else:
            with pytest.raises(ServiceUnavailable):
                await limits.per_minute("key", "k", 10, Meter())

    asyncio.run(main(f"redis://127.0.0.1:{port}", admitted=False))
    assert not breaker.skipping
    with redis_server(tmp_path, port) as url:
        asyncio.run(main(url, admitted=True))

"""Rate limits and quotas shared by several replicas through a real Redis (Debian ``redis-server``
on loopback, started by conftest's ``redis_url``; ``scripts/test.sh`` installs it)."""

from __future__ import annotations

import asyncio

import pytest

from vectorcache.errors import RateLimited, ServiceUnavailable
from vectorcache.security.ratelimit import Meter, RateLimits
from vectorcache.testing.loopback import free_port


def test_two_replicas_share_one_per_minute_limit(redis_url: str) -> None:
    async def main() -> list[bool]:
        replicas = [RateLimits(redis_url), RateLimits(redis_url)]  # two servers, one Redis

        async def one(i: int) -> bool:
            try:
                await replicas[i % 2].per_minute("key", "shared-key", 10, Meter())
            except RateLimited:
                return False
            return True

        return list(await asyncio.gather(*(one(i) for i in range(30))))

    admitted = asyncio.run(main())
    assert admitted.count(True) == 10  # across both replicas, not 10 each


def test_quota_is_counted_in_redis_and_reported(redis_url: str) -> None:
    async def main() -> tuple[Meter, RateLimited]:
        limits = RateLimits(redis_url)
        meter = Meter()
        for _ in range(3):
            await limits.quota("quota-key", 3, "day", meter)
        with pytest.raises(RateLimited) as refused:
            await RateLimits(redis_url).quota("quota-key", 3, "day", Meter())
        return meter, refused.value

    meter, refused = asyncio.run(main())
    assert meter.headers()["X-RateLimit-Limit"] == "3"
    assert meter.headers()["X-RateLimit-Remaining"] == "0"
    assert refused.code == "quota_exceeded" and 1 <= refused.retry_after <= 86400


def test_unreachable_redis_is_a_503_not_a_500() -> None:
    async def main() -> None:
        await RateLimits(f"redis://127.0.0.1:{free_port()}").per_minute(
            "key", "k", 10, Meter())

    with pytest.raises(ServiceUnavailable):
        asyncio.run(main())

"""The request log's and rollups' SQL, the same on SQLite and PostgreSQL: rows written in a
batch, rollups added up (two writers, as two replicas would), percentiles from the rollups."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from vectorcache.monitoring.analytics import Analytics, UsageQuery
from vectorcache.monitoring.histogram import quantile
from vectorcache.monitoring.log_store import RequestLogStore
from vectorcache.monitoring.rows import RequestRow
from vectorcache.store import open_store_for_url

DAY = 86400
T0 = datetime(2026, 11, 1, tzinfo=UTC).timestamp()

Opener = Callable[[], "asynccontextmanager[RequestLogStore]"]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vectorcache.db'}"
    return str(request.getfixturevalue("postgres_url"))


@asynccontextmanager
async def log_store(url: str) -> AsyncIterator[RequestLogStore]:
    store = open_store_for_url(url, Fernet.generate_key(), 4, searchable=False)
    await store.open()
    try:
        yield RequestLogStore(store.db)
    finally:
        await store.close()


def row(at: float, outcome: str, latency_ms: float, *, key: str = "k1", model: str = "m",
        reason: str = "", user: str = "", saved: float = 0.0) -> RequestRow:
    return RequestRow(at=at, project_id="p", key_id=key, route="/v1/cache/query",
                      method="POST", model=model, status=500 if outcome == "error" else 200,
                      outcome=outcome, reason=reason, latency_ms=latency_ms,
                      tokens_saved=10 if outcome.startswith("hit") else 0,
                      cost_saved_usd=saved, user_hash=user, client_ip="10.0.0.1")


def test_rows_and_rollups_add_up_on_both_backends(database_url: str) -> None:
    async def run() -> None:
        async with log_store(database_url) as store:
            first = [row(T0 + 10, "hit_exact", 2.0, saved=0.01, user="u1"),
                     row(T0 + 20, "hit_semantic", 8.0, saved=0.02),
                     row(T0 + 30, "miss", 400.0, user="u1"),
                     row(T0 + DAY + 5, "error", 1.0, reason="upstream_error", key="k2")]
            second = [row(T0 + 40, "hit_exact", 3.0, saved=0.01),
                      row(T0 + DAY + 6, "bypass", 50.0, reason="pii", key="k2")]
            await asyncio.gather(store.write(first), store.write(second))  # two writers
            recent = await store.recent("p", start=T0, end=T0 + 2 * DAY, limit=10)
            assert len(recent) == 6 and recent[0].outcome == "bypass"
            analytics = Analytics(store)
            answer = await analytics.usage(UsageQuery(
                "p", datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 2 * DAY, UTC),
                bucket="day", group_by="key"))
            groups = {g["group"]: g for g in answer["groups"]}
            k1 = groups["k1"]["totals"]
            assert k1["requests"] == 4 and k1["hits_exact"] == 2 and k1["hits_semantic"] == 1
            assert k1["misses"] == 1 and k1["hit_rate"] == 0.75
            assert k1["exact_hit_rate"] == 0.5 and k1["cost_saved_usd"] == 0.04
            assert k1["tokens_saved"] == 30
            assert [p["requests"] for p in groups["k1"]["series"]] == [4, 0]
            k2 = groups["k2"]["totals"]
            assert k2["errors_by_class"] == {"upstream_error": 1}
            assert k2["bypasses_by_reason"] == {"pii": 1} and k2["hit_rate"] is None
            assert answer["totals"]["requests"] == 6
            users = await analytics.usage(UsageQuery(
                "p", datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + DAY, UTC),
                bucket="hour", group_by="user"))
            assert [(g["group"], g["totals"]["requests"]) for g in users["groups"]] == [
                ("u1", 2)]
            assert await store.delete_before("p", T0 + DAY) == 4
            assert len(await store.recent("p", start=T0, end=T0 + 2 * DAY)) == 2

    asyncio.run(run())


def test_percentiles_from_fixed_buckets() -> None:
    assert quantile([0] * 17, 0.5) is None
    counts = [0] * 17
    counts[0] = 50  # <= 1 ms
    counts[9] = 50  # 50..100 ms
    assert quantile(counts, 0.5) == 1.0
    assert 50 < (quantile(counts, 0.95) or 0) <= 100

"""Analytics days in a time zone — the project's (its working hours') unless ``tz`` names
another: read from day rollups where the zone's days are UTC's, summed from hour rollups
elsewhere (DST days of 23 and 25 hours; half-hour zones floored to the hour), on a real SQLite
file and on PostgreSQL; the route with a controllable clock; and the rollups' slice column
added to a database written before it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.embeddings import Encoder
from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.analytics import Analytics, UsageQuery
from vectorcache.monitoring.histogram import N_BUCKETS, bucket_of, quantile
from vectorcache.monitoring.log_store import RequestLogStore
from vectorcache.monitoring.rollup import SUMS, rollup
from vectorcache.monitoring.rollup_plan import plan
from vectorcache.monitoring.rows import RequestRow
from vectorcache.monitoring.schema import HIST_COLUMNS
from vectorcache.monitoring.timerange import bucket_bounds
from vectorcache.settings import Settings
from vectorcache.store import open_store_for_url, pg_schema, sqlite_schema

HOUR, DAY = 3600, 86400


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def row(when: str, *, key: str = "k1", outcome: str = "hit_exact", user: str = "") -> RequestRow:
    return RequestRow(at=at(when), project_id="p", key_id=key, route="/v1/cache/query",
                      method="POST", model="m", status=200, outcome=outcome, reason="",
                      latency_ms=3.0, cost_saved_usd=0.01 if outcome == "hit_exact" else 0.0,
                      user_hash=user)


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


async def series(analytics: Analytics, start: str, end: str, tz: str,
                 group_by: str = "none") -> list[tuple[str, int]]:
    answer = await analytics.usage(UsageQuery(
        "p", datetime.fromisoformat(start), datetime.fromisoformat(end), bucket="day",
        group_by=group_by, tz=tz))
    assert answer["tz"] == tz
    return [(p["bucket_start"], p["requests"]) for g in answer["groups"] for p in g["series"]]


def test_days_are_the_zones_days_on_both_backends(database_url: str) -> None:
    """New York's 1 November 2026 has 25 hours (DST ends); a request at 22:00 there is the
    next day in UTC, and is counted on New York's day."""
    async def main() -> None:
        async with log_store(database_url) as store:
            await store.write([
                row("2026-11-01T03:30:00+00:00"),  # 31 Oct 23:30 EDT
                row("2026-11-02T03:00:00+00:00", user="u1"),  # 1 Nov 22:00 EST
                row("2026-11-02T06:00:00+00:00", key="k2", user="u1"),  # 2 Nov 01:00 EST
            ])
            analytics = Analytics(store)
            ny = "America/New_York"
            assert await series(analytics, "2026-11-01T00:00:00-04:00",
                                "2026-11-03T00:00:00-05:00", ny) == [
                ("2026-11-01T00:00:00-04:00", 1), ("2026-11-02T00:00:00-05:00", 1)]
            assert await series(analytics, "2026-11-01T00:00:00-04:00",
                                "2026-11-03T00:00:00-05:00", ny, "key") == [
                ("2026-11-01T00:00:00-04:00", 1), ("2026-11-02T00:00:00-05:00", 0),
                ("2026-11-01T00:00:00-04:00", 0), ("2026-11-02T00:00:00-05:00", 1)]
            assert await series(analytics, "2026-11-01T00:00:00-04:00",
                                "2026-11-03T00:00:00-05:00", ny, "user") == [
                ("2026-11-01T00:00:00-04:00", 1), ("2026-11-02T00:00:00-05:00", 1)]
            assert await series(analytics, "2026-11-01", "2026-11-03", "UTC") == [
                ("2026-11-01T00:00:00+00:00", 1), ("2026-11-02T00:00:00+00:00", 2)]
            # India (+05:30): hour rollups cannot split an hour, so its days start at the
            # hour before local midnight (23:30 local), and say so in bucket_start
            assert await series(analytics, "2026-11-01T00:00:00+05:30",
                                "2026-11-03T00:00:00+05:30", "Asia/Kolkata") == [
                ("2026-10-31T23:30:00+05:30", 1), ("2026-11-01T23:30:00+05:30", 2)]

    asyncio.run(main())


def test_a_zones_days_read_day_rows_and_the_hours_at_their_edges() -> None:
    """A month of days: London in November (UTC+0) reads its days' rows alone; New York
    (UTC-5) each day's row plus the 5 hours at each end; Berlin (UTC+1) 1 hour at each end;
    Kiribati (UTC+14: the nearest midnight 10 hours away) 10; hours alone where a bound is
    inside an hour."""
    def rows_read(tz: str, start: str = "2026-11-01", end: str = "2026-12-01") -> dict[str, int]:
        zone = ZoneInfo(tz)
        how = plan("day", bucket_bounds(datetime.fromisoformat(start).replace(tzinfo=zone),
                                        datetime.fromisoformat(end).replace(tzinfo=zone),
                                        "day", zone))
        read: dict[str, int] = {}
        for arm in how.arms:
            read[arm.grain] = read.get(arm.grain, 0) + arm.rows()
        return read

    assert rows_read("Europe/London") == {"day": 30}
    # 31 bounds: the first and the last border one bucket, the 29 between two (1 November
    # is still UTC-4 in New York)
    assert rows_read("America/New_York") == {"day": 30, "hour": 4 + 29 * 2 * 5 + 5}
    assert rows_read("Europe/Berlin") == {"day": 30, "hour": 1 + 29 * 2 * 1 + 1}
    assert rows_read("Pacific/Kiritimati") == {"day": 30, "hour": 10 + 29 * 2 * 10 + 10}
    assert rows_read("America/New_York", end="2026-11-30T12:30") == {"hour": 29 * 24 + 13}


ZONES = ("UTC", "Europe/London", "America/New_York", "Europe/Berlin", "Asia/Kolkata",
         "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati", "Pacific/Honolulu",
         "Australia/Lord_Howe")


def test_every_zones_days_add_up_to_its_requests(database_url: str) -> None:
    """Requests spread over two months (both DST changes of the northern autumn and the
    southern spring), summed per local day in zones of every kind of offset (half and
    quarter hours, +14, -10, a half-hour DST): each day's counts, savings and p50 are those
    of the requests in its hours, counted directly."""
    rng = random.Random(21)
    t0 = int(at("2026-09-20T00:00:00+00:00"))
    outcomes = ("hit_exact", "hit_semantic", "miss", "error")
    made = [RequestRow(at=t0 + rng.randrange(70 * DAY), project_id="p",
                       key_id=rng.choice(("k1", "k2")), route="/v1/cache/query",
                       method="POST", model="m", status=200, outcome=rng.choice(outcomes),
                       reason="", latency_ms=rng.choice((0.5, 4.0, 30.0, 300.0)),
                       cost_saved_usd=0.25) for _ in range(1500)]

    async def main() -> None:
        async with log_store(database_url) as store:
            await store.write(made)
            analytics = Analytics(store)
            # the last: its end inside an hour, so its days are summed from hours alone
            for tz, end_at in [*((tz, (2026, 11, 20)) for tz in ZONES),
                               ("America/New_York", (2026, 11, 19, 12, 30))]:
                zone = ZoneInfo(tz)
                start, end = (datetime(2026, 9, 25, tzinfo=zone),
                              datetime(*end_at, tzinfo=zone))  # type: ignore[misc]
                bounds = bucket_bounds(start, end, "day", zone)
                answer = await analytics.usage(UsageQuery("p", start, end, bucket="day",
                                                          group_by="key", tz=tz))
                for group in answer["groups"]:
                    for i, point in enumerate(group["series"]):
                        mine = [r for r in made if r.key_id == group["group"]
                                and bounds[i] <= r.at // HOUR * HOUR < bounds[i + 1]]
                        hits = sum(r.outcome.startswith("hit") for r in mine)
                        hist = [0] * N_BUCKETS
                        for r in mine:
                            hist[bucket_of(r.latency_ms)] += 1
                        assert (point["requests"], point["hits"], point["errors"]) == (
                            len(mine), hits, len(mine) - hits - sum(
                                r.outcome == "miss" for r in mine)), (tz, i)
                        assert point["cost_saved_usd"] == 0.25 * len(mine)
                        assert point["latency_ms"]["p50"] == quantile(hist, 0.5)
                        assert point["errors_by_class"] == (
                            {"unknown": point["errors"]} if point["errors"] else {})

    asyncio.run(main())


def test_bucket_bounds_across_dst_changes() -> None:
    ny = ZoneInfo("America/New_York")
    spring = bucket_bounds(datetime(2026, 3, 7, tzinfo=ny), datetime(2026, 3, 10, tzinfo=ny),
                           "day", ny)
    autumn = bucket_bounds(datetime(2026, 10, 31, tzinfo=ny), datetime(2026, 11, 3, tzinfo=ny),
                           "day", ny)
    assert [b - a for a, b in itertools.pairwise(spring)] == [DAY, DAY - HOUR, DAY]
    assert [b - a for a, b in itertools.pairwise(autumn)] == [DAY, DAY + HOUR, DAY]
    hour0 = int(at("2026-11-01T00:00:00+00:00"))
    assert bucket_bounds(datetime(2026, 11, 1, 0, 30, tzinfo=UTC),
                         datetime(2026, 11, 1, 2, 0, 1, tzinfo=UTC), "hour", ny) == [
        hour0, hour0 + HOUR, hour0 + 2 * HOUR, hour0 + 2 * HOUR + 1]
    # India's days, floored to the hour, end at the floored midnight too
    kolkata = ZoneInfo("Asia/Kolkata")
    assert bucket_bounds(datetime(2026, 11, 1, tzinfo=kolkata),
                         datetime(2026, 11, 3, tzinfo=kolkata), "day", kolkata) == [
        int(at("2026-10-31T18:00:00+00:00")) + i * DAY for i in range(3)]


class Clock:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def __call__(self) -> datetime:
        return self.when


def test_route_days_default_to_the_projects_zone(tmp_path: Path, encoder: Encoder) -> None:
    """"This month, per day, per key" in the project's time zone (New York): at 22:00 on
    1 December there, a request made at 22:00 on 30 November there (1 December in UTC) is
    last month's; ``tz=UTC`` counts it; an unknown zone is a 400."""
    clock = Clock(datetime(2026, 12, 2, 3, 0, tzinfo=UTC))  # 1 Dec 22:00 EST
    app = create_app(Settings(data_dir=tmp_path / "data", embedding_backend="onnx"),
                     encoder=encoder, clock=clock)
    with TestClient(app, raise_server_exceptions=False) as client:
        rt = app.state.runtime

        async def setup() -> tuple[str, str]:
            project = await rt.admin.create_project("zoned")
            created = await rt.admin.create_key(project, name="main")
            await rt.monitoring.alerts.update_settings(
                project.id, {"rules": {"after_hours": {"timezone": "America/New_York"}}})
            with pytest.raises(ValidationFailed):
                await rt.monitoring.alerts.update_settings(
                    project.id, {"rules": {"after_hours": {"timezone": "Nowhere/Land"}}})
            rows = [RequestRow(at=at(when), project_id=project.id, key_id=created.record.id,
                               route="/v1/cache/query", method="POST", model="gpt-4o",
                               status=200, outcome="hit_exact", reason="", latency_ms=2.0,
                               cost_saved_usd=0.5)
                    for when in ("2026-12-01T03:00:00+00:00", "2026-12-02T02:00:00+00:00")]
            await rt.monitoring.log_store.write(rows)
            return str(created.key), created.record.id

        key, key_id = client.portal.call(setup)  # type: ignore[union-attr]
        auth = {"Authorization": f"Bearer {key}"}

        def usage(**params: Any) -> Any:
            got = client.get("/v1/analytics/usage", params=params, headers=auth)
            assert got.status_code == 200, got.text
            return got.json()

        body = usage(group_by="key")
        assert body["tz"] == "America/New_York" and body["start"] == "2026-12-01T00:00:00-05:00"
        [group] = body["groups"]
        assert group["group"] == key_id and group["key_name"] == "main"
        assert [(p["bucket_start"], p["requests"], p["cost_saved_usd"], p["hit_rate"])
                for p in group["series"]] == [("2026-12-01T00:00:00-05:00", 1, 0.5, 1.0)]
        utc = usage(group_by="key", tz="UTC")
        assert [(p["bucket_start"], p["requests"]) for p in utc["groups"][0]["series"]] == [
            ("2026-12-01T00:00:00+00:00", 1), ("2026-12-02T00:00:00+00:00", 1)]
        # a date without an offset is the query's zone's
        tokyo = usage(tz="Asia/Tokyo", start="2026-12-01", end="2026-12-03")
        assert [(p["bucket_start"], p["requests"]) for p in tokyo["groups"][0]["series"]] == [
            ("2026-12-01T00:00:00+09:00", 1), ("2026-12-02T00:00:00+09:00", 1)]
        for bad in ("Mars/Olympus", "../etc/passwd", ""):
            got = client.get("/v1/analytics/usage", params={"tz": bad}, headers=auth)
            if bad:
                assert got.status_code == 400, got.text
                assert got.json()["code"] == "invalid_request" and "tz" in got.text
            else:  # empty: the project's zone
                assert got.status_code == 200


def _old_rollups(url: str, sqlite_path: Path | None, rows: list[RequestRow]) -> None:
    """A database as the release before the rollups' slices left it, with rollups in it."""
    deltas = rollup(rows)
    columns = ("project_id, grain, bucket, key_id, model, end_user, outcome, reason, "
               + ", ".join((*SUMS, *HIST_COLUMNS)))
    values = [(*key, *(v if i in (1, 2, 6, 7) else int(v) for i, v in enumerate(vals)))
              for key, vals in deltas.items()]
    marks = ", ".join(["{}"] * (8 + len(SUMS) + len(HIST_COLUMNS)))
    is_step = lambda step: "request_rollups_slice" in step  # noqa: E731
    if sqlite_path is not None:
        step = next(i for i, s in enumerate(sqlite_schema._STEPS) if is_step(s))
        with contextlib.closing(sqlite3.connect(sqlite_path, isolation_level=None)) as conn:
            for script in sqlite_schema._STEPS[:step]:
                for statement in sqlite_schema._split(script):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step}")
            conn.executemany(f"INSERT INTO request_rollups ({columns}) VALUES "
                             f"({marks.format(*'?' * marks.count('{}'))})", values)
        return
    import psycopg

    step = next(i for i, s in enumerate(pg_schema._STEPS) if is_step(s))
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for script in pg_schema._STEPS[:step]:
            for statement in script.replace("{dims}", "4").split(";\n"):
                if statement.strip():
                    pg.execute(statement)  # type: ignore[call-overload]
        pg.execute("CREATE TABLE vectorcache_schema (version INTEGER NOT NULL)")
        pg.execute("INSERT INTO vectorcache_schema (version) VALUES (%s)", (step,))
        with pg.cursor() as cur:
            cur.executemany(f"INSERT INTO request_rollups ({columns}) VALUES "  # type: ignore[arg-type]
                            f"({marks.format(*['%s'] * marks.count('{}'))})", values)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_existing_rollups_gain_their_slice(backend: str, tmp_path: Path,
                                           request: pytest.FixtureRequest) -> None:
    """Rollups written before the slice column answer the same queries after the migration,
    and new rows add to them."""
    sqlite_path = tmp_path / "vectorcache.db" if backend == "sqlite" else None
    url = f"sqlite:///{sqlite_path}" if sqlite_path else str(
        request.getfixturevalue("postgres_url"))
    _old_rollups(url, sqlite_path, [row("2026-11-05T10:00:00+00:00", user="u1"),
                                    row("2026-11-05T11:00:00+00:00", key="k2",
                                        outcome="miss")])

    async def main() -> None:
        async with log_store(url) as store:
            await store.write([row("2026-11-06T10:00:00+00:00", user="u2")])
            analytics = Analytics(store)

            async def totals(group_by: str, **filters: str) -> dict[str | None, int]:
                answer = await analytics.usage(UsageQuery(
                    "p", datetime(2026, 11, 1, tzinfo=UTC),
                    datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=30), bucket="day",
                    group_by=group_by, **filters))  # type: ignore[arg-type]
                return {g["group"]: g["totals"]["requests"] for g in answer["groups"]}

            assert await totals("none") == {None: 3}
            assert await totals("key") == {"k1": 2, "k2": 1}
            assert await totals("model") == {"m": 3}
            assert await totals("user") == {"u1": 1, "u2": 1}
            assert await totals("model", key_id="k2") == {"m": 1}
            assert await totals("none", key_id="k1") == {None: 2}

    asyncio.run(main())

"""Retention with a controllable clock on a real SQLite file (and the audit seal on
PostgreSQL): old request-log rows and audit rows go, audit rows sealed first by a hash chain
whose head is recorded; the audit log stays append-only to everything else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vectorcache.monitoring.retention import GENESIS, chain
from vectorcache.monitoring.rows import RequestRow
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings

DAY = 86400


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


def _row(at: float, project_id: str) -> RequestRow:
    return RequestRow(at=at, project_id=project_id, key_id="k", route="/v1/cache/query",
                      method="POST", model="m", status=200, outcome="miss", reason="",
                      latency_ms=5.0)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_retention_removes_old_rows_and_seals_the_audit_it_removes(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    overrides: dict[str, Any] = {}
    if backend == "postgres":
        overrides["database_url"] = str(request.getfixturevalue("postgres_url"))
    clock = Clock()

    async def main() -> None:
        settings = Settings(data_dir=tmp_path / "data", **overrides)
        async with Runtime.open(settings, with_embedder=False, clock=clock) as rt:
            assert rt.monitoring is not None
            mon = rt.monitoring
            short = await rt.admin.create_project("short")
            normal = await rt.admin.create_project("normal")
            await mon.alerts.update_settings(short.id, {"retention": {"request_log_days": 7,
                                                                       "audit_days": 30}})
            now = clock().timestamp()
            await mon.log_store.write([_row(now - 10 * DAY, short.id),
                                       _row(now - 1 * DAY, short.id),
                                       _row(now - 10 * DAY, normal.id)])
            removed = await mon.retention.run()
            assert removed["request_log"] == 1  # short's 10-day-old row; normal keeps 90 days
            assert removed["audit"] == 0
            assert len(await mon.log_store.recent(short.id, start=0, end=now + DAY)) == 1
            assert len(await mon.log_store.recent(normal.id, start=0, end=now + DAY)) == 1
            before = await rt.store.list_audit(None, 1000)
            clock.at += timedelta(days=40)  # the audit rows are now 40 days old
            removed = await mon.retention.run()
            after = await rt.store.list_audit(None, 1000)
            gone = sorted((e for e in before if e.id not in {a.id for a in after}),
                          key=lambda e: e.id)
            assert gone and all(e.project_id == short.id for e in gone)
            assert removed["audit"] == len(gone)
            (seal,) = await mon.retention.seals()
            assert seal["rows"] == len(gone) and seal["first_id"] == gone[0].id
            rows = [(e.id, e.at.timestamp(), e.action, e.project_id, e.actor, e.target,
                     _details(e.details)) for e in gone]
            assert seal["head"] == chain(GENESIS, rows)  # an export of them re-derives it
            with pytest.raises(Exception):  # append-only again  # noqa: B017
                await rt.store.db.write(lambda c: c.execute("DELETE FROM audit"))

    asyncio.run(main())


def _details(details: dict[str, object]) -> str:
    import json

    return json.dumps(details)


def test_cache_cap_evicts_the_least_recently_served(tmp_path: Path) -> None:
    import numpy as np

    from vectorcache.models import NewEntry, UsageEvent

    async def main() -> None:
        settings = Settings(data_dir=tmp_path / "data")
        async with Runtime.open(settings, with_embedder=False) as rt:
            assert rt.monitoring is not None
            project = await rt.admin.create_project("capped")
            vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
            ids = [await rt.store.insert_entry(NewEntry(
                project_id=project.id, partition="p", exact_key=f"k{i}", model="m",
                prompt=f"prompt {i}", response="answer", embedding=vector)) for i in range(4)]
            # served since: entry 0, then entry 2 (1 and 3 never were)
            for entry_id in (ids[0], ids[2]):
                await rt.store.add_events([UsageEvent(project.id, "hit", entry_id=entry_id)])
                await asyncio.sleep(0.01)
            assert await rt.monitoring.enforce_caps() == 0  # no cap set: nothing goes
            await rt.monitoring.alerts.update_settings(project.id, {"cache": {"max_entries": 2}})
            assert await rt.monitoring.enforce_caps() == 2
            left = {e.id for e in await rt.store.list_entries(project.id)}
            assert left == {ids[0], ids[2]}

    asyncio.run(main())

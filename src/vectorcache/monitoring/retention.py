"""Retention, run by the schedule once an hour across replicas: the request log (90 days by
default) and audit log (1 year) per project's settings, minute rollups after 48 hours, and
expired cache entries.

The audit log is append-only to the application (database triggers refuse UPDATE and
DELETE). Only this job removes audit rows, and it seals them first: a SHA-256 hash chain over
the removed rows, in id order, continuing from the previous seal's head,

    head_0 = previous head (or 64 zeros); head_i = sha256(head_{i-1} || canonical(row_i))

is recorded in ``audit_seals`` with the id range and row count, in the same transaction as the
delete (the append-only trigger is lifted for that transaction only). Anyone holding an export
of the removed rows can recompute the head (``chain``); rows removed any other way leave a gap
in the sealed id ranges.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from vectorcache.monitoring.alerts import AlertService
from vectorcache.monitoring.log_store import RequestLogStore
from vectorcache.store import Store
from vectorcache.store.sql import Conn

__all__ = ["GENESIS", "Retention", "canonical", "chain"]

log = logging.getLogger("vectorcache.monitoring")

DAY = 86400.0
MINUTE_ROLLUPS_KEPT = 2 * DAY
GENESIS = "0" * 64
_AUDIT = "id, at, action, project_id, actor, target, details"


def canonical(row: Sequence[Any]) -> bytes:
    """One audit row as the chain hashes it (its columns in ``_AUDIT`` order, as JSON)."""
    return json.dumps([row[0], float(row[1]), *row[2:7]], separators=(",", ":"),
                      ensure_ascii=False).encode()


def chain(head: str, rows: Sequence[Sequence[Any]]) -> str:
    for row in rows:
        head = hashlib.sha256(head.encode() + canonical(row)).hexdigest()
    return head


def _without_append_only(conn: Conn, is_sqlite: bool, fn: Callable[[], int]) -> int:
    """Run ``fn`` with the audit log's no-delete trigger lifted, in this transaction only."""
    if is_sqlite:
        row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger'"
                           " AND name = 'audit_no_delete'").fetchone()
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        try:
            return fn()
        finally:
            if row is not None:
                conn.execute(row[0])
    conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
    try:
        return fn()
    finally:
        conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")


class Retention:
    def __init__(self, store: Store, log_store: RequestLogStore, alerts: AlertService,
                 clock: Callable[[], float]) -> None:
        self._store = store
        self._log = log_store
        self._alerts = alerts
        self._clock = clock

    async def run(self) -> dict[str, int]:
        now = self._clock()
        removed = {"request_log": 0, "entries": 0, "audit": 0}
        cutoffs: dict[str | None, float] = {}
        for project in await self._store.list_projects():
            kept = (await self._alerts.settings(project.id))["retention"]
            removed["request_log"] += await self._log.delete_before(
                project.id, now - kept["request_log_days"] * DAY)
            cutoffs[project.id] = now - kept["audit_days"] * DAY
            cleared, _ = await self._store.clear(
                project.id, expired_only=True, older_than=None,
                now=datetime.fromtimestamp(now, UTC))
            removed["entries"] += cleared
        defaults = (await self._alerts.settings(""))["retention"]
        removed["request_log"] += await self._log.delete_before(
            "", now - defaults["request_log_days"] * DAY)  # refused before a project was known
        await self._log.delete_minutes_before(now - MINUTE_ROLLUPS_KEPT)
        cutoffs[None] = now - defaults["audit_days"] * DAY
        removed["audit"] = await self.remove_audit(cutoffs, now)
        if any(removed.values()):
            log.info("retention removed %s", removed)
        return removed

    async def remove_audit(self, cutoffs: dict[str | None, float], now: float) -> int:
        """Seal, then delete, the audit rows older than their project's cutoff (None: the
        rows of no project, and of projects not named)."""
        is_sqlite = type(self._store).__name__.startswith("Sqlite")
        default = cutoffs[None]

        def run(conn: Conn) -> int:
            rows = [tuple(r[i] for i in range(7)) for r in conn.execute(
                f"SELECT {_AUDIT} FROM audit WHERE at < ? ORDER BY id",
                (max(cutoffs.values()),)).fetchall()]
            doomed = [r for r in rows if float(r[1]) < cutoffs.get(r[3], default)]
            if not doomed:
                return 0
            last = conn.execute("SELECT head FROM audit_seals ORDER BY id DESC LIMIT 1"
                                ).fetchone()
            head = chain(GENESIS if last is None else str(last[0]), doomed)
            conn.execute("INSERT INTO audit_seals (sealed_at, first_id, last_id, rows_sealed,"
                         " head) VALUES (?, ?, ?, ?, ?)",
                         (now, doomed[0][0], doomed[-1][0], len(doomed), head))
            ids = [r[0] for r in doomed]

            def delete() -> int:
                for i in range(0, len(ids), 500):
                    part = ids[i:i + 500]
                    conn.execute(f"DELETE FROM audit WHERE id IN ({', '.join('?' * len(part))})",
                                 part)
                return len(ids)

            return _without_append_only(conn, is_sqlite, delete)

        return await self._store.db.write(run)

    async def seals(self) -> list[dict[str, Any]]:
        rows = await self._store.db.read(lambda c: c.execute(
            "SELECT id, sealed_at, first_id, last_id, rows_sealed, head FROM audit_seals"
            " ORDER BY id").fetchall())
        return [{"id": r[0], "sealed_at": r[1], "first_id": r[2], "last_id": r[3],
                 "rows": r[4], "head": r[5]} for r in rows]

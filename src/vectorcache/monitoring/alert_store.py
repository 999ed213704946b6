"""The SQL of alerts, webhooks, deliveries, networks seen per key, per-project monitoring
settings and the schedule's once-per-period claims (shared dialect, both backends)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from vectorcache.keyring import KeyRing, open_sealed
from vectorcache.monitoring.alert_models import Alert, Delivery, NewAlert, Webhook
from vectorcache.store.sql import Conn, Db

__all__ = ["AlertStore", "SealingKeyRing"]

T = TypeVar("T")

_ALERT = ("id, project_id, rule, key_id, severity, created_at, summary, evidence, "
          "acknowledged_at, acknowledged_by")
_DELIVERY = ("id, alert_id, webhook_id, status, attempts, next_at, last_error, last_status, "
             "delivered_at")


def _alert(row: Any) -> Alert:
    return Alert(id=row[0], project_id=row[1], rule=row[2], key_id=row[3], severity=row[4],
                 created_at=float(row[5]), summary=row[6], evidence=json.loads(row[7]),
                 acknowledged_at=row[8], acknowledged_by=row[9])


def _delivery(row: Any) -> Delivery:
    return Delivery(*(row[i] for i in range(9)))


class SealingKeyRing(KeyRing, Protocol):
    """The ``Store``: its key ring, and its writes that seal under the active data key (a
    rotation on another replica cannot leave a secret under a key being retired)."""

    async def sealed_write(self, fn: Callable[[Conn], T]) -> T: ...


class AlertStore:
    def __init__(self, db: Db, keys: SealingKeyRing) -> None:
        self._db = db
        self._keys = keys

    # ------------------------------------------------------------ settings, schedule
    async def settings(self, project_id: str) -> dict[str, Any]:
        row = await self._db.read(lambda c: c.execute(
            "SELECT settings FROM monitor_settings WHERE project_id = ?",
            (project_id,)).fetchone())
        return {} if row is None else dict(json.loads(row[0]))

    async def set_settings(self, project_id: str, settings: dict[str, Any]) -> None:
        text = json.dumps(settings, sort_keys=True)
        await self._db.write(lambda c: c.execute(
            "INSERT INTO monitor_settings (project_id, settings) VALUES (?, ?) ON CONFLICT"
            " (project_id) DO UPDATE SET settings = excluded.settings", (project_id, text)))

    async def claim(self, job: str, now: float, period: float) -> float | None:
        """Run ``job`` this period? Across replicas, one caller wins each period (a conditional
        update of one shared row); the winner gets the previous run's time (0: never)."""
        def run(conn: Conn) -> float | None:
            conn.execute("INSERT INTO monitor_jobs (name, last_run) VALUES (?, 0)"
                         " ON CONFLICT (name) DO NOTHING", (job,))
            last = conn.execute("SELECT last_run FROM monitor_jobs WHERE name = ?",
                                (job,)).fetchone()[0]
            won = conn.execute("UPDATE monitor_jobs SET last_run = ? WHERE name = ?"
                               " AND last_run = ? AND last_run <= ?",
                               (now, job, last, now - period)).rowcount
            return float(last) if won == 1 else None

        return await self._db.write(run)

    # ------------------------------------------------------------ what rules read
    async def projects_with_requests(self, since: float) -> list[str]:
        rows = await self._db.read(lambda c: c.execute(
            "SELECT DISTINCT project_id FROM request_log WHERE at >= ?", (since,)).fetchall())
        return [r[0] for r in rows]

    async def key_hours(self, project_id: str, buckets: Sequence[int]) -> list[Any]:
        """(key_id, bucket, requests) of the hourly per-key rollups at ``buckets``."""
        marks = ", ".join("?" * len(buckets))
        return await self._db.read(lambda c: c.execute(
            "SELECT key_id, bucket, SUM(requests) FROM request_rollups WHERE project_id = ?"
            " AND grain = 'hour' AND model = '*' AND key_id <> '*' AND end_user = ''"
            f" AND bucket IN ({marks}) GROUP BY key_id, bucket",
            (project_id, *buckets)).fetchall())

    async def requests_since(self, project_id: str | None, since: float, until: float
                             ) -> list[Any]:
        """(at, key_id, client_ip, status, reason) of the request log in [since, until)."""
        sql = ("SELECT at, key_id, client_ip, status, reason, project_id FROM request_log"
               " WHERE at >= ? AND at < ?")
        args: list[Any] = [since, until]
        if project_id is not None:
            sql, args = sql + " AND project_id = ?", [*args, project_id]
        return await self._db.read(lambda c: c.execute(sql, args).fetchall())

    async def remember_networks(self, project_id: str, seen: dict[tuple[str, str], float]
                                ) -> list[tuple[str, str, int]]:
        """Record the (key, network) pairs; those new to their key, with how many networks
        the key had been seen from before."""
        def run(conn: Conn) -> list[tuple[str, str, int]]:
            new = []
            for (key_id, network), at in sorted(seen.items()):
                known = conn.execute(
                    "SELECT COUNT(*), SUM(CASE WHEN network = ? THEN 1 ELSE 0 END)"
                    " FROM monitor_key_networks WHERE key_id = ?", (network, key_id)).fetchone()
                if int(known[1] or 0):
                    conn.execute("UPDATE monitor_key_networks SET last_seen = ? WHERE key_id = ?"
                                 " AND network = ?", (at, key_id, network))
                    continue
                conn.execute("INSERT INTO monitor_key_networks (key_id, network, project_id,"
                             " first_seen, last_seen) VALUES (?, ?, ?, ?, ?)",
                             (key_id, network, project_id, at, at))
                new.append((key_id, network, int(known[0] or 0)))
            return new

        return await self._db.write(run)

    # ------------------------------------------------------------ alerts
    async def add_alert(self, alert: NewAlert, now: float) -> Alert | None:
        """The stored alert, or None when this one (same dedupe) was raised before."""
        values = (str(uuid.uuid4()), alert.project_id, alert.rule, alert.key_id,
                  alert.severity, now, alert.summary, json.dumps(alert.evidence, default=str))

        def run(conn: Conn) -> bool:
            cur = conn.execute(
                f"INSERT INTO monitor_alerts ({_ALERT}, dedupe) VALUES (?,?,?,?,?,?,?,?,"
                "NULL,NULL,?) ON CONFLICT (project_id, dedupe) DO NOTHING",
                (*values, alert.dedupe))
            return int(cur.rowcount) == 1

        if not await self._db.write(run):
            return None
        return Alert(values[0], alert.project_id, alert.rule, alert.key_id, alert.severity,
                     now, alert.summary, json.loads(values[7]), None, None)

    async def alerts(self, project_id: str | None, *, limit: int = 100,
                     unacknowledged: bool = False) -> list[Alert]:
        where, args = [], []
        if project_id is not None:
            where, args = ["project_id = ?"], [project_id]
        if unacknowledged:
            where.append("acknowledged_at IS NULL")
        sql = (f"SELECT {_ALERT} FROM monitor_alerts"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY created_at DESC LIMIT ?")
        rows = await self._db.read(lambda c: c.execute(sql, (*args, limit)).fetchall())
        return [_alert(r) for r in rows]

    async def alert(self, alert_id: str) -> Alert | None:
        row = await self._db.read(lambda c: c.execute(
            f"SELECT {_ALERT} FROM monitor_alerts WHERE id = ?", (alert_id,)).fetchone())
        return None if row is None else _alert(row)

    async def acknowledge(self, alert_id: str, actor: str, now: float) -> None:
        await self._db.write(lambda c: c.execute(
            "UPDATE monitor_alerts SET acknowledged_at = ?, acknowledged_by = ?"
            " WHERE id = ? AND acknowledged_at IS NULL", (now, actor, alert_id)))

    # ------------------------------------------------------------ webhooks
    async def add_webhook(self, project_id: str, url: str, secret: str, fmt: str,
                          now: float) -> Webhook:
        hook = Webhook(str(uuid.uuid4()), project_id, url, fmt, now, True)

        def insert(c: Conn) -> None:  # sealed under the active key as of this transaction
            cipher = self._keys.cipher
            c.execute("INSERT INTO monitor_webhooks (id, project_id, url, kid, secret, format,"
                      " created_at, enabled) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                      (hook.id, project_id, url, cipher.active_kid,
                       cipher.encrypt(secret.encode()), fmt, now))

        await self._keys.sealed_write(insert)
        return hook

    async def webhooks(self, project_id: str) -> list[Webhook]:
        rows = await self._db.read(lambda c: c.execute(
            "SELECT id, project_id, url, format, created_at, enabled FROM monitor_webhooks"
            " WHERE project_id = ? ORDER BY created_at", (project_id,)).fetchall())
        return [Webhook(r[0], r[1], r[2], r[3], float(r[4]), bool(r[5])) for r in rows]

    async def webhook_secret(self, webhook_id: str) -> tuple[Webhook, str] | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT id, project_id, url, format, created_at, enabled, kid, secret"
            " FROM monitor_webhooks WHERE id = ?", (webhook_id,)).fetchone())
        if row is None:
            return None
        hook = Webhook(row[0], row[1], row[2], row[3], float(row[4]), bool(row[5]))
        return hook, (await open_sealed(self._keys, row[6], bytes(row[7]))).decode()

    async def delete_webhook(self, project_id: str, webhook_id: str) -> bool:
        cur = await self._db.write(lambda c: c.execute(
            "DELETE FROM monitor_webhooks WHERE id = ? AND project_id = ?",
            (webhook_id, project_id)))
        return int(cur.rowcount) == 1

    # ------------------------------------------------------------ deliveries
    async def enqueue(self, alert_id: str, webhook_ids: Sequence[str], now: float) -> None:
        if webhook_ids:
            await self._db.write(lambda c: c.executemany(
                "INSERT INTO monitor_deliveries (alert_id, webhook_id, status, attempts,"
                " next_at) VALUES (?, ?, 'pending', 0, ?)",
                [(alert_id, w, now) for w in webhook_ids]))

    async def due(self, now: float, limit: int = 50) -> list[Delivery]:
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {_DELIVERY} FROM monitor_deliveries WHERE status = 'pending'"
            " AND next_at <= ? ORDER BY next_at LIMIT ?", (now, limit)).fetchall())
        return [_delivery(r) for r in rows]

    async def deliveries(self, alert_id: str) -> list[Delivery]:
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {_DELIVERY} FROM monitor_deliveries WHERE alert_id = ? ORDER BY id",
            (alert_id,)).fetchall())
        return [_delivery(r) for r in rows]

    async def settle(self, delivery_id: int, *, status: str, attempts: int, next_at: float,
                     error: str | None, http_status: int | None,
                     delivered_at: float | None) -> None:
        await self._db.write(lambda c: c.execute(
            "UPDATE monitor_deliveries SET status = ?, attempts = ?, next_at = ?,"
            " last_error = ?, last_status = ?, delivered_at = ? WHERE id = ?",
            (status, attempts, next_at, error, http_status, delivered_at, delivery_id)))

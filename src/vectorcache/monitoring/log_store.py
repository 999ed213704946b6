"""The request log's and rollups' SQL, in the dialect both backends share (``store/sql.py``)."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.rollup import ANY, SUMS, RollupKey, rollup
from vectorcache.monitoring.rows import RequestRow
from vectorcache.monitoring.schema import HIST_COLUMNS
from vectorcache.store.sql import Conn, Db

__all__ = ["GROUPS", "RequestLogStore"]

_ROW_COLUMNS = tuple(f.name for f in fields(RequestRow))
_as_tuple = operator.attrgetter(*_ROW_COLUMNS)
_KEY_COLUMNS = ("project_id", "grain", "bucket", "key_id", "model", "end_user", "outcome",
                "reason")
_VALUE_COLUMNS = (*SUMS, *HIST_COLUMNS)
_INSERT_LOG = (f"INSERT INTO request_log ({', '.join(_ROW_COLUMNS)}) "
               f"VALUES ({', '.join('?' * len(_ROW_COLUMNS))})")
_UPSERT = (
    f"INSERT INTO request_rollups ({', '.join((*_KEY_COLUMNS, *_VALUE_COLUMNS))}) "
    f"VALUES ({', '.join('?' * (len(_KEY_COLUMNS) + len(_VALUE_COLUMNS)))}) "
    f"ON CONFLICT ({', '.join(_KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f"{c} = request_rollups.{c} + excluded.{c}" for c in _VALUE_COLUMNS))
_INTEGERS = frozenset(("requests", "tokens_in", "tokens_out", "tokens_saved", *HIST_COLUMNS))

#: what a query can be broken down by -> the column shown as the group
GROUPS: dict[str, str] = {"none": "''", "key": "key_id", "model": "model", "user": "end_user"}


def _slice(group: str, filters: dict[str, str]) -> tuple[list[str], list[Any]]:
    """The WHERE terms choosing the rollup slice that holds exactly what is asked for."""
    where: list[str] = []
    args: list[Any] = []
    if group == "user":
        if filters:
            raise ValidationFailed("per end user, the rollups are not kept per key or model")
        return ["key_id = ?", "model = ?", "end_user <> ''"], [ANY, ANY]
    for column, grouped in (("key_id", group == "key"), ("model", group == "model")):
        if column in filters:
            where.append(f"{column} = ?")
            args.append(filters[column])
        else:
            where.append(f"{column} <> ?" if grouped else f"{column} = ?")
            args.append(ANY)
    where.append("end_user = ''")
    return where, args


def _values(values: Sequence[float]) -> list[Any]:
    return [int(v) if c in _INTEGERS else v for c, v in zip(_VALUE_COLUMNS, values, strict=True)]


def upsert_rollups(conn: Conn, deltas: dict[RollupKey, list[float]]) -> None:
    """Add ``deltas`` to the stored rollups (sorted: concurrent writers lock rows in order)."""
    conn.executemany(_UPSERT, [(*key, *_values(deltas[key])) for key in sorted(deltas)])


class RequestLogStore:
    def __init__(self, db: Db) -> None:
        self._db = db

    async def write(self, rows: Sequence[RequestRow]) -> None:
        """The rows, and their rollups, in one transaction (summed in the writer thread,
        not on the event loop)."""
        def run(conn: Conn) -> None:
            conn.executemany(_INSERT_LOG, [_as_tuple(row) for row in rows])
            upsert_rollups(conn, rollup(rows))

        await self._db.write(run)

    async def add_rollups(self, deltas: dict[RollupKey, list[float]]) -> None:
        """Rollups without their rows (benchmarks fill a month this way)."""
        await self._db.write(lambda conn: upsert_rollups(conn, deltas))

    async def rollups(self, project_id: str, grain: str, start: int, end: int, group: str,
                      filters: dict[str, str] | None = None,
                      limit: int | None = None) -> list[tuple[Any, ...]]:
        """Summed rollups in [start, end): rows of (bucket, group value, outcome, reason,
        *SUMS, *histogram counts); with ``limit``, of the ``limit`` busiest groups only."""
        column = GROUPS[group]
        terms, slice_args = _slice(group, filters or {})
        where = ["project_id = ?", "grain = ?", "bucket >= ?", "bucket < ?", *terms]
        args: list[Any] = [project_id, grain, start, end, *slice_args]
        sums = ", ".join(f"SUM({c})" for c in _VALUE_COLUMNS)
        top = (f"SELECT {column} FROM request_rollups WHERE {' AND '.join(where)}"
               f" GROUP BY {column} ORDER BY SUM(requests) DESC, {column} LIMIT ?")

        def run(conn: Conn) -> list[Any]:
            terms, extra = list(where), list(args)
            if limit is not None and group != "none":
                chosen = [row[0] for row in conn.execute(top, (*args, limit)).fetchall()]
                if not chosen:
                    return []
                terms.append(f"{column} IN ({', '.join('?' * len(chosen))})")
                extra += chosen
            sql = (f"SELECT bucket, {column} AS grp, outcome, reason, {sums}"
                   f" FROM request_rollups WHERE {' AND '.join(terms)}"
                   " GROUP BY bucket, grp, outcome, reason")
            found: list[Any] = conn.execute(sql, extra).fetchall()
            return found

        return [tuple(row) for row in await self._db.read(run)]

    async def recent(self, project_id: str, *, start: float, end: float,
                     limit: int = 100) -> list[RequestRow]:
        sql = (f"SELECT {', '.join(_ROW_COLUMNS)} FROM request_log WHERE project_id = ?"
               " AND at >= ? AND at < ? ORDER BY at DESC LIMIT ?")
        rows = await self._db.read(
            lambda conn: conn.execute(sql, (project_id, start, end, limit)).fetchall())
        return [RequestRow(*(row[i] for i in range(len(_ROW_COLUMNS)))) for row in rows]

    async def delete_minutes_before(self, before: float) -> None:
        """Minute rollups older than ``before`` (hours and days are kept with the log)."""
        await self._db.write(lambda conn: conn.execute(
            "DELETE FROM request_rollups WHERE grain = 'minute' AND bucket < ?", (int(before),)))

    async def delete_before(self, project_id: str, before: float) -> int:
        """Request-log rows and rollups of ``project_id`` older than ``before``."""
        def run(conn: Conn) -> int:
            removed = conn.execute("DELETE FROM request_log WHERE project_id = ? AND at < ?",
                                   (project_id, before)).rowcount
            conn.execute("DELETE FROM request_rollups WHERE project_id = ? AND bucket < ?",
                         (project_id, int(before)))
            return int(removed)

        return await self._db.write(run)


def rows_as_dicts(rows: Iterable[RequestRow]) -> list[dict[str, Any]]:
    return [dict(zip(_ROW_COLUMNS, _as_tuple(row), strict=True)) for row in rows]

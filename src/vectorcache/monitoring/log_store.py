"""The request log's and rollups' SQL, in the dialect both backends share (``store/sql.py``)."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.rollup import ANY, SUMS, RollupKey, rollup, slice_of
from vectorcache.monitoring.rollup_plan import plan
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
    f"INSERT INTO request_rollups ({', '.join((*_KEY_COLUMNS, 'dims', *_VALUE_COLUMNS))}) "
    f"VALUES ({', '.join('?' * (len(_KEY_COLUMNS) + 1 + len(_VALUE_COLUMNS)))}) "
    f"ON CONFLICT ({', '.join(_KEY_COLUMNS)}) DO UPDATE SET "
    + ", ".join(f"{c} = request_rollups.{c} + excluded.{c}" for c in _VALUE_COLUMNS))
_INTEGERS = frozenset(("requests", "tokens_in", "tokens_out", "tokens_saved", *HIST_COLUMNS))

#: the values summed per series bucket, each row counted + or - (``rollup_plan``); an integer
#: sum cast back from PostgreSQL's NUMERIC
_SIGNED_SUMS = ", ".join(f"CAST(SUM(sign * {c}) AS BIGINT)" if c in _INTEGERS else
                         f"SUM(sign * {c})" for c in _VALUE_COLUMNS)
_SUMS = ", ".join(f"CAST(SUM({c}) AS BIGINT)" if c in _INTEGERS else f"SUM({c})"
                  for c in _VALUE_COLUMNS)

#: what a query can be broken down by -> the column shown as the group
GROUPS: dict[str, str] = {"none": "''", "key": "key_id", "model": "model", "user": "end_user"}


def _slice(group: str, filters: dict[str, str]) -> tuple[list[str], list[Any]]:
    """The WHERE terms choosing the rollup slice that holds exactly what is asked for: its
    ``dims`` (which the index ``request_rollups_slice`` leads with), then any filter."""
    if group == "user":
        if filters:
            raise ValidationFailed("per end user, the rollups are not kept per key or model")
        return ["dims = ?"], ["user"]
    by_key = group == "key" or "key_id" in filters
    by_model = group == "model" or "model" in filters
    dims = slice_of("k" if by_key else ANY, "m" if by_model else ANY, "")
    where, args = ["dims = ?"], [dims]
    for column in ("key_id", "model"):
        if column in filters:
            where.append(f"{column} = ?")
            args.append(filters[column])
    return where, args


def _values(values: Sequence[float]) -> list[Any]:
    return [int(v) if c in _INTEGERS else v for c, v in zip(_VALUE_COLUMNS, values, strict=True)]


def upsert_rollups(conn: Conn, deltas: dict[RollupKey, list[float]]) -> None:
    """Add ``deltas`` to the stored rollups (sorted: concurrent writers lock rows in order)."""
    conn.executemany(_UPSERT, [(*key, slice_of(key[3], key[4], key[5]), *_values(deltas[key]))
                               for key in sorted(deltas)])


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

    async def rollups(self, project_id: str, bucket: str, bounds: Sequence[int], group: str,
                      filters: dict[str, str] | None = None,
                      limit: int | None = None) -> list[tuple[Any, ...]]:
        """Summed rollups by series bucket: the buckets start at ``bounds[:-1]`` (the grain's
        own, or a time zone's days) and the last ends at ``bounds[-1]``; ``rollup_plan``
        chooses the rows. Rows of (bucket start, group value, outcome, reason, *SUMS,
        *histogram counts), a bucket's in one or more rows; with ``limit``, of the ``limit``
        busiest groups only. Each arm of the plan is one index range (a SELECT of a UNION
        ALL), which both SQLite and PostgreSQL read as such."""
        column = GROUPS[group]
        terms, slice_args = _slice(group, filters or {})
        how = plan(bucket, bounds)
        grain, lo, hi = how.span
        count = (f"SELECT COUNT(DISTINCT {column}) FROM request_rollups WHERE project_id = ?"
                 f" AND grain = ? AND {' AND '.join(terms)} AND bucket >= ? AND bucket < ?")
        count_args = (project_id, grain, *slice_args, lo, hi)  # from the index alone

        def arms(extra: list[str], picked: Sequence[Any], select: str,
                 signed: bool = True) -> tuple[str, list[Any]]:
            sql, args = [], []
            for arm in how.arms:
                where = ["project_id = ?", "grain = ?", *terms,
                         f"bucket >= {arm.lo} AND bucket < {arm.hi}", *extra]
                sign = f", {arm.sign} AS sign" if signed else ""
                sql.append(f"SELECT {arm.at} AS at_bucket{sign}, {column} AS grp, {select}"
                           f" FROM request_rollups WHERE {' AND '.join(where)}")
                args += [project_id, arm.grain, *slice_args, *picked]
            return " UNION ALL ".join(sql), args

        top, top_args = arms([], [], "requests")
        top = (f"SELECT grp FROM ({top}) AS parts GROUP BY grp"
               " ORDER BY SUM(sign * requests) DESC, grp LIMIT ?")

        def run(conn: Conn) -> list[Any]:
            extra: list[str] = []
            chosen: list[Any] = []
            if (limit is not None and group != "none"
                    and int(conn.execute(count, count_args).fetchone()[0]) > limit):
                chosen = [row[0] for row in conn.execute(top, (*top_args, limit)).fetchall()]
                if not chosen:
                    return []
                extra.append(f"{column} IN ({', '.join('?' * len(chosen))})")
            if how.native:  # the rows as they are
                sql, args = arms(extra, chosen, f"outcome, reason, {_SUMS}", signed=False)
                sql += " GROUP BY at_bucket, grp, outcome, reason"
            else:
                sql, args = arms(extra, chosen, ", ".join(("outcome", "reason",
                                                             *_VALUE_COLUMNS)))
                sql = (f"SELECT at_bucket, grp, outcome, reason, {_SIGNED_SUMS} FROM ({sql})"
                       " AS parts GROUP BY at_bucket, grp, outcome, reason")
            found: list[Any] = conn.execute(sql, args).fetchall()
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

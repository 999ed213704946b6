"""PostgreSQL plumbing: connections per worker thread, the shared SQL dialect, typed failures.

Each worker thread keeps one psycopg connection (``store/threaded.py``; autocommit, and
``write`` wraps the call in a transaction). Reads and writes run on separate small pools so a
write waiting on a lock never holds up lookups. Statements are written in the dialect of
``store/sql.py`` (``?`` placeholders) and translated once. Any database failure surfaces as
``ServiceUnavailable`` (503, retryable), never a 500; a broken connection is dropped and the next
call reconnects.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import psycopg

from vectorcache.store.sql import Conn
from vectorcache.store.threaded import ThreadedDb

__all__ = ["PgDb"]

T = TypeVar("T")


@functools.lru_cache(maxsize=512)
def _dialect(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (a literal ``%`` doubled first)."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Row:
    """A row read by column name or by position, like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]) -> None:
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def __len__(self) -> int:
        return len(self._values)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], _Row]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: _Row(names, values)


class _PgConn:
    """A psycopg connection speaking the shared dialect (``store/sql.py``'s ``Conn``)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.raw = conn

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Any:
        return self.raw.cursor(row_factory=_row_factory).execute(_dialect(sql), parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Any:
        cursor = self.raw.cursor(row_factory=_row_factory)
        cursor.executemany(_dialect(sql), list(seq_of_parameters))
        return cursor


class PgDb(ThreadedDb[_PgConn]):
    driver_error = psycopg.Error

    def __init__(self, url: str, *, readers: int = 4, writers: int = 2,
                 session: Sequence[str] = ()) -> None:
        """``session``: statements run once on each new connection (e.g. a search setting)."""
        super().__init__(readers=readers, writers=writers, name="pg")
        self._url = url
        self._session = tuple(session)

    def _connect(self) -> _PgConn:
        raw = psycopg.connect(self._url, autocommit=True, connect_timeout=10,
                              application_name="vectorcache")
        for statement in self._session:
            raw.execute(statement)
        return _PgConn(raw)

    def _usable(self, conn: _PgConn) -> bool:
        return not conn.raw.closed

    def _disconnect(self, conn: _PgConn) -> None:
        try:
            conn.raw.close()
        except psycopg.Error:
            pass

    def _call(self, fn: Callable[[Conn], T], transaction: bool) -> T:
        conn = self._connection()
        try:
            if not transaction:
                return fn(conn)
            with conn.raw.transaction():
                return fn(conn)
        except psycopg.OperationalError:
            conn.raw.close()  # the server went away or restarted: reconnect next time
            raise

    async def read(self, fn: Callable[[Conn], T]) -> T:
        result: T = await self._run(self._reader_pool, functools.partial(self._call, fn, False))
        return result

    async def write(self, fn: Callable[[Conn], T]) -> T:
        result: T = await self._run(self._writer_pool, functools.partial(self._call, fn, True))
        return result

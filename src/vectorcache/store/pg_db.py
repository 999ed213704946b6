"""PostgreSQL plumbing: connections per worker thread, the shared SQL dialect, typed failures.

Each worker thread keeps one psycopg connection (autocommit; ``write`` wraps the call in a
transaction). Reads and writes run on separate small pools so a write waiting on a lock never
holds up lookups. Statements are written in the dialect of ``store/sql.py`` (``?``
placeholders) and translated once. Any database failure surfaces as ``ServiceUnavailable``
(503, retryable), never a 500; a broken connection is dropped and the next call reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg

from vectorcache.errors import ServiceUnavailable
from vectorcache.store.sql import Conn

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


class PgDb:
    def __init__(self, url: str, *, readers: int = 4, writers: int = 2,
                 session: Sequence[str] = ()) -> None:
        """``session``: statements run once on each new connection (e.g. a search setting)."""
        self._url = url
        self._session = tuple(session)
        self._local = threading.local()
        self._conns: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._readers = ThreadPoolExecutor(max_workers=readers, thread_name_prefix="pg-r")
        self._writers = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="pg-w")

    def _connection(self) -> _PgConn:
        conn: _PgConn | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.raw.closed:
            return conn
        raw = psycopg.connect(self._url, autocommit=True, connect_timeout=10,
                              application_name="vectorcache")
        for statement in self._session:
            raw.execute(statement)
        conn = self._local.conn = _PgConn(raw)
        with self._lock:
            self._conns.append(raw)
        return conn

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
        return await self._run(self._readers, functools.partial(self._call, fn, False))

    async def write(self, fn: Callable[[Conn], T]) -> T:
        return await self._run(self._writers, functools.partial(self._call, fn, True))

    async def _run(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except psycopg.Error as exc:
            raise ServiceUnavailable(
                f"Service temporarily unavailable (storage: {type(exc).__name__})"
            ) from exc
        except RuntimeError as exc:  # pool shut down: the store is closing
            raise ServiceUnavailable() from exc

    def close(self) -> None:
        self._writers.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except psycopg.Error:
                    pass
            self._conns.clear()

"""SQLite plumbing: one writer thread, a small pool of reader threads, WAL, typed failures.

Writes are serialised on one thread, each in a ``BEGIN IMMEDIATE`` transaction, so concurrent
requests never interleave partial writes. Reads run on their own connections and see the last
committed state (WAL). Any SQLite failure surfaces as ``ServiceUnavailable`` (503), never a 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from vectorcache.store.threaded import ThreadedDb

__all__ = ["SqliteDb"]

T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA secure_delete=ON",  # erased rows are overwritten, not left in free pages
)


class SqliteDb(ThreadedDb[sqlite3.Connection]):
    driver_error = sqlite3.Error

    def __init__(self, path: Path, readers: int = 2) -> None:
        super().__init__(readers=readers, writers=1, name="sqlite")
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            conn.execute(pragma)
        return conn

    def _disconnect(self, conn: sqlite3.Connection) -> None:
        try:
            conn.close()
        except sqlite3.Error:
            pass

    def _in_transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._run(self._reader_pool, lambda: fn(self._connection()))
        return result

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        result: T = await self._run(self._writer_pool, lambda: self._in_transaction(fn))
        return result

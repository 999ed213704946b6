"""A database driven from worker threads: one connection per thread, kept; calls made off the
event loop; every driver failure turned into ``ServiceUnavailable`` (503, retryable), never a
500. ``SqliteDb`` and ``PgDb`` differ only in how they connect and run a transaction."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from vectorcache.errors import ServiceUnavailable

__all__ = ["ThreadedDb"]

C = TypeVar("C")
T = TypeVar("T")


class ThreadedDb(ABC, Generic[C]):
    #: the driver's base exception
    driver_error: type[Exception] = Exception

    def __init__(self, *, readers: int, writers: int, name: str) -> None:
        self._local = threading.local()
        self._conns: list[C] = []
        self._conns_lock = threading.Lock()
        self._writer_pool = ThreadPoolExecutor(max_workers=writers,
                                               thread_name_prefix=f"{name}-w")
        self._reader_pool = ThreadPoolExecutor(max_workers=readers,
                                               thread_name_prefix=f"{name}-r")

    @abstractmethod
    def _connect(self) -> C:
        """A new connection, ready for use."""

    @abstractmethod
    def _disconnect(self, conn: C) -> None:
        """Close ``conn``, ignoring the driver's errors."""

    def _usable(self, conn: C) -> bool:
        return True

    def _connection(self) -> C:
        conn: C | None = getattr(self._local, "conn", None)
        if conn is not None and self._usable(conn):
            return conn
        fresh = self._local.conn = self._connect()
        with self._conns_lock:
            if conn is not None:
                self._conns.remove(conn)
            self._conns.append(fresh)
        return fresh

    async def _run(self, pool: ThreadPoolExecutor, call: Any) -> Any:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except self.driver_error as exc:
            raise ServiceUnavailable(
                f"Service temporarily unavailable (storage: {type(exc).__name__})"
            ) from exc
        except RuntimeError as exc:  # pool shut down: the store is closing
            raise ServiceUnavailable() from exc

    def close(self) -> None:
        self._writer_pool.shutdown(wait=True)
        self._reader_pool.shutdown(wait=True)
        with self._conns_lock:
            for conn in self._conns:
                self._disconnect(conn)
            self._conns.clear()

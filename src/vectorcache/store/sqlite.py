"""The embedded store: records in a SQLite file (WAL), vectors in an in-process partitioned index.

The index is a cache of the ``entries.embedding`` column: it is snapshotted on close and, on
open, reconciled with the records (missing rows added, deleted ones dropped), so the records
are always the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import sqlite3
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vectorcache.clock import utcnow
from vectorcache.index import VectorIndex, build_index
from vectorcache.models import NewEntry
from vectorcache.store import codec
from vectorcache.store.base import SearchResult
from vectorcache.store.records import ENTRY_COLUMNS, LIVE, SqlRecords
from vectorcache.store.sql import Conn, insert
from vectorcache.store.sqlite_db import SqliteDb
from vectorcache.store.sqlite_schema import migrate

__all__ = ["SqliteStore"]

log = logging.getLogger("vectorcache.store")


def _rows_by_label(conn: sqlite3.Connection, labels: Sequence[int],
                   space: str | None) -> list[sqlite3.Row]:
    """The vectors of these rows that were made in ``space`` (others are never searched)."""
    marks = ",".join("?" * len(labels))
    return conn.execute(f"SELECT rowid, partition, embedding FROM entries WHERE rowid IN ({marks})"
                        " AND space IS ?", (*labels, space)).fetchall()


def _project_nearest(conn: sqlite3.Connection, project_id: str, vector: npt.NDArray[np.float32],
                     k: int, now: float, space: str | None,
                     user_hash: str | None = None) -> list[tuple[sqlite3.Row, float]]:
    """An exact scan of a project's live vectors (only ``user_hash``'s, if given), a batch at a
    time, keeping the best ``k``."""
    mine = "" if user_hash is None else " AND user_hash = ?"
    cursor = conn.execute(f"SELECT rowid, embedding FROM entries WHERE project_id = ? AND {LIVE}"
                          f" AND space IS ?{mine}",
                          (project_id, now, space, *(() if user_hash is None else (user_hash,))))
    best: list[tuple[float, int]] = []
    while batch := cursor.fetchmany(4096):
        scores = np.stack([codec.blob_to_vector(r[1]) for r in batch]) @ vector
        scored = [(float(s), int(r[0])) for s, r in zip(scores, batch, strict=True)]
        best = heapq.nlargest(k, best + scored)
    if not best:
        return []
    marks = ",".join("?" * len(best))
    rows = conn.execute(f"SELECT rowid AS label, {ENTRY_COLUMNS} FROM entries "
                        f"WHERE rowid IN ({marks})", [label for _, label in best]).fetchall()
    by_label = {row["label"]: row for row in rows}
    return [(by_label[label], score) for score, label in best if label in by_label]


class SqliteStore(SqlRecords):
    def __init__(self, path: Path, master_key: bytes, dims: int = 384, *,
                 searchable: bool = True, index: VectorIndex | None = None,
                 space: str | None = None) -> None:
        """``searchable=False`` (the CLI, management tasks): no vector index is loaded, saved
        or updated, so a 1M-entry cache costs such a process nothing; a serving process
        reconciles its index with the records at its next start. ``index``: another than
        the default (exact while small, faiss IVF per partition past 8,192 entries)."""
        self.path = path
        self._sqlite = SqliteDb(path)
        super().__init__(self._sqlite, master_key, space)
        self._index: VectorIndex = (index if index is not None
                                    else build_index(dims, "auto" if searchable else "none"))
        self._searchable = searchable
        self._high_water = 0  # highest entry rowid the index has caught up with
        self._own: set[int] = set()  # rowids this process inserted above the high water
        self._catch_up_task: asyncio.Task[None] | None = None
        self._snapshot = path.with_name(path.name + ".index")

    # ---------------------------------------------------------------- lifecycle
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._open_records()
        if self._searchable:
            await self._reconcile_index()
            self._catch_up_task = asyncio.create_task(self._catch_up_forever(),
                                                      name="vectorcache-index-catch-up")

    def _migrate(self, conn: Conn) -> None:
        assert isinstance(conn, sqlite3.Connection)
        migrate(conn)

    async def _reconcile_index(self) -> None:
        """Load the snapshot, then make the index agree with the records (they are the truth).

        Everything heavy runs in worker threads: a 1M-entry snapshot takes over a second."""
        loaded = await asyncio.to_thread(self._index.load, self._snapshot)
        if not loaded and self._snapshot.exists():
            log.warning("index snapshot %s was not usable; rebuilding from the records",
                        self._snapshot.name)
        rows = await self._db.read(lambda c: c.execute(
            "SELECT rowid, partition, space IS ? FROM entries", (self.space,)).fetchall())
        wanted = {int(r[0]): r[1] for r in rows if r[2]}
        self._high_water = max((int(r[0]) for r in rows), default=0)
        held = await asyncio.to_thread(self._index.labels)
        await asyncio.to_thread(self._index.remove, [x for x in held if x not in wanted])
        missing = [label for label in wanted if label not in held]
        for start in range(0, len(missing), 5000):
            found = await self._sqlite.read(functools.partial(
                _rows_by_label, labels=missing[start:start + 5000], space=self.space))
            by_partition: dict[str, list[sqlite3.Row]] = {}
            for row in found:
                by_partition.setdefault(row[1], []).append(row)
            for partition, part in by_partition.items():
                vectors = np.stack([codec.blob_to_vector(r[2]) for r in part])
                await asyncio.to_thread(self._index.add, partition,
                                        [int(r[0]) for r in part], vectors)
        if missing:
            log.info("index: %d entries added from the records", len(missing))

    async def close(self) -> None:
        if self._catch_up_task is not None:
            self._catch_up_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._catch_up_task
        try:
            if self._searchable:
                await asyncio.to_thread(self._index.save, self._snapshot)
        finally:
            self._sqlite.close()

    async def index_status(self) -> dict[str, int]:
        """Vectors held, and partitions being (re)built in the background."""
        return {"vectors": len(self._index), "building": len(self._index.converting())}

    # ---------------------------------------------------------------- entries
    async def insert_entry(self, entry: NewEntry) -> str:
        now = utcnow().timestamp()

        def run(conn: Conn) -> tuple[str, int | None]:
            same = self._stored_live(conn, entry, now)
            if same is not None:
                return same, None
            entry_id = str(uuid.uuid4())
            values = {**codec.seal_entry(self.cipher, entry), "id": entry_id, "created_at": now,
                      "space": self.space}
            return entry_id, int(insert(conn, "entries", values).lastrowid)

        entry_id, rowid = await self.sealed_write(run)
        if rowid is not None:
            self._index.add(entry.partition, [rowid], entry.embedding[None, :])
            self._own.add(rowid)
        return entry_id

    async def catch_up(self) -> int:
        """Index entries that another process (``vectorcache cache import``, a second server on
        the same file) added since the last look; returns how many. Cheap when there are none:
        one primary-key range read."""
        high = self._high_water
        rows = await self._db.read(lambda c: c.execute(
            "SELECT rowid FROM entries WHERE rowid > ? ORDER BY rowid LIMIT 10000",
            (high,)).fetchall())
        if not rows:
            return 0
        labels = [int(r[0]) for r in rows]
        foreign = [x for x in labels if x not in self._own]
        if foreign:
            by_partition: dict[str, list[sqlite3.Row]] = {}
            for row in await self._sqlite.read(functools.partial(
                    _rows_by_label, labels=foreign, space=self.space)):
                by_partition.setdefault(row[1], []).append(row)
            for partition, part in by_partition.items():
                await asyncio.to_thread(self._index.add, partition, [int(r[0]) for r in part],
                                        np.stack([codec.blob_to_vector(r[2]) for r in part]))
        self._high_water = labels[-1]
        self._own = {x for x in self._own if x > self._high_water}
        return len(foreign)

    async def _catch_up_forever(self, every_seconds: float = 2.0) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                while await self.catch_up():
                    pass
            except Exception:
                log.warning("index catch-up failed; retrying", exc_info=True)

    def _nearest_rows(self, conn: sqlite3.Connection, partition: str,
                      vector: npt.NDArray[np.float32], k: int, min_score: float
                      ) -> tuple[list[tuple[int, float]], dict[int, sqlite3.Row]]:
        """Index search and the candidates' rows, in one reader thread (off the event loop).

        The candidates are rescored with their stored float vectors: a big partition's index
        scores 8-bit codes, about 1e-3 low on average, enough to move a borderline decision."""
        found = self._index.search(partition, vector, k)
        if not found:
            return [], {}
        labels = [label for label, _ in found]
        marks = ",".join("?" * len(labels))
        rows = conn.execute(f"SELECT rowid AS label, embedding, {ENTRY_COLUMNS} FROM entries "
                            f"WHERE rowid IN ({marks})", labels).fetchall()
        by_label = {row["label"]: row for row in rows}
        exact = {label: float(codec.blob_to_vector(row["embedding"]) @ vector)
                 for label, row in by_label.items()}
        matches = sorted(((label, exact.get(label, score)) for label, score in found),
                         key=lambda match: -match[1])
        return matches[:1] + [m for m in matches[1:] if m[1] >= min_score], by_label

    async def search(self, partition: str, vector: npt.NDArray[np.float32], k: int,
                     now: datetime, min_score: float = -1.0) -> list[SearchResult]:
        matches, by_label = await self._sqlite.read(functools.partial(
            self._nearest_rows, partition=partition, vector=vector, k=k, min_score=min_score))
        await self._know_kids(list(by_label.values()))
        results: list[SearchResult] = []
        stale: list[int] = []
        for label, score in matches:
            row = by_label.get(label)
            if row is None or (row["expires_at"] is not None
                               and row["expires_at"] <= now.timestamp()):
                stale.append(label)
                continue
            results.append((codec.open_entry(self.cipher, row), score))
        if stale:
            # expired rows stay in the table until cleared; a remove can cost ms at 1M
            await asyncio.to_thread(self._index.remove, stale)
        return results

    async def search_project(self, project_id: str, vector: npt.NDArray[np.float32], k: int,
                             now: datetime, *, user_hash: str | None = None
                             ) -> list[SearchResult]:
        found = await self._sqlite.read(functools.partial(
            _project_nearest, project_id=project_id, vector=vector, k=k, now=now.timestamp(),
            space=self.space, user_hash=user_hash))
        await self._know_kids([row for row, _ in found])
        return [(codec.open_entry(self.cipher, row), score) for row, score in found]

    async def set_entry_vector(self, entry_id: str, vector: npt.NDArray[np.float32]) -> bool:
        """The row moves to a new rowid (same id and columns, the new vector and space), so a
        server running on the same file indexes it at its next catch-up, as it does an import."""

        def run(conn: Conn) -> tuple[str, int] | None:
            row = conn.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                return None
            values = {k: row[k] for k in row.keys() if k != "rowid"}  # noqa: SIM118
            values.update(embedding=codec.vector_to_blob(vector), space=self.space)
            conn.execute("DELETE FROM entries WHERE id = ?", (entry_id,))
            return str(row["partition"]), int(insert(conn, "entries", values).lastrowid)

        moved = await self._sqlite.write(run)
        if moved is None:
            return False
        if self._searchable:
            partition, rowid = moved
            self._index.add(partition, [rowid], vector[None, :])
            self._own.add(rowid)
        return True

    async def entry_vector(self, entry_id: str) -> npt.NDArray[np.float32] | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT embedding FROM entries WHERE id = ?", (entry_id,)).fetchone())
        return None if row is None else codec.blob_to_vector(row[0])

    async def _forget(self, labels: Sequence[int]) -> None:
        await asyncio.to_thread(self._index.remove, labels)

    async def count_entries(self, project_id: str | None = None) -> int:
        if project_id is None:
            return len(self._index)
        return await self._count_project_entries(project_id)

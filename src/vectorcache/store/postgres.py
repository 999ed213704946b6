"""The scale-out store: records in PostgreSQL, vectors beside them in pgvector (HNSW).

Every replica reads and writes the same database, so nothing is held in process: an entry one
replica stores is found by the next request on any other, a revoked key is refused everywhere
at once (each request reads its key), and the data-key ring is re-read when a row names a key
this process has not seen.

pgvector 0.6 filters an HNSW scan *after* it (no iterative scans before 0.8): for a partition
that holds few of the table's rows, the nearest ``ef_search`` vectors may all belong to other
partitions and the scan returns too little. A search that comes back with fewer than ``k`` rows
is therefore repeated exactly over the partition alone (a B-tree range), which is cheap
precisely when the partition is small.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import numpy.typing as npt

from vectorcache.clock import utcnow
from vectorcache.errors import ServiceUnavailable
from vectorcache.models import NewEntry
from vectorcache.redaction import mask_url_credentials
from vectorcache.store import codec
from vectorcache.store.base import SearchResult
from vectorcache.store.pg_db import PgDb
from vectorcache.store.pg_schema import migrate
from vectorcache.store.records import ENTRY_COLUMNS, LIVE, SqlRecords
from vectorcache.store.sql import Conn, insert

__all__ = ["PostgresStore"]

#: HNSW candidates per scan (pgvector's default is 40); recall 0.99 at 1M in ENVIRONMENT.md
EF_SEARCH = 100
#: /health/ready counts the entries exactly up to this many, then takes the planner's estimate
_COUNTED = 100_000

_NEAREST = (f"SELECT {ENTRY_COLUMNS}, embedding <=> ?::vector AS distance FROM entries"
            f" WHERE partition = ? AND space IS NOT DISTINCT FROM ? AND {LIVE}")
#: may use the HNSW index (approximate; may come back short, see the module docstring)
_SEARCH_INDEXED = f"{_NEAREST} ORDER BY distance LIMIT ?"
#: ``OFFSET 0`` keeps the planner from ordering by the HNSW index: an exact scan of the partition
_SEARCH_EXACT = f"SELECT * FROM ({_NEAREST} OFFSET 0) AS part ORDER BY distance LIMIT ?"

#: a project's entries across its partitions (a listing): exact, like ``_SEARCH_EXACT``
_PROJECT_ROWS = (f"SELECT {ENTRY_COLUMNS}, embedding <=> ?::vector AS distance FROM entries"
                 f" WHERE project_id = ? AND space IS NOT DISTINCT FROM ? AND {LIVE}")
_SEARCH_PROJECT = f"SELECT * FROM ({_PROJECT_ROWS} OFFSET 0) AS p ORDER BY distance LIMIT ?"
#: the same, only one end user's entries (``user`` cache scope)
_SEARCH_PROJECT_USER = (f"SELECT * FROM ({_PROJECT_ROWS} AND user_hash = ? OFFSET 0) AS p"
                        " ORDER BY distance LIMIT ?")


def _redacted(url: str) -> str:
    """The URL without its password (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # malformed ("[::1" without its "]"): mask by pattern instead
        return mask_url_credentials(url)
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo and parts.password:  # as typed, percent-escapes and all
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = re.sub(r"(?i)(password=)[^&]*", r"\1***", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _vector_text(vector: npt.NDArray[np.float32]) -> str:
    """pgvector's text form (``[0.1,0.2]``); float32 values print back exactly."""
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).tolist())) + "]"


class PostgresStore(SqlRecords):
    def __init__(self, url: str, master_key: bytes, dims: int = 384,
                 space: str | None = None) -> None:
        self._url = url
        self._pg = PgDb(url, session=(f"SET hnsw.ef_search = {EF_SEARCH}",))
        super().__init__(self._pg, master_key, space)
        self._dims = dims

    # ---------------------------------------------------------------- lifecycle
    async def open(self) -> None:
        try:
            await self._open_records()
        except ServiceUnavailable as exc:  # at start-up, say which database and why
            reason = str(exc.__cause__ or exc).strip().splitlines()[0]
            raise ServiceUnavailable(
                f"Cannot open the PostgreSQL database {_redacted(self._url)}: {reason}") from exc

    def _migrate(self, conn: Conn) -> None:
        migrate(conn, self._dims)

    def _lock_key_ring(self, conn: Conn) -> None:
        # other replicas write at the same time: a key rotation (an UPDATE of data_keys) waits
        # for the sealed writes in flight, and those that start after it see the new key
        conn.execute("LOCK TABLE data_keys IN SHARE MODE")

    async def close(self) -> None:
        self._pg.close()

    async def index_status(self) -> dict[str, int]:
        """pgvector keeps the index, so nothing is ever being rebuilt here. The vectors are
        counted exactly up to ``_COUNTED``, past that the planner's estimate stands in: a
        readiness probe must not scan a table of millions of rows."""

        def run(conn: Conn) -> int:
            counted = int(conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM entries LIMIT ?) AS t", (_COUNTED,)
            ).fetchone()[0])
            if counted < _COUNTED:
                return counted
            estimate = conn.execute(
                "SELECT reltuples FROM pg_class WHERE oid = 'entries'::regclass").fetchone()[0]
            return max(counted, int(estimate))

        return {"vectors": await self._pg.read(run), "building": 0}

    # ---------------------------------------------------------------- entries
    async def insert_entry(self, entry: NewEntry) -> str:
        now = utcnow().timestamp()

        def run(conn: Conn) -> str:
            # concurrent misses of one prompt, on any replica, store it once
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
                         (f"{entry.partition} {entry.exact_key}",))
            same = self._stored_live(conn, entry, now)
            if same is not None:
                return same
            entry_id = str(uuid.uuid4())
            insert(conn, "entries", {**codec.seal_entry(self.cipher, entry), "id": entry_id,
                                     "created_at": now, "space": self.space,
                                     "embedding": _vector_text(entry.embedding)},
                   casts={"embedding": "vector"})
            return entry_id

        return await self.sealed_write(run)

    async def search(self, partition: str, vector: npt.NDArray[np.float32], k: int,
                     now: datetime, min_score: float = -1.0) -> list[SearchResult]:
        args = (_vector_text(vector), partition, self.space, now.timestamp(), k)

        def run(conn: Conn) -> list[Any]:
            rows: list[Any] = conn.execute(_SEARCH_INDEXED, args).fetchall()
            if len(rows) < k:
                rows = conn.execute(_SEARCH_EXACT, args).fetchall()
            return rows

        rows = await self._db.read(run)
        rows = rows[:1] + [r for r in rows[1:] if 1.0 - r["distance"] >= min_score]
        await self._know_kids(rows)
        return [(codec.open_entry(self.cipher, r), 1.0 - float(r["distance"])) for r in rows]

    async def search_project(self, project_id: str, vector: npt.NDArray[np.float32], k: int,
                             now: datetime, *, user_hash: str | None = None
                             ) -> list[SearchResult]:
        head = (_vector_text(vector), project_id, self.space, now.timestamp())
        sql, args = ((_SEARCH_PROJECT, (*head, k)) if user_hash is None
                     else (_SEARCH_PROJECT_USER, (*head, user_hash, k)))
        rows = await self._db.read(lambda c: c.execute(sql, args).fetchall())
        await self._know_kids(rows)
        return [(codec.open_entry(self.cipher, r), 1.0 - float(r["distance"])) for r in rows]

    async def set_entry_vector(self, entry_id: str, vector: npt.NDArray[np.float32]) -> bool:
        def run(conn: Conn) -> int:
            return int(conn.execute(
                "UPDATE entries SET embedding = ?::vector, space = ? WHERE id = ?",
                (_vector_text(vector), self.space, entry_id)).rowcount)

        return bool(await self._pg.write(run))

    async def entry_vector(self, entry_id: str) -> npt.NDArray[np.float32] | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT embedding::text FROM entries WHERE id = ?", (entry_id,)).fetchone())
        return None if row is None else np.asarray(json.loads(row[0]), dtype=np.float32)

    async def count_entries(self, project_id: str | None = None) -> int:
        if project_id is not None:
            return await self._count_project_entries(project_id)
        row = await self._db.read(lambda c: c.execute("SELECT COUNT(*) FROM entries").fetchone())
        return int(row[0])

"""The embedded store: records in a SQLite file (WAL), vectors in an in-process partitioned index.

The index is a cache of the ``entries.embedding`` column: it is snapshotted on close and, on
open, reconciled with the records (missing rows added, deleted ones dropped), so the records
are always the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from vectorcache.clock import utcnow
from vectorcache.crypto import Cipher
from vectorcache.errors import ConfigurationError, NotFound, ServiceUnavailable, ValidationFailed
from vectorcache.index import VectorIndex, build_index
from vectorcache.keyring import WrappedKey, build_cipher, wrap_new_key
from vectorcache.models import (
    ApiKey,
    AuditEvent,
    DataKeyInfo,
    Entry,
    NewEntry,
    Project,
    ProjectStats,
    ProviderConfig,
    UsageEvent,
)
from vectorcache.store import codec, sqlite_keys
from vectorcache.store.base import SearchResult
from vectorcache.store.sqlite_db import SqliteDb
from vectorcache.store.sqlite_schema import migrate

__all__ = ["SqliteStore"]

log = logging.getLogger("vectorcache.store")

T = TypeVar("T")

_LIVE = "(expires_at IS NULL OR expires_at > ?)"
#: every entry column but the embedding (1.5 KB a row that only the index needs)
_ENTRY = ("id, project_id, partition, model, kid, prompt, response, context, metadata, shape, "
          "user_hash, prompt_tokens, completion_tokens, provider, created_by_key, created_at, "
          "expires_at, hit_count, min_similarity, wrong_reports")


def _insert(conn: sqlite3.Connection, table: str, values: Mapping[str, Any]) -> int:
    cols = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cur = conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))
    return int(cur.lastrowid or 0)


def _update(conn: sqlite3.Connection, table: str, key: str, key_value: Any,
            values: Mapping[str, Any]) -> int:
    if not values:
        return 1
    sets = ", ".join(f"{col} = ?" for col in values)
    cur = conn.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?",
                       (*values.values(), key_value))
    return cur.rowcount


def _rows_by_label(conn: sqlite3.Connection, labels: Sequence[int]) -> list[sqlite3.Row]:
    marks = ",".join("?" * len(labels))
    return conn.execute(f"SELECT rowid, partition, embedding FROM entries WHERE rowid IN ({marks})",
                        tuple(labels)).fetchall()


class SqliteStore:
    def __init__(self, path: Path, master_key: bytes, dims: int = 384,
                 index_kind: str = "auto", *, searchable: bool = True) -> None:
        """``searchable=False`` (the CLI, management tasks): no vector index is loaded, saved
        or updated, so a 1M-entry cache costs such a process nothing; a serving process
        reconciles its index with the records at its next start."""
        self.path = path
        self._master_key = master_key
        self._db = SqliteDb(path)
        self._index: VectorIndex = build_index(dims, index_kind if searchable else "none")
        self._searchable = searchable
        self._high_water = 0  # highest entry rowid the index has caught up with
        self._own: set[int] = set()  # rowids this process inserted above the high water
        self._catch_up_task: asyncio.Task[None] | None = None
        self._snapshot = path.with_name(path.name + ".index")
        self.cipher: Cipher

    # ---------------------------------------------------------------- lifecycle
    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = await self._db.write(self._migrate_and_load_keys)
        self.cipher = build_cipher(self._master_key, keys)
        if self._searchable:
            await self._reconcile_index()
            self._catch_up_task = asyncio.create_task(self._catch_up_forever(),
                                                      name="vectorcache-index-catch-up")

    def _migrate_and_load_keys(self, conn: sqlite3.Connection) -> list[WrappedKey]:
        migrate(conn)
        rows = conn.execute("SELECT kid, wrapped, active, retired_at FROM data_keys").fetchall()
        if not rows:
            kid, wrapped = wrap_new_key(self._master_key)
            _insert(conn, "data_keys",
                    {"kid": kid, "wrapped": wrapped, "created_at": utcnow().timestamp(),
                     "active": 1})
            rows = conn.execute("SELECT kid, wrapped, active, retired_at FROM data_keys").fetchall()
        return [WrappedKey(r["kid"], r["wrapped"], bool(r["active"]), r["retired_at"] is not None)
                for r in rows]

    async def _reconcile_index(self) -> None:
        """Load the snapshot, then make the index agree with the records (they are the truth).

        Everything heavy runs in worker threads: a 1M-entry snapshot takes over a second."""
        loaded = await asyncio.to_thread(self._index.load, self._snapshot)
        if not loaded and self._snapshot.exists():
            log.warning("index snapshot %s was not usable; rebuilding from the records",
                        self._snapshot.name)
        rows = await self._db.read(
            lambda c: c.execute("SELECT rowid, partition FROM entries").fetchall())
        wanted = {int(r[0]): r[1] for r in rows}
        self._high_water = max(wanted, default=0)
        held = await asyncio.to_thread(self._index.labels)
        await asyncio.to_thread(self._index.remove, [x for x in held if x not in wanted])
        missing = [label for label in wanted if label not in held]
        for start in range(0, len(missing), 5000):
            found = await self._db.read(functools.partial(
                _rows_by_label, labels=missing[start:start + 5000]))
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
            self._db.close()

    def index_status(self) -> dict[str, int]:
        """Vectors held, and partitions being (re)built in the background."""
        return {"vectors": len(self._index), "building": len(self._index.converting())}

    async def ping(self) -> None:
        await self._db.read(lambda c: c.execute("SELECT 1").fetchone())

    async def get_meta(self, key: str) -> str | None:
        row = await self._db.read(
            lambda c: c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone())
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self._db.write(lambda c: c.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value)))

    # ---------------------------------------------------------------- data keys
    async def reload_keys(self) -> None:
        """Re-read the key ring: another process may have rotated the data keys (keys this
        process holds are kept, so a re-wrap under a new master key does not stop it)."""
        keys = await self._db.read(sqlite_keys.load_keys)
        try:
            self.cipher = build_cipher(self._master_key, keys, self.cipher)
        except ConfigurationError as exc:
            raise ServiceUnavailable(
                "The data keys changed under a master key this server does not hold (were "
                "they re-wrapped?); restart it with the current master key.") from exc

    async def rewrap_data_keys(self, new_master: bytes) -> int:
        """Seal every data key under ``new_master`` (one transaction); how many."""
        count = await self._db.write(
            lambda c: sqlite_keys.rewrap_all(c, self._master_key, new_master))
        self._master_key = new_master
        return count

    async def _know_kids(self, rows: Sequence[Any]) -> None:
        """Rows sealed under a data key added after this process started: load it first."""
        known = set(self.cipher.key_ids)
        if any(r["kid"] is not None and r["kid"] not in known for r in rows):
            await self.reload_keys()

    async def _sealed_write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """A write that encrypts: always under the database's active data key."""
        def run(conn: sqlite3.Connection) -> T:
            sqlite_keys.check_active(conn, self.cipher)
            return fn(conn)

        try:
            return await self._db.write(run)
        except sqlite_keys.StaleDataKey:
            await self.reload_keys()
            return await self._db.write(run)

    async def add_data_key(self) -> str:
        kid = await self._db.write(lambda c: sqlite_keys.add_key(c, self._master_key))
        await self.reload_keys()
        return kid

    async def reencrypt_batch(self, batch: int) -> int:
        return await self._sealed_write(lambda c: sqlite_keys.reencrypt(c, self.cipher, batch))

    async def pending_reencryption(self) -> int:
        return await self._db.read(sqlite_keys.pending_rows)

    async def retire_data_key(self, kid: str) -> None:
        await self._db.write(lambda c: sqlite_keys.retire_key(c, kid))

    async def data_keys(self) -> list[DataKeyInfo]:
        return await self._db.read(sqlite_keys.key_infos)

    # ---------------------------------------------------------------- projects
    async def create_project(self, name: str, **settings: Any) -> Project:
        values = {"id": str(uuid.uuid4()), "name": name, "created_at": utcnow().timestamp(),
                  **codec.project_columns(settings)}

        def run(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM projects WHERE name = ?", (name,)).fetchone():
                raise ValidationFailed(f"Project {name!r} already exists", code="project_exists")
            _insert(conn, "projects", values)

        await self._db.write(run)
        project = await self.get_project(values["id"])
        assert project is not None
        return project

    async def _project_where(self, where: str, arg: str) -> Project | None:
        row = await self._db.read(
            lambda c: c.execute(f"SELECT * FROM projects WHERE {where} = ?", (arg,)).fetchone())
        return None if row is None else codec.project_from_row(row)

    async def get_project(self, project_id: str) -> Project | None:
        return await self._project_where("id", project_id)

    async def get_project_by_name(self, name: str) -> Project | None:
        return await self._project_where("name", name)

    async def list_projects(self) -> list[Project]:
        rows = await self._db.read(
            lambda c: c.execute("SELECT * FROM projects ORDER BY created_at").fetchall())
        return [codec.project_from_row(r) for r in rows]

    async def update_project(self, project_id: str, **settings: Any) -> Project:
        values = codec.project_columns(settings)
        changed = await self._db.write(lambda c: _update(c, "projects", "id", project_id, values))
        project = await self.get_project(project_id)
        if not changed or project is None:
            raise NotFound(f"Project {project_id} not found")
        return project

    # ---------------------------------------------------------------- API keys
    async def add_api_key(self, key: ApiKey) -> None:
        values = codec.api_key_columns(key.__dict__)
        await self._db.write(lambda c: _insert(c, "api_keys", values))

    async def _key_where(self, where: str, arg: str) -> ApiKey | None:
        row = await self._db.read(
            lambda c: c.execute(f"SELECT * FROM api_keys WHERE {where} = ?", (arg,)).fetchone())
        return None if row is None else codec.api_key_from_row(row)

    async def get_api_key(self, key_id: str) -> ApiKey | None:
        return await self._key_where("id", key_id)

    async def find_api_key(self, key_hash: str) -> ApiKey | None:
        return await self._key_where("key_hash", key_hash)

    async def find_api_key_and_project(self, key_hash: str
                                       ) -> tuple[ApiKey, Project | None] | None:
        """Both records of an authentication in one reader-thread hop."""
        def run(c: sqlite3.Connection) -> tuple[sqlite3.Row, sqlite3.Row | None] | None:
            key = c.execute("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)).fetchone()
            if key is None:
                return None
            return key, c.execute("SELECT * FROM projects WHERE id = ?",
                                  (key["project_id"],)).fetchone()

        rows = await self._db.read(run)
        if rows is None:
            return None
        project = None if rows[1] is None else codec.project_from_row(rows[1])
        return codec.api_key_from_row(rows[0]), project

    async def list_api_keys(self, project_id: str | None = None) -> list[ApiKey]:
        sql, args = "SELECT * FROM api_keys", ()  # type: str, tuple[str, ...]
        if project_id is not None:
            sql, args = sql + " WHERE project_id = ?", (project_id,)
        rows = await self._db.read(lambda c: c.execute(sql + " ORDER BY created_at", args)
                                   .fetchall())
        return [codec.api_key_from_row(r) for r in rows]

    async def update_api_key(self, key_id: str, **fields: Any) -> ApiKey:
        values = codec.api_key_columns(fields)
        await self._db.write(lambda c: _update(c, "api_keys", "id", key_id, values))
        key = await self.get_api_key(key_id)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        return key

    # ---------------------------------------------------------------- providers
    async def set_provider(self, config: ProviderConfig) -> None:
        def run(conn: sqlite3.Connection) -> None:
            values = {
                "project_id": config.project_id, "provider": config.provider,
                "base_url": config.base_url, "kid": self.cipher.active_kid,
                "api_key": self.cipher.encrypt_text(config.api_key),
                "models": json.dumps(list(config.models)),
                "fallback_models": json.dumps(list(config.fallback_models)),
                "updated_at": config.updated_at.timestamp(),
            }
            conn.execute("DELETE FROM providers WHERE project_id = ?", (config.project_id,))
            _insert(conn, "providers", values)

        await self._sealed_write(run)

    async def get_provider(self, project_id: str) -> ProviderConfig | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT * FROM providers WHERE project_id = ?", (project_id,)).fetchone())
        if row is None:
            return None
        await self._know_kids([row])
        updated = codec.dt(row["updated_at"])
        assert updated is not None
        return ProviderConfig(
            project_id=row["project_id"], provider=row["provider"],
            api_key=self.cipher.decrypt_text(row["kid"], row["api_key"]),
            base_url=row["base_url"], updated_at=updated,
            models=tuple(json.loads(row["models"] or "[]")),
            fallback_models=tuple(json.loads(row["fallback_models"] or "[]")),
        )

    # ---------------------------------------------------------------- entries
    async def insert_entry(self, entry: NewEntry) -> str:
        now = utcnow().timestamp()

        def run(conn: sqlite3.Connection) -> tuple[str, int | None]:
            values = codec.seal_entry(self.cipher, entry)
            same = conn.execute(
                f"SELECT id FROM entries WHERE partition = ? AND exact_key = ? AND {_LIVE}",
                (entry.partition, entry.exact_key, now)).fetchone()
            if same is not None:  # a concurrent miss already stored this very prompt
                return same[0], None
            entry_id = str(uuid.uuid4())
            rowid = _insert(conn, "entries", {**values, "id": entry_id, "created_at": now})
            return entry_id, rowid

        entry_id, rowid = await self._sealed_write(run)
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
            for row in await self._db.read(functools.partial(_rows_by_label, labels=foreign)):
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

    async def find_exact(self, partition: str, exact_key: str, now: datetime) -> Entry | None:
        row = await self._db.read(lambda c: c.execute(
            f"SELECT {_ENTRY} FROM entries WHERE partition = ? AND exact_key = ? AND {_LIVE} "
            "ORDER BY rowid DESC LIMIT 1", (partition, exact_key, now.timestamp())).fetchone())
        if row is None:
            return None
        await self._know_kids([row])
        return codec.open_entry(self.cipher, row)

    def _nearest_rows(self, conn: sqlite3.Connection, partition: str,
                      vector: npt.NDArray[np.float32], k: int, min_score: float
                      ) -> tuple[list[tuple[int, float]], dict[int, sqlite3.Row]]:
        """Index search and the candidates' rows, in one reader thread (off the event loop)."""
        matches = self._index.search(partition, vector, k)
        if not matches:
            return [], {}
        matches = matches[:1] + [m for m in matches[1:] if m[1] >= min_score]
        labels = [label for label, _ in matches]
        marks = ",".join("?" * len(labels))
        rows = conn.execute(f"SELECT rowid AS label, {_ENTRY} FROM entries "
                            f"WHERE rowid IN ({marks})", labels).fetchall()
        return matches, {row["label"]: row for row in rows}

    async def search(self, partition: str, vector: npt.NDArray[np.float32], k: int,
                     now: datetime, min_score: float = -1.0) -> list[SearchResult]:
        matches, by_label = await self._db.read(functools.partial(
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

    async def entry_vector(self, entry_id: str) -> npt.NDArray[np.float32] | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT embedding FROM entries WHERE id = ?", (entry_id,)).fetchone())
        return None if row is None else codec.blob_to_vector(row[0])

    async def raise_entry_floor(self, entry_id: str, min_similarity: float,
                                reports: int = 1) -> float | None:
        def run(conn: sqlite3.Connection) -> float | None:
            conn.execute("UPDATE entries SET min_similarity = MAX(min_similarity, ?), "
                         "wrong_reports = wrong_reports + ? WHERE id = ?",
                         (min_similarity, reports, entry_id))
            row = conn.execute("SELECT min_similarity FROM entries WHERE id = ?",
                               (entry_id,)).fetchone()
            return None if row is None else float(row[0])

        return await self._db.write(run)

    async def get_entry(self, entry_id: str) -> Entry | None:
        row = await self._db.read(
            lambda c: c.execute(f"SELECT {_ENTRY} FROM entries WHERE id = ?",
                                (entry_id,)).fetchone())
        if row is None:
            return None
        await self._know_kids([row])
        return codec.open_entry(self.cipher, row)

    async def _delete_where(self, where: str, args: Sequence[Any]) -> tuple[int, int]:
        def run(conn: sqlite3.Connection) -> tuple[list[int], int]:
            rows = conn.execute(f"SELECT rowid, size_bytes FROM entries WHERE {where}",
                                tuple(args)).fetchall()
            conn.execute(f"DELETE FROM entries WHERE {where}", tuple(args))
            return [int(r[0]) for r in rows], sum(int(r[1]) for r in rows)

        labels, size = await self._db.write(run)
        await asyncio.to_thread(self._index.remove, labels)
        return len(labels), size

    async def delete_entries(self, project_id: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        marks = ",".join("?" * len(entry_ids))
        count, _ = await self._delete_where(f"project_id = ? AND id IN ({marks})",
                                            [project_id, *entry_ids])
        return count

    async def clear(self, project_id: str, *, expired_only: bool,
                    older_than: datetime | None, now: datetime) -> tuple[int, int]:
        where, args = ["project_id = ?"], [project_id]  # type: list[str], list[Any]
        if expired_only:
            where.append("expires_at IS NOT NULL AND expires_at <= ?")
            args.append(now.timestamp())
        if older_than is not None:
            where.append("created_at < ?")
            args.append(older_than.timestamp())
        return await self._delete_where(" AND ".join(where), args)

    async def count_entries(self, project_id: str | None = None) -> int:
        if project_id is None:
            return len(self._index)
        row = await self._db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM entries WHERE project_id = ?", (project_id,)).fetchone())
        return int(row[0])

    async def stats(self, project_id: str, now: datetime) -> ProjectStats:
        def run(conn: sqlite3.Connection) -> ProjectStats:
            e = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(expires_at IS NOT NULL AND expires_at <= ?), 0),"
                " COALESCE(SUM(size_bytes), 0) FROM entries WHERE project_id = ?",
                (now.timestamp(), project_id)).fetchone()
            h = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(tokens), 0), COALESCE(SUM(cost_saved_usd), 0),"
                " AVG(similarity) FROM events WHERE project_id = ? AND kind = 'hit'",
                (project_id,)).fetchone()
            return ProjectStats(
                project_id=project_id, total_entries=e[0], active_entries=e[0] - e[1],
                expired_entries=e[1], total_hits=h[0], total_tokens_saved=h[1],
                total_cost_saved=round(h[2], 6),
                avg_similarity_score=None if h[3] is None else round(h[3], 4),
                cache_size_mb=round(e[2] / 1_048_576, 4),
            )

        return await self._db.read(run)

    async def list_entries(self, project_id: str, *, offset: int = 0,
                           limit: int = 500) -> list[Entry]:
        """A project's entries, oldest first, a page at a time (export)."""
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {_ENTRY} FROM entries WHERE project_id = ? ORDER BY created_at, rowid"
            " LIMIT ? OFFSET ?", (project_id, limit, offset)).fetchall())
        return [codec.open_entry(self.cipher, r) for r in rows]

    # ---------------------------------------------------------------- end users
    async def entries_for_user(self, user_hash: str) -> list[Entry]:
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {_ENTRY} FROM entries WHERE user_hash = ? ORDER BY created_at",
            (user_hash,)).fetchall())
        await self._know_kids(rows)
        return [codec.open_entry(self.cipher, r) for r in rows]

    async def erase_user(self, user_hash: str) -> tuple[int, int]:
        entries, _ = await self._delete_where("user_hash = ?", [user_hash])
        events = await self._db.write(lambda c: c.execute(
            "DELETE FROM events WHERE user_hash = ?", (user_hash,)).rowcount)
        return entries, events

    # ---------------------------------------------------------------- events & audit
    async def add_events(self, events: Sequence[UsageEvent],
                         key_usage: Mapping[str, tuple[int, datetime]] | None = None) -> None:
        now = utcnow().timestamp()
        rows = [(now, e.project_id, e.kind, e.entry_id, e.key_id, e.user_hash, e.similarity,
                 e.latency_ms, e.tokens, e.cost_usd, e.cost_saved_usd, e.model) for e in events]
        hits: dict[str, int] = {}
        for e in events:
            if e.kind == "hit" and e.entry_id:
                hits[e.entry_id] = hits.get(e.entry_id, 0) + 1

        def run(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "INSERT INTO events (at, project_id, kind, entry_id, key_id, user_hash,"
                " similarity, latency_ms, tokens, cost_usd, cost_saved_usd, model)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            conn.executemany(
                "UPDATE entries SET hit_count = hit_count + ?, last_hit_at = ? WHERE id = ?",
                [(n, now, entry_id) for entry_id, n in hits.items()])
            conn.executemany(
                "UPDATE api_keys SET request_count = request_count + ?,"
                " last_used_at = MAX(COALESCE(last_used_at, 0), ?) WHERE id = ?",
                [(n, at.timestamp(), key_id) for key_id, (n, at) in (key_usage or {}).items()])

        await self._db.write(run)

    async def add_audit(self, action: str, *, project_id: str | None, actor: str | None,
                        target: str | None, details: dict[str, object] | None = None) -> None:
        values = {"at": utcnow().timestamp(), "action": action, "project_id": project_id,
                  "actor": actor, "target": target, "details": json.dumps(details or {})}
        await self._db.write(lambda c: _insert(c, "audit", values))

    async def list_audit(self, project_id: str | None = None,
                         limit: int = 100) -> list[AuditEvent]:
        sql, args = "SELECT * FROM audit", []
        if project_id is not None:
            sql, args = sql + " WHERE project_id = ?", [project_id]
        rows = await self._db.read(lambda c: c.execute(
            sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall())
        return [AuditEvent(id=r["id"], at=codec.dt(r["at"]) or utcnow(), action=r["action"],
                           project_id=r["project_id"], actor=r["actor"], target=r["target"],
                           details=json.loads(r["details"] or "{}")) for r in rows]

"""The records every SQL backend keeps the same way: projects, API keys, providers, data keys,
entries read back by id, end users, usage events and the audit log.

``SqlRecords`` holds that SQL once (in the dialect ``store/sql.py`` describes); a backend
subclasses it with what differs: its connections and schema, and how entries are written and
searched (an in-process index for SQLite, pgvector for PostgreSQL).
"""

from __future__ import annotations

import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from vectorcache.clock import utcnow
from vectorcache.crypto import Cipher
from vectorcache.errors import ConfigurationError, NotFound, ServiceUnavailable, ValidationFailed
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
from vectorcache.store import codec, key_rotation, sql_keys
from vectorcache.store.sql import Conn, Db, insert, update

__all__ = ["ENTRY_COLUMNS", "LIVE", "SqlRecords"]

T = TypeVar("T")

LIVE = "(expires_at IS NULL OR expires_at > ?)"
#: every entry column but the embedding (1.5 KB a row that only the search needs)
ENTRY_COLUMNS = (
    "id, project_id, partition, model, kid, prompt, response, context, metadata, shape, "
    "user_hash, prompt_tokens, completion_tokens, provider, created_by_key, created_at, "
    "expires_at, hit_count, min_similarity, wrong_reports")


class SqlRecords(ABC):
    """Everything but the entries' writes and the similarity search (see the subclasses)."""

    cipher: Cipher

    def __init__(self, db: Db, master_key: bytes, space: str | None = None) -> None:
        self._db = db
        self._master_key = master_key
        #: the embedding space (model) of this process's vectors: entries are written with it
        #: and only vectors of it are searched; None opens the store for management only
        self.space = space

    @property
    def db(self) -> Db:
        """The backend's connections, for records kept beside these (``console/records.py``)."""
        return self._db

    # ---------------------------------------------------------------- backend hooks
    @abstractmethod
    def _migrate(self, conn: Conn) -> None:
        """Bring this backend's schema to the latest version (inside a write transaction)."""

    def _lock_key_ring(self, conn: Conn) -> None:  # noqa: B027 - optional hook
        """Hold the active data key still for the rest of this transaction (a backend whose
        writes are not serialised must lock; SQLite's single writer already is)."""

    async def _forget(self, labels: Sequence[int]) -> None:  # noqa: B027 - optional hook
        """Entries (by row number) just deleted: drop them from any search structure."""

    # ---------------------------------------------------------------- lifecycle
    async def _open_records(self) -> None:
        keys = await self._db.write(self._migrate_and_load_keys)
        self.cipher = build_cipher(self._master_key, keys)

    def _migrate_and_load_keys(self, conn: Conn) -> list[WrappedKey]:
        self._migrate(conn)
        if conn.execute("SELECT 1 FROM data_keys").fetchone() is None:
            kid, wrapped = wrap_new_key(self._master_key)
            insert(conn, "data_keys", {"kid": kid, "wrapped": wrapped,
                                       "created_at": utcnow().timestamp(), "active": 1})
        return sql_keys.load_keys(conn)

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
        keys = await self._db.read(sql_keys.load_keys)
        try:
            self.cipher = build_cipher(self._master_key, keys, self.cipher)
        except ConfigurationError as exc:
            raise ServiceUnavailable(
                "The data keys changed under a master key this server does not hold (were "
                "they re-wrapped?); restart it with the current master key.") from exc

    async def rewrap_data_keys(self, new_master: bytes) -> int:
        """Seal every data key under ``new_master`` (one transaction); how many."""
        count = await self._db.write(
            lambda c: sql_keys.rewrap_all(c, self._master_key, new_master))
        self._master_key = new_master
        return count

    async def _know_kids(self, rows: Sequence[Any]) -> None:
        """Rows sealed under a data key added after this process started: load it first."""
        known = set(self.cipher.key_ids)
        if any(r["kid"] is not None and r["kid"] not in known for r in rows):
            await self.reload_keys()

    async def sealed_write(self, fn: Callable[[Conn], T]) -> T:
        """A write that encrypts: always under the database's active data key."""
        def run(conn: Conn) -> T:
            self._lock_key_ring(conn)
            sql_keys.check_active(conn, self.cipher)
            return fn(conn)

        try:
            return await self._db.write(run)
        except sql_keys.StaleDataKey:
            await self.reload_keys()
            return await self._db.write(run)

    async def add_data_key(self) -> str:
        kid = await self._db.write(lambda c: sql_keys.add_key(c, self._master_key))
        await self.reload_keys()
        return kid

    async def reencrypt_batch(self, batch: int) -> int:
        return await self.sealed_write(lambda c: sql_keys.reencrypt(c, self.cipher, batch))

    async def pending_reencryption(self) -> int:
        return await self._db.read(sql_keys.pending_rows)

    async def retire_data_key(self, kid: str) -> None:
        await self._db.write(lambda c: sql_keys.retire_key(c, kid))

    async def data_keys(self) -> list[DataKeyInfo]:
        return await self._db.read(sql_keys.key_infos)

    # ---------------------------------------------------------------- projects
    async def create_project(self, name: str, **settings: Any) -> Project:
        values = {"id": str(uuid.uuid4()), "name": name, "created_at": utcnow().timestamp(),
                  **codec.project_columns(settings)}

        def run(conn: Conn) -> None:
            # one statement, so that two replicas creating the same name cannot both succeed
            cur = insert(conn, "projects", values, suffix=" ON CONFLICT (name) DO NOTHING")
            if cur.rowcount == 0:
                raise ValidationFailed(f"Project {name!r} already exists", code="project_exists")

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

        def run(conn: Conn) -> int:
            changed = update(conn, "projects", "id", project_id, values)
            if changed and any(col.startswith("rotation_days_") for col in values):
                key_rotation.refresh_due(conn, "project_id = ?", (project_id,))
            return changed

        changed = await self._db.write(run)
        project = await self.get_project(project_id)
        if not changed or project is None:
            raise NotFound(f"Project {project_id} not found")
        return project

    # ---------------------------------------------------------------- API keys
    async def add_api_key(self, key: ApiKey) -> None:
        values = codec.api_key_columns(key.__dict__)

        def run(conn: Conn) -> None:
            insert(conn, "api_keys", values)
            if key.rotation_due_at is None:  # from the project's policy (store/key_rotation.py)
                key_rotation.refresh_due(conn, "id = ?", (key.id,))

        await self._db.write(run)

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
        """Both records of an authentication in one hop to the database."""
        def run(c: Conn) -> tuple[Any, Any] | None:
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

        def run(conn: Conn) -> None:
            update(conn, "api_keys", "id", key_id, values)
            if "environment" in values and "rotation_due_at" not in values:
                key_rotation.refresh_due(conn, "id = ?", (key_id,))

        await self._db.write(run)
        key = await self.get_api_key(key_id)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        return key

    # ---------------------------------------------------------------- providers
    async def set_provider(self, config: ProviderConfig) -> None:
        def run(conn: Conn) -> None:
            values = {
                "project_id": config.project_id, "provider": config.provider,
                "base_url": config.base_url, "kid": self.cipher.active_kid,
                "api_key": self.cipher.encrypt_text(config.api_key),
                "models": json.dumps(list(config.models)),
                "fallback_models": json.dumps(list(config.fallback_models)),
                "updated_at": config.updated_at.timestamp(),
            }
            conn.execute("DELETE FROM providers WHERE project_id = ?", (config.project_id,))
            insert(conn, "providers", values)

        await self.sealed_write(run)

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

    # ---------------------------------------------------------------- entries, read back
    async def _entries_where(self, where: str, args: Sequence[Any],
                             tail: str = "") -> list[Entry]:
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {ENTRY_COLUMNS} FROM entries WHERE {where} {tail}", tuple(args)).fetchall())
        await self._know_kids(rows)
        return [codec.open_entry(self.cipher, r) for r in rows]

    @staticmethod
    def _stored_live(conn: Conn, entry: NewEntry, now: float) -> str | None:
        """The id of a live entry of this very prompt (a concurrent miss stored it first)."""
        same = conn.execute(
            f"SELECT id FROM entries WHERE partition = ? AND exact_key = ? AND {LIVE}",
            (entry.partition, entry.exact_key, now)).fetchone()
        return None if same is None else str(same[0])

    async def find_exact(self, partition: str, exact_key: str, now: datetime) -> Entry | None:
        found = await self._entries_where(f"partition = ? AND exact_key = ? AND {LIVE}",
                                          (partition, exact_key, now.timestamp()),
                                          "ORDER BY rowid DESC LIMIT 1")
        return found[0] if found else None

    async def get_entry(self, entry_id: str) -> Entry | None:
        found = await self._entries_where("id = ?", (entry_id,))
        return found[0] if found else None

    # ---------------------------------------------------------------- embedding spaces
    async def count_other_space(self) -> int:
        """Entries whose vectors another model made (``vectorcache cache reembed`` moves them)."""
        row = await self._db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM entries WHERE space IS NULL OR space <> ?",
            (self.space or "",)).fetchone())
        return int(row[0])

    async def entries_to_reembed(self, limit: int) -> list[Entry]:
        """Up to ``limit`` entries (decrypted) whose vectors another model made."""
        return await self._entries_where("space IS NULL OR space <> ?", (self.space or "",),
                                         f"ORDER BY created_at, id LIMIT {int(limit)}")

    async def raise_entry_floor(self, entry_id: str, min_similarity: float,
                                reports: int = 1) -> float | None:
        def run(conn: Conn) -> float | None:
            conn.execute(
                "UPDATE entries SET wrong_reports = wrong_reports + ?, min_similarity = CASE"
                " WHEN min_similarity < ? THEN ? ELSE min_similarity END WHERE id = ?",
                (reports, min_similarity, min_similarity, entry_id))
            row = conn.execute("SELECT min_similarity FROM entries WHERE id = ?",
                               (entry_id,)).fetchone()
            return None if row is None else float(row[0])

        return await self._db.write(run)

    async def list_entries(self, project_id: str, *, offset: int = 0,
                           limit: int = 500) -> list[Entry]:
        """A project's entries, oldest first, a page at a time (export)."""
        return await self._entries_where("project_id = ?", (project_id, limit, offset),
                                         "ORDER BY created_at, rowid LIMIT ? OFFSET ?")

    async def entries_for_user(self, user_hash: str) -> list[Entry]:
        return await self._entries_where("user_hash = ?", (user_hash,), "ORDER BY created_at")

    # ---------------------------------------------------------------- entries, deleted
    async def _delete_where(self, where: str, args: Sequence[Any]) -> tuple[int, int]:
        def run(conn: Conn) -> tuple[list[int], int]:
            rows = conn.execute(f"SELECT rowid, size_bytes FROM entries WHERE {where}",
                                tuple(args)).fetchall()
            conn.execute(f"DELETE FROM entries WHERE {where}", tuple(args))
            return [int(r[0]) for r in rows], sum(int(r[1]) for r in rows)

        labels, size = await self._db.write(run)
        await self._forget(labels)
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

    async def erase_user(self, user_hash: str) -> tuple[int, int]:
        entries, _ = await self._delete_where("user_hash = ?", [user_hash])

        def run(conn: Conn) -> int:
            events = conn.execute("DELETE FROM events WHERE user_hash = ?", (user_hash,))
            # the request log keeps each request (counts, latency) but not whose it was; the
            # analytics slices per end user go
            conn.execute("UPDATE request_log SET user_hash = '' WHERE user_hash = ?",
                         (user_hash,))
            conn.execute("DELETE FROM request_rollups WHERE end_user = ?", (user_hash,))
            return int(events.rowcount)

        return entries, await self._db.write(run)

    # ---------------------------------------------------------------- counts
    async def _count_project_entries(self, project_id: str) -> int:
        row = await self._db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM entries WHERE project_id = ?", (project_id,)).fetchone())
        return int(row[0])

    async def stats(self, project_id: str, now: datetime) -> ProjectStats:
        def run(conn: Conn) -> ProjectStats:
            e = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(CASE WHEN expires_at IS NOT NULL AND"
                " expires_at <= ? THEN 1 ELSE 0 END), 0), COALESCE(SUM(size_bytes), 0)"
                " FROM entries WHERE project_id = ?", (now.timestamp(), project_id)).fetchone()
            h = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(tokens), 0), COALESCE(SUM(cost_saved_usd), 0),"
                " AVG(similarity) FROM events WHERE project_id = ? AND kind = 'hit'",
                (project_id,)).fetchone()
            total, expired = int(e[0]), int(e[1])
            return ProjectStats(
                project_id=project_id, total_entries=total, active_entries=total - expired,
                expired_entries=expired, total_hits=int(h[0]), total_tokens_saved=int(h[1]),
                total_cost_saved=round(float(h[2]), 6),
                avg_similarity_score=None if h[3] is None else round(float(h[3]), 4),
                cache_size_mb=round(int(e[2]) / 1_048_576, 4),
            )

        return await self._db.read(run)

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
        usage = [(n, at.timestamp(), at.timestamp(), key_id)
                 for key_id, (n, at) in (key_usage or {}).items()]

        def run(conn: Conn) -> None:
            if rows:
                conn.executemany(
                    "INSERT INTO events (at, project_id, kind, entry_id, key_id, user_hash,"
                    " similarity, latency_ms, tokens, cost_usd, cost_saved_usd, model)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            if hits:
                conn.executemany(
                    "UPDATE entries SET hit_count = hit_count + ?, last_hit_at = ? WHERE id = ?",
                    [(n, now, entry_id) for entry_id, n in hits.items()])
            if usage:
                conn.executemany(
                    "UPDATE api_keys SET request_count = request_count + ?, last_used_at = CASE"
                    " WHEN COALESCE(last_used_at, 0) < ? THEN ? ELSE last_used_at END"
                    " WHERE id = ?", usage)

        await self._db.write(run)

    async def add_audit(self, action: str, *, project_id: str | None, actor: str | None,
                        target: str | None, details: dict[str, object] | None = None,
                        client_ip: str | None = None) -> None:
        values = {"at": utcnow().timestamp(), "action": action, "project_id": project_id,
                  "actor": actor, "target": target, "details": json.dumps(details or {}),
                  "client_ip": client_ip}
        await self._db.write(lambda c: insert(c, "audit", values))

    async def list_audit(self, project_id: str | None = None,
                         limit: int = 100) -> list[AuditEvent]:
        sql, args = "SELECT * FROM audit", []
        if project_id is not None:
            sql, args = sql + " WHERE project_id = ?", [project_id]
        rows = await self._db.read(lambda c: c.execute(
            sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall())
        return [AuditEvent(id=r["id"], at=codec.dt(r["at"]) or utcnow(), action=r["action"],
                           project_id=r["project_id"], actor=r["actor"], target=r["target"],
                           details=json.loads(r["details"] or "{}"),
                           client_ip=r["client_ip"]) for r in rows]

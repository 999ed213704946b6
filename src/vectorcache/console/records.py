"""The console's rows, kept beside the store's in the same database (``console/schema.py``),
in the SQL dialect both backends share (``store/sql.py``). Reads and writes only: the rules
live in the services."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from vectorcache.console.models import KeyRequest, Session, User
from vectorcache.crypto import Cipher
from vectorcache.models import ApiKey, AuditEvent
from vectorcache.store import Store, codec
from vectorcache.store.sql import Conn, Db, insert, update

__all__ = ["ConsoleRecords"]

_USER_COLUMNS = ("u.id, u.name, u.role, u.totp_enabled, u.created_at, u.password_changed_at, "
                 "u.disabled_at")


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _user(row: Any) -> User:
    created = _dt(row["created_at"])
    changed = _dt(row["password_changed_at"])
    assert created is not None and changed is not None
    return User(id=row["id"], name=row["name"], role=row["role"],
                totp_enabled=bool(row["totp_enabled"]), created_at=created,
                password_changed_at=changed, disabled_at=_dt(row["disabled_at"]))


def _session(row: Any, user: User) -> Session:
    created, seen, expires = (_dt(row["created_at"]), _dt(row["last_seen_at"]),
                              _dt(row["expires_at"]))
    assert created is not None and seen is not None and expires is not None
    return Session(id_hash=row["id_hash"], user=user, stage=row["stage"],
                   csrf_token=row["csrf_token"], created_at=created, last_seen_at=seen,
                   expires_at=expires, client_ip=row["client_ip"], user_agent=row["user_agent"])


def _request(row: Any) -> KeyRequest:
    grant = json.loads(row["grant_json"])
    created = _dt(row["created_at"])
    assert created is not None
    return KeyRequest(id=row["id"], project_id=row["project_id"],
                      requested_by=row["requested_by"], name=row["name"], prefix=row["prefix"],
                      scopes=tuple(grant.get("scopes", ())), models=tuple(grant.get("models", ())),
                      allowed_ips=tuple(grant.get("allowed_ips", ())),
                      reasons=tuple(json.loads(row["reasons"])), status=row["status"],
                      created_at=created, decided_by=row["decided_by"],
                      decided_at=_dt(row["decided_at"]))


class ConsoleRecords:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._db: Db = store.db

    @property
    def _cipher(self) -> Cipher:
        return self._store.cipher  # replaced when another process rotates the data keys

    # ---------------------------------------------------------------- users
    async def insert_user(self, *, user_id: str, name: str, role: str, password_hash: str,
                          now: datetime) -> None:
        values = {"id": user_id, "name": name, "role": role, "password_hash": password_hash,
                  "totp_enabled": 0, "created_at": now.timestamp(),
                  "password_changed_at": now.timestamp()}

        def run(conn: Conn) -> int:
            return int(insert(conn, "console_users", values,
                              suffix=" ON CONFLICT (name) DO NOTHING").rowcount)

        if await self._db.write(run) == 0:
            from vectorcache.errors import ValidationFailed

            raise ValidationFailed(f"User {name!r} already exists", code="user_exists",
                                   param="name")

    async def _user_where(self, where: str, arg: str) -> tuple[User, Any] | None:
        row = await self._db.read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS}, u.password_hash, u.totp_kid, u.totp_secret, "
            f"u.totp_last_step FROM console_users u WHERE u.{where} = ?", (arg,)).fetchone())
        return None if row is None else (_user(row), row)

    async def user(self, user_id: str) -> User | None:
        found = await self._user_where("id", user_id)
        return None if found is None else found[0]

    async def user_by_name(self, name: str) -> User | None:
        found = await self._user_where("name", name)
        return None if found is None else found[0]

    async def credentials(self, name: str) -> tuple[User, str] | None:
        """The user and their password hash."""
        found = await self._user_where("name", name)
        return None if found is None else (found[0], str(found[1]["password_hash"]))

    async def password_hash(self, user_id: str) -> str | None:
        found = await self._user_where("id", user_id)
        return None if found is None else str(found[1]["password_hash"])

    async def totp(self, user_id: str) -> tuple[str | None, int | None]:
        """The user's TOTP secret (decrypted) and the last time step used."""
        found = await self._user_where("id", user_id)
        if found is None or found[1]["totp_secret"] is None:
            return None, None
        row = found[1]
        secret = self._cipher.decrypt_text(row["totp_kid"], bytes(row["totp_secret"]))
        step = row["totp_last_step"]
        return secret, None if step is None else int(step)

    async def set_totp(self, user_id: str, secret: str | None, *, enabled: bool) -> None:
        kid = None if secret is None else self._cipher.active_kid
        sealed = None if secret is None else self._cipher.encrypt_text(secret)
        await self.update_user(user_id, totp_kid=kid, totp_secret=sealed,
                               totp_enabled=int(enabled), totp_last_step=None)

    async def use_totp_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as used; False when it (or a later one) already was (a replay)."""
        def run(conn: Conn) -> int:
            return int(conn.execute(
                "UPDATE console_users SET totp_last_step = ? WHERE id = ? AND "
                "(totp_last_step IS NULL OR totp_last_step < ?)", (step, user_id, step)).rowcount)

        return await self._db.write(run) == 1

    async def update_user(self, user_id: str, **fields: Any) -> None:
        await self._db.write(lambda c: update(c, "console_users", "id", user_id, fields))

    async def delete_user(self, user_id: str) -> None:
        await self._db.write(lambda c: c.execute("DELETE FROM console_users WHERE id = ?",
                                                 (user_id,)))

    async def list_users(self, offset: int = 0, limit: int = 100) -> list[User]:
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS} FROM console_users u ORDER BY u.name LIMIT ? OFFSET ?",
            (limit, offset)).fetchall())
        return [_user(r) for r in rows]

    async def count_users(self, role: str | None = None) -> int:
        where, args = ("WHERE role = ? AND disabled_at IS NULL", (role,)) if role else ("", ())
        row = await self._db.read(lambda c: c.execute(
            f"SELECT COUNT(*) FROM console_users {where}", args).fetchone())
        return int(row[0])

    # ---------------------------------------------------------------- backup codes
    async def replace_backup_codes(self, user_id: str, hashes: Sequence[str]) -> None:
        def run(conn: Conn) -> None:
            conn.execute("DELETE FROM console_backup_codes WHERE user_id = ?", (user_id,))
            conn.executemany("INSERT INTO console_backup_codes (user_id, code_hash) VALUES (?, ?)",
                             [(user_id, h) for h in hashes])

        await self._db.write(run)

    async def use_backup_code(self, user_id: str, code_hash: str, now: datetime) -> bool:
        def run(conn: Conn) -> int:
            return int(conn.execute(
                "UPDATE console_backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? "
                "AND used_at IS NULL", (now.timestamp(), user_id, code_hash)).rowcount)

        return await self._db.write(run) == 1

    async def backup_codes_left(self, user_id: str) -> int:
        row = await self._db.read(lambda c: c.execute(
            "SELECT COUNT(*) FROM console_backup_codes WHERE user_id = ? AND used_at IS NULL",
            (user_id,)).fetchone())
        return int(row[0])

    # ---------------------------------------------------------------- sessions
    async def insert_session(self, values: dict[str, Any]) -> None:
        await self._db.write(lambda c: insert(c, "console_sessions", values))

    async def session(self, id_hash: str) -> tuple[Session, datetime | None] | None:
        """The session and when it was revoked (None: it was not)."""
        row = await self._db.read(lambda c: c.execute(
            f"SELECT s.*, {_USER_COLUMNS} FROM console_sessions s "
            "JOIN console_users u ON u.id = s.user_id WHERE s.id_hash = ?",
            (id_hash,)).fetchone())
        if row is None:
            return None
        return _session(row, _user(row)), _dt(row["revoked_at"])

    async def touch_session(self, id_hash: str, now: datetime) -> None:
        await self._db.write(lambda c: c.execute(
            "UPDATE console_sessions SET last_seen_at = ? WHERE id_hash = ?",
            (now.timestamp(), id_hash)))

    async def revoke_sessions(self, now: datetime, *, id_hash: str | None = None,
                              user_id: str | None = None, keep: str | None = None) -> int:
        """Revoke one session, or every live one of a user (but ``keep``)."""
        sql = "UPDATE console_sessions SET revoked_at = ? WHERE revoked_at IS NULL"
        args: list[Any] = [now.timestamp()]
        if id_hash is not None:
            sql, args = sql + " AND id_hash = ?", [*args, id_hash]
        if user_id is not None:
            sql, args = sql + " AND user_id = ?", [*args, user_id]
        if keep is not None:
            sql, args = sql + " AND id_hash <> ?", [*args, keep]
        return int(await self._db.write(lambda c: c.execute(sql, args).rowcount))

    async def user_sessions(self, user: User, now: datetime, limit: int = 50) -> list[Session]:
        rows = await self._db.read(lambda c: c.execute(
            "SELECT * FROM console_sessions WHERE user_id = ? AND revoked_at IS NULL AND "
            "expires_at > ? ORDER BY last_seen_at DESC LIMIT ?",
            (user.id, now.timestamp(), limit)).fetchall())
        return [_session(r, user) for r in rows]

    # ---------------------------------------------------------------- memberships
    async def add_membership(self, user_id: str, project_id: str, now: datetime) -> None:
        await self._db.write(lambda c: insert(
            c, "console_memberships",
            {"user_id": user_id, "project_id": project_id, "created_at": now.timestamp()},
            suffix=" ON CONFLICT (user_id, project_id) DO NOTHING"))

    async def remove_membership(self, user_id: str, project_id: str) -> int:
        return int(await self._db.write(lambda c: c.execute(
            "DELETE FROM console_memberships WHERE user_id = ? AND project_id = ?",
            (user_id, project_id)).rowcount))

    async def memberships(self, user_id: str) -> frozenset[str]:
        rows = await self._db.read(lambda c: c.execute(
            "SELECT project_id FROM console_memberships WHERE user_id = ?",
            (user_id,)).fetchall())
        return frozenset(str(r[0]) for r in rows)

    async def members(self, project_id: str) -> list[User]:
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS} FROM console_users u JOIN console_memberships m "
            "ON m.user_id = u.id WHERE m.project_id = ? ORDER BY u.name",
            (project_id,)).fetchall())
        return [_user(r) for r in rows]

    # ---------------------------------------------------------------- key requests
    async def insert_request(self, values: dict[str, Any]) -> None:
        await self._db.write(lambda c: insert(c, "console_key_requests", values))

    async def request(self, request_id: str) -> tuple[KeyRequest, dict[str, Any], str] | None:
        """The request, its full grant (as stored) and the key's hash."""
        row = await self._db.read(lambda c: c.execute(
            "SELECT * FROM console_key_requests WHERE id = ?", (request_id,)).fetchone())
        if row is None:
            return None
        return _request(row), json.loads(row["grant_json"]), str(row["key_hash"])

    async def requests(self, project_id: str | None, status: str | None = "pending",
                       limit: int = 100) -> list[KeyRequest]:
        clauses, args = [], []
        if project_id is not None:
            clauses, args = ["project_id = ?"], [project_id]
        if status is not None:
            clauses, args = [*clauses, "status = ?"], [*args, status]
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT * FROM console_key_requests {where} ORDER BY created_at DESC LIMIT ?",
            (*args, limit)).fetchall())
        return [_request(r) for r in rows]

    async def decide_request(self, request_id: str, status: str, by: str, now: datetime) -> bool:
        """Pending to ``status``; False when it was no longer pending (decided elsewhere)."""
        return int(await self._db.write(lambda c: c.execute(
            "UPDATE console_key_requests SET status = ?, decided_by = ?, decided_at = ? "
            "WHERE id = ? AND status = 'pending'",
            (status, by, now.timestamp(), request_id)).rowcount)) == 1

    # ---------------------------------------------------------------- login throttling
    async def failure(self, subject: str) -> tuple[int, datetime, datetime | None] | None:
        row = await self._db.read(lambda c: c.execute(
            "SELECT failures, window_start, locked_until FROM console_login_failures "
            "WHERE subject = ?", (subject,)).fetchone())
        if row is None:
            return None
        start = _dt(row["window_start"])
        assert start is not None
        return int(row["failures"]), start, _dt(row["locked_until"])

    async def put_failure(self, subject: str, failures: int, window_start: datetime,
                          locked_until: datetime | None) -> None:
        await self._db.write(lambda c: c.execute(
            "INSERT INTO console_login_failures (subject, failures, window_start, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET failures = "
            "excluded.failures, window_start = excluded.window_start, "
            "locked_until = excluded.locked_until",
            (subject, failures, window_start.timestamp(), _ts(locked_until))))

    async def clear_failures(self, subject: str) -> None:
        await self._db.write(lambda c: c.execute(
            "DELETE FROM console_login_failures WHERE subject = ?", (subject,)))

    # ---------------------------------------------------------------- pages (bounded reads)
    async def keys_page(self, project_id: str, offset: int, limit: int) -> list[ApiKey]:
        """A page of a project's keys, newest first (the index on project_id bounds it)."""
        rows = await self._db.read(lambda c: c.execute(
            "SELECT * FROM api_keys WHERE project_id = ? ORDER BY created_at DESC, id "
            "LIMIT ? OFFSET ?", (project_id, limit, offset)).fetchall())
        return [codec.api_key_from_row(r) for r in rows]

    async def audit_page(self, project_id: str | None, before: int | None, limit: int,
                         action: str | None = None, actor: str | None = None
                         ) -> list[AuditEvent]:
        """Newest first, ``before`` an event id (keyset paging: no OFFSET scan)."""
        clauses: list[str] = []
        args: list[Any] = []
        for column, value in (("project_id", project_id), ("action", action),
                              ("actor", actor)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if before is not None:
            clauses.append("id < ?")
            args.append(before)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._db.read(lambda c: c.execute(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall())
        return [AuditEvent(id=r["id"], at=_dt(r["at"]) or datetime.now(UTC), action=r["action"],
                           project_id=r["project_id"], actor=r["actor"], target=r["target"],
                           details=json.loads(r["details"] or "{}")) for r in rows]

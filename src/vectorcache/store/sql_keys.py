"""Data-key rotation in SQL: the key ring, and rows moved to the active data key.

Written once for every SQL backend (``store/sql.py``). Each function runs inside one write
transaction, so a batch of re-encrypted rows is committed whole or not at all, and a rotation
interrupted at any point resumes by re-encrypting the rows not under the active key again.
"""

from __future__ import annotations

from vectorcache.clock import utcnow
from vectorcache.crypto import Cipher
from vectorcache.errors import NotFound, ValidationFailed
from vectorcache.keyring import WrappedKey, rewrap_key, wrap_new_key
from vectorcache.models import DataKeyInfo
from vectorcache.store import codec
from vectorcache.store.sql import Conn

__all__ = [
    "StaleDataKey",
    "active_kid",
    "add_key",
    "check_active",
    "key_infos",
    "load_keys",
    "pending_rows",
    "reencrypt",
    "retire_key",
]

_ENTRY_COLUMNS = ("prompt", "response", "context", "metadata", "shape")
#: other tables with one sealed column each, moved after the entries: (table, id, column)
_SEALED = (("providers", "project_id", "api_key"), ("monitor_webhooks", "id", "secret"))
_OTHER_KID = "(kid IS NULL OR kid <> ?)"  # rows not under the given (active) key


class StaleDataKey(Exception):
    """Another process activated a new data key: reload the key ring and seal again."""


def load_keys(conn: Conn) -> list[WrappedKey]:
    rows = conn.execute("SELECT kid, wrapped, active, retired_at FROM data_keys").fetchall()
    return [WrappedKey(r["kid"], r["wrapped"], bool(r["active"]), r["retired_at"] is not None)
            for r in rows]


def active_kid(conn: Conn) -> str | None:
    row = conn.execute("SELECT kid FROM data_keys WHERE active = 1").fetchone()
    return None if row is None else str(row[0])


def check_active(conn: Conn, cipher: Cipher) -> None:
    """Raise ``StaleDataKey`` unless ``cipher`` encrypts with the database's active key."""
    if active_kid(conn) != cipher.active_kid:
        raise StaleDataKey()


def rewrap_all(conn: Conn, old_master: bytes, new_master: bytes) -> int:
    """Every live data key sealed under ``new_master`` instead, in the caller's transaction
    (all or nothing); how many."""
    keys = [k for k in load_keys(conn) if not k.retired]
    sealed = [(rewrap_key(old_master, new_master, k), k.kid) for k in keys]  # all open first
    conn.executemany("UPDATE data_keys SET wrapped = ? WHERE kid = ?", sealed)
    return len(sealed)


def add_key(conn: Conn, master_key: bytes) -> str:
    kid, wrapped = wrap_new_key(master_key)
    conn.execute("UPDATE data_keys SET active = 0 WHERE active = 1")
    conn.execute("INSERT INTO data_keys (kid, wrapped, created_at, active) VALUES (?, ?, ?, 1)",
                 (kid, wrapped, utcnow().timestamp()))
    return kid


def _reseal(cipher: Cipher, kid: str | None, token: bytes | None) -> bytes | None:
    return None if token is None else cipher.encrypt(cipher.decrypt(kid, token))


def reencrypt(conn: Conn, cipher: Cipher, batch: int) -> int:
    """Move up to ``batch`` rows (entries, then provider keys, then webhook signing secrets)
    to the active key."""
    check_active(conn, cipher)
    kid = cipher.active_kid
    rows = conn.execute(
        f"SELECT rowid, kid, {', '.join(_ENTRY_COLUMNS)} FROM entries"
        f" WHERE {_OTHER_KID} LIMIT ?", (kid, batch)).fetchall()
    sets = ", ".join(f"{col} = ?" for col in _ENTRY_COLUMNS)
    for row in rows:
        sealed = [_reseal(cipher, row["kid"], row[col]) for col in _ENTRY_COLUMNS]
        grown = sum(len(new or b"") - len(row[col] or b"")
                    for col, new in zip(_ENTRY_COLUMNS, sealed, strict=True))
        conn.execute(f"UPDATE entries SET kid = ?, {sets}, size_bytes = size_bytes + ?"
                     " WHERE rowid = ?", (kid, *sealed, grown, row["rowid"]))
    done = len(rows)
    for table, id_column, column in _SEALED:
        if done >= batch:
            break
        found = conn.execute(
            f"SELECT {id_column}, kid, {column} FROM {table} WHERE {_OTHER_KID} LIMIT ?",
            (kid, batch - done)).fetchall()
        for row in found:
            conn.execute(f"UPDATE {table} SET kid = ?, {column} = ? WHERE {id_column} = ?",
                         (kid, _reseal(cipher, row["kid"], row[column]), row[id_column]))
        done += len(found)
    return done


def _count(conn: Conn, where: str, kid: str | None) -> int:
    tables = ["entries", *(table for table, _, _ in _SEALED)]
    return sum(int(conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}",
                                (kid,)).fetchone()[0]) for table in tables)


def pending_rows(conn: Conn) -> int:
    """Rows not yet under the active data key (plaintext rows from before encryption included)."""
    return _count(conn, _OTHER_KID, active_kid(conn))


def _rows_using(conn: Conn, kid: str) -> int:
    return _count(conn, "kid = ?", kid)


def retire_key(conn: Conn, kid: str) -> None:
    """Destroy a data key no row uses any more (its wrapped copy is erased)."""
    row = conn.execute("SELECT active, retired_at FROM data_keys WHERE kid = ?",
                       (kid,)).fetchone()
    if row is None:
        raise NotFound(f"Data key {kid!r} not found")
    if row["active"]:
        raise ValidationFailed(f"Data key {kid!r} is the active key; rotate to a new key first",
                               code="data_key_active")
    if row["retired_at"] is not None:
        return
    used = _rows_using(conn, kid)
    if used:
        raise ValidationFailed(
            f"Data key {kid!r} still encrypts {used} rows; run 'vectorcache encryption rotate "
            "--resume' until none are left, then retire it", code="data_key_in_use")
    conn.execute("UPDATE data_keys SET retired_at = ?, wrapped = ? WHERE kid = ?",
                 (utcnow().timestamp(), b"", kid))


def key_infos(conn: Conn) -> list[DataKeyInfo]:
    rows = conn.execute(
        "SELECT kid, created_at, active, retired_at FROM data_keys ORDER BY created_at").fetchall()
    out = []
    for r in rows:
        created = codec.dt(r["created_at"])
        assert created is not None
        out.append(DataKeyInfo(kid=r["kid"], created_at=created, active=bool(r["active"]),
                               retired_at=codec.dt(r["retired_at"]),
                               rows=_rows_using(conn, r["kid"])))
    return out

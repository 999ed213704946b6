"""What the SQL backends have in common: a connection seen through one small interface.

The record-keeping SQL (projects, keys, providers, events, audit, data keys) is written once,
in the dialect SQLite and PostgreSQL share: ``?`` placeholders, ``CASE`` instead of the scalar
``MAX``, ``kid IS NULL OR kid <> ?`` instead of SQLite's ``IS NOT ?``. Each backend hands its
functions a ``Conn``: ``sqlite3.Connection`` is one; ``pg_db`` wraps a psycopg connection.
Rows are read by column name or by position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["Conn", "Cursor", "Db", "Row", "insert", "update"]

T = TypeVar("T")


class Row(Protocol):
    def __getitem__(self, key: int | str, /) -> Any: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Conn(Protocol):
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]], /) -> Any: ...


def insert(conn: Conn, table: str, values: Mapping[str, Any], *, suffix: str = "",
           casts: Mapping[str, str] | None = None) -> Any:
    """One row; its cursor. ``suffix``: e.g. an ``ON CONFLICT`` clause; ``casts``: a column's
    SQL type where the driver must be told (pgvector's ``vector``)."""
    cols = ", ".join(values)
    marks = ", ".join(f"?::{casts[col]}" if casts and col in casts else "?" for col in values)
    return conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks}){suffix}",
                        tuple(values.values()))


def update(conn: Conn, table: str, key: str, key_value: Any, values: Mapping[str, Any]) -> int:
    """Rows changed (1 when there was nothing to set: the row is left as it is)."""
    if not values:
        return 1
    sets = ", ".join(f"{col} = ?" for col in values)
    cur = conn.execute(f"UPDATE {table} SET {sets} WHERE {key} = ?",
                       (*values.values(), key_value))
    return int(cur.rowcount)


class Db(Protocol):
    """A backend's connections: ``read`` runs ``fn`` on a connection that sees committed
    data, ``write`` runs it inside one transaction; both off the event loop, and a database
    failure surfaces as ``ServiceUnavailable``."""

    async def read(self, fn: Callable[[Conn], T]) -> T: ...
    async def write(self, fn: Callable[[Conn], T]) -> T: ...
    def close(self) -> None: ...

"""When each key is due for rotation, kept in SQL (shared dialect, both backends).

``rotation_due_at`` is ``created_at`` (a rotated-to key is created at its rotation) plus the
project's days for the key's environment. The store sets it when a key is added and moves
every key of a project when its rotation policy changes, so readers (``/v1/keys``, the CLI,
the console, the ``key_rotation_due`` alert) read one column and never recompute it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vectorcache.store.sql import Conn

__all__ = ["refresh_due"]

_DAYS = ("(SELECT CASE api_keys.environment"
         " WHEN 'staging' THEN p.rotation_days_staging"
         " WHEN 'development' THEN p.rotation_days_development"
         " ELSE p.rotation_days_production END"
         " FROM projects p WHERE p.id = api_keys.project_id)")


def refresh_due(conn: Conn, where: str, args: Sequence[Any]) -> int:
    """Set ``rotation_due_at`` of the keys ``where`` selects from their project's policy."""
    cur = conn.execute(f"UPDATE api_keys SET rotation_due_at = created_at + 86400 * {_DAYS}"
                       f" WHERE {where}", tuple(args))
    return int(cur.rowcount)

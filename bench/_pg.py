"""PostgreSQL for the benchmarks: a throw-away server (the ``pgserver`` wheel), filling its
``entries`` table directly, and what it reports about itself (scans, versions)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["PostgresRows", "pg_entry_scans", "pg_versions", "postgres"]


class PostgresRows:
    """Rows into PostgreSQL, one transaction per chunk (the HNSW index is updated per row)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def write(self, rows: list[dict[str, Any]], partition: str, vectors: Any) -> None:
        from vectorcache.store.postgres import _vector_text  # the store's own text form

        rows = [{**r, "embedding": _vector_text(v)} for r, v in zip(rows, vectors, strict=True)]
        cols = list(rows[0])
        marks = ", ".join("%s::vector" if col == "embedding" else "%s" for col in cols)
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO entries ({', '.join(cols)}) VALUES ({marks})",  # noqa: S608
                            [tuple(r.values()) for r in rows])

    def close(self) -> None:
        self.conn.execute("VACUUM ANALYZE entries")  # as autovacuum would, soon after a load
        self.conn.close()


@contextmanager
def postgres() -> Iterator[Callable[[], str]]:
    """A throw-away PostgreSQL 16 with pgvector (the ``pgserver`` wheel, its default settings)
    in a temporary directory, on a unix socket; yields a function making a fresh database."""
    import pgserver
    import psycopg

    tmp = Path(tempfile.mkdtemp(prefix="vc-bench-pg-"))
    server = pgserver.get_server(tmp / "data", cleanup_mode="stop")  # type: ignore[attr-defined]
    made = 0

    def new_database() -> str:
        nonlocal made
        made += 1
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE bench_{made}")
        return str(server.get_uri(database=f"bench_{made}"))

    try:
        yield new_database
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def pg_entry_scans(url: str) -> dict[str, int]:
    """How often the ``entries`` table was read, by kind (cumulative; a backend's counts are
    flushed by the time it disconnects): ``hnsw`` scans of its vector index, ``exact_key``
    index scans, ``seq`` full scans."""
    import psycopg

    with psycopg.connect(url) as conn:
        seq = conn.execute("SELECT seq_scan FROM pg_stat_user_tables "
                           "WHERE relname = 'entries'").fetchone()
        idx: dict[str, int] = dict(conn.execute("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
                                "WHERE relname = 'entries'").fetchall())
    return {"hnsw": int(idx.get("entries_embedding", 0)),
            "exact_key": int(idx.get("entries_exact", 0)), "seq": int(seq[0] if seq else 0)}


def pg_versions(url: str) -> str:
    """"PostgreSQL 16.2 + pgvector 0.6.2"."""
    import psycopg

    with psycopg.connect(url) as conn:
        server = conn.execute("SHOW server_version").fetchone()
        vector = conn.execute("SELECT extversion FROM pg_extension "
                              "WHERE extname = 'vector'").fetchone()
    return f"PostgreSQL {server[0] if server else '?'} + pgvector {vector[0] if vector else '?'}"

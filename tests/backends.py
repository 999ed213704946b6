"""The real servers the tests start on loopback: Redis (Debian ``redis-server``) and databases
on the session's PostgreSQL (the ``pgserver`` wheel: PostgreSQL 16 with pgvector)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vectorcache.testing.loopback import free_port

__all__ = ["REDIS", "fresh_database", "postgres_server", "redis_server"]

REDIS = shutil.which("redis-server")


@contextmanager
def redis_server(workdir: Path, port: int | None = None) -> Iterator[str]:
    """A throwaway ``redis-server`` (no persistence); its URL. ``port``: the one an earlier
    server had (a restart)."""
    assert REDIS is not None
    port = port or free_port()
    proc = subprocess.Popen(
        [REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:  # ready when it answers PING
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def postgres_server() -> Iterator[Any]:
    """A PostgreSQL on a unix socket in a directory of its own, stopped and removed on exit.

    Not under pytest's temporary root: pgserver runs the server as its own user when started
    by root, and another pytest starting meanwhile makes that root private again (0700),
    which takes the running server's data directory away from it."""
    import pgserver

    home = Path(tempfile.mkdtemp(prefix="vectorcache-test-pg-"))
    server = pgserver.get_server(home / "data", cleanup_mode="stop")  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def fresh_database(pg_server: Any) -> Iterator[str]:
    """A new, empty database on ``pg_server``; its URL; dropped afterwards. The store creates
    the pgvector extension itself."""
    import psycopg
    from psycopg import sql

    name = f"vc_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield str(pg_server.get_uri(database=name))
    finally:
        with psycopg.connect(pg_server.get_uri(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

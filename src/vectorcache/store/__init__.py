"""Storage backends behind one ``Store`` interface, chosen by the database URL's scheme:
SQLite (embedded default) or PostgreSQL with pgvector (scale-out)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vectorcache.errors import ConfigurationError
from vectorcache.store.base import SearchResult, Store

__all__ = ["SearchResult", "Store", "open_store_for_url"]


def _sqlite(url: str, master_key: bytes, dims: int, searchable: bool,
            space: str | None) -> Store:
    from vectorcache.store.sqlite import SqliteStore

    return SqliteStore(Path(url.removeprefix("sqlite:///")), master_key, dims,
                       searchable=searchable, space=space)


def _postgres(url: str, master_key: bytes, dims: int, searchable: bool,
              space: str | None) -> Store:
    try:
        from vectorcache.store.postgres import PostgresStore
    except ImportError as exc:
        raise ConfigurationError(
            "A postgresql:// database URL needs psycopg: pip install 'vectorcache[postgres]'."
        ) from exc
    return PostgresStore(url, master_key, dims, space)  # searchable either way: nothing loads


BACKENDS: dict[str, Callable[[str, bytes, int, bool, str | None], Store]] = {
    "sqlite": _sqlite, "postgresql": _postgres, "postgres": _postgres}


def open_store_for_url(url: str, master_key: bytes, dims: int, *,
                       searchable: bool = True, space: str | None = None) -> Store:
    """An unopened store for ``url`` (``sqlite:///path`` or ``postgresql://...``); call
    ``await store.open()``.

    ``searchable=False`` opens it for management only: no similarity search, no vector index
    loaded. ``space`` names the embedding model of this process's vectors: entries are written
    with it, and only vectors of it are searched."""
    scheme = url.split(":", 1)[0]
    try:
        make = BACKENDS[scheme]
    except KeyError:
        named = repr(scheme) if "://" in url else "(not a URL: the value is not shown)"
        raise ConfigurationError(
            f"Unsupported database URL scheme {named}; supported: {sorted(BACKENDS)}."
        ) from None
    return make(url, master_key, dims, searchable, space)

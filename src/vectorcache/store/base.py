"""The ``Store``: every record the service keeps, plus similarity search inside one partition.

Implementations (SQLite, PostgreSQL+pgvector) share these semantics and the same tests.
They encrypt and decrypt through a ``Cipher`` built from the master key, so callers only ever
see plaintext domain records, and rows only ever hold ciphertext.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from vectorcache.crypto import Cipher
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
from vectorcache.store.sql import Conn, Db

__all__ = ["SearchResult", "Store"]

SearchResult = tuple[Entry, float]  # (entry, cosine similarity)
T = TypeVar("T")


class Store(Protocol):
    cipher: Cipher
    #: the embedding space (model) of this process's vectors; None: management only
    space: str | None

    @property
    def db(self) -> Db:
        """The backend's connections (the console keeps its own records beside these)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...
    async def get_meta(self, key: str) -> str | None:
        """A setting of the database itself (e.g. which embedding made its vectors)."""
    async def set_meta(self, key: str, value: str) -> None: ...
    async def index_status(self) -> dict[str, int]:
        """Vectors searchable and partitions being rebuilt (for readiness)."""

    # data keys (encryption at rest): rotation without downtime
    async def reload_keys(self) -> None: ...
    async def sealed_write(self, fn: Callable[[Conn], T]) -> T:
        """Run ``fn`` in one write transaction in which ``cipher`` seals under the database's
        active data key (reloaded and ``fn`` run again if another process rotated it): ``fn``
        reads ``cipher`` inside, never before."""
    async def add_data_key(self) -> str: ...
    async def reencrypt_batch(self, batch: int) -> int: ...
    async def pending_reencryption(self) -> int: ...
    async def retire_data_key(self, kid: str) -> None: ...
    async def data_keys(self) -> list[DataKeyInfo]: ...
    async def rewrap_data_keys(self, new_master: bytes) -> int: ...

    # projects
    async def create_project(self, name: str, **settings: Any) -> Project: ...
    async def get_project(self, project_id: str) -> Project | None: ...
    async def get_project_by_name(self, name: str) -> Project | None: ...
    async def list_projects(self) -> list[Project]: ...
    async def update_project(self, project_id: str, **settings: Any) -> Project: ...

    # API keys (hashes only)
    async def add_api_key(self, key: ApiKey) -> None: ...
    async def get_api_key(self, key_id: str) -> ApiKey | None: ...
    async def find_api_key(self, key_hash: str) -> ApiKey | None: ...
    async def find_api_key_and_project(self, key_hash: str
                                       ) -> tuple[ApiKey, Project | None] | None: ...
    async def list_api_keys(self, project_id: str | None = None) -> list[ApiKey]: ...
    async def update_api_key(self, key_id: str, **fields: Any) -> ApiKey: ...

    # provider configuration (the key is encrypted at rest)
    async def set_provider(self, config: ProviderConfig) -> None: ...
    async def get_provider(self, project_id: str) -> ProviderConfig | None: ...

    # cache entries
    async def insert_entry(self, entry: NewEntry) -> str: ...
    async def find_exact(self, partition: str, exact_key: str, now: datetime) -> Entry | None: ...
    async def search(
        self, partition: str, vector: npt.NDArray[np.float32], k: int, now: datetime,
        min_score: float = -1.0,
    ) -> list[SearchResult]:
        """The ``k`` nearest live entries, nearest first; below ``min_score`` only the nearest
        one is returned (nothing else there could be served, so it is not decrypted)."""
        ...
    async def search_project(
        self, project_id: str, vector: npt.NDArray[np.float32], k: int, now: datetime, *,
        user_hash: str | None = None,
    ) -> list[SearchResult]:
        """The ``k`` nearest live entries of a project, across its partitions (models,
        contexts), nearest first: an exact scan for listings, never for serving. With
        ``user_hash``, only the entries stored for that end user (``user`` cache scope)."""
        ...
    async def get_entry(self, entry_id: str) -> Entry | None: ...

    # embedding spaces: which model made each vector (``service/reembed.py``)
    async def count_other_space(self) -> int: ...
    async def entries_to_reembed(self, limit: int) -> list[Entry]: ...
    async def set_entry_vector(self, entry_id: str, vector: npt.NDArray[np.float32]) -> bool:
        """Replace an entry's vector with one of this store's space; False if it is gone."""
    async def entry_vector(self, entry_id: str) -> npt.NDArray[np.float32] | None:
        """The entry's embedding (for wrong-answer reports; never returned by a route)."""
    async def raise_entry_floor(self, entry_id: str, min_similarity: float,
                                reports: int = 1) -> float | None:
        """Count ``reports`` wrong-answer reports and raise the entry's ``min_similarity``
        (never lower it); the floor now in force, or None if the entry is gone."""
    async def delete_entries(self, project_id: str, entry_ids: Sequence[str]) -> int: ...
    async def clear(
        self, project_id: str, *, expired_only: bool, older_than: datetime | None, now: datetime
    ) -> tuple[int, int]: ...
    async def count_entries(self, project_id: str | None = None) -> int: ...
    async def list_entries(
        self, project_id: str, *, offset: int = 0, limit: int = 500
    ) -> list[Entry]: ...
    async def stats(self, project_id: str, now: datetime) -> ProjectStats: ...

    # end users (identified by a keyed hash of their id)
    async def entries_for_user(self, user_hash: str) -> list[Entry]: ...
    async def erase_user(self, user_hash: str) -> tuple[int, int]: ...

    # write-behind usage events (also bump hit counts and key usage)
    async def add_events(
        self, events: Sequence[UsageEvent],
        key_usage: Mapping[str, tuple[int, datetime]] | None = None,
    ) -> None: ...

    # append-only audit log
    async def add_audit(
        self, action: str, *, project_id: str | None, actor: str | None, target: str | None,
        details: dict[str, object] | None = None, client_ip: str | None = None,
    ) -> None: ...
    async def list_audit(
        self, project_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]: ...

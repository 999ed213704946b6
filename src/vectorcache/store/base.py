"""The ``Store``: every record the service keeps, plus similarity search inside one partition.

Implementations (SQLite now, PostgreSQL+pgvector next) share these semantics and the same tests.
They encrypt and decrypt through a ``Cipher`` built from the master key, so callers only ever
see plaintext domain records, and rows only ever hold ciphertext.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vectorcache.crypto import Cipher
from vectorcache.models import (
    ApiKey,
    AuditEvent,
    Entry,
    NewEntry,
    Project,
    ProjectStats,
    ProviderConfig,
    UsageEvent,
)

__all__ = ["Store", "ClearResult", "SearchResult"]

SearchResult = tuple[Entry, float]  # (entry, cosine similarity)


class ClearResult(Protocol):
    entries_cleared: int
    bytes_freed: int


class Store(Protocol):
    cipher: Cipher

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

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
    async def list_api_keys(self, project_id: str | None = None) -> list[ApiKey]: ...
    async def update_api_key(self, key_id: str, **fields: Any) -> ApiKey: ...

    # provider configuration (the key is encrypted at rest)
    async def set_provider(self, config: ProviderConfig) -> None: ...
    async def get_provider(self, project_id: str) -> ProviderConfig | None: ...

    # cache entries
    async def insert_entry(self, entry: NewEntry) -> str: ...
    async def find_exact(self, partition: str, exact_key: str, now: datetime) -> Entry | None: ...
    async def search(
        self, partition: str, vector: npt.NDArray[np.float32], k: int, now: datetime
    ) -> list[SearchResult]: ...
    async def get_entry(self, entry_id: str) -> Entry | None: ...
    async def delete_entries(self, project_id: str, entry_ids: Sequence[str]) -> int: ...
    async def clear(
        self, project_id: str, *, expired_only: bool, older_than: datetime | None, now: datetime
    ) -> tuple[int, int]: ...
    async def count_entries(self, project_id: str | None = None) -> int: ...
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
        details: dict[str, object] | None = None,
    ) -> None: ...
    async def list_audit(
        self, project_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]: ...

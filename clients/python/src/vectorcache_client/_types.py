"""Typed results: what each SDK method returns (unknown fields from newer servers ignored)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

__all__ = [
    "ClearResult",
    "FeedbackResult",
    "HealthStatus",
    "LookupResult",
    "ProjectStats",
    "QueryResult",
    "SimilarEntry",
    "SimilarResult",
    "StoreResult",
    "from_json",
]

T = TypeVar("T")


def from_json(cls: type[T], data: Any) -> T:
    """A dataclass from a JSON object, keeping only the fields it declares."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object for {cls.__name__}")
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class LookupResult:
    cache_hit: bool
    response: str | None = None
    similarity_score: float | None = None
    cache_entry_id: str | None = None
    debug: dict[str, Any] | None = None


@dataclass(frozen=True)
class QueryResult:
    cache_hit: bool
    response: str | None = None
    similarity_score: float | None = None
    cache_entry_id: str | None = None
    cost_saved: float = 0.0
    llm_provider: str | None = None
    query_id: str | None = None
    response_time_ms: float = 0.0
    tokens_used: int = 0
    estimated_cost: float = 0.0
    debug: dict[str, Any] | None = None
    #: the model that answered (a fallback model's, when the one asked failed)
    model: str | None = None
    #: why the answer was not cached: "pii", "no_user" (per-user scope), "fallback", ...
    cache_bypassed: str | None = None


@dataclass(frozen=True)
class StoreResult:
    cache_entry_id: str


@dataclass(frozen=True)
class ProjectStats:
    project_id: str
    total_entries: int = 0
    active_entries: int = 0
    expired_entries: int = 0
    total_hits: int = 0
    total_tokens_saved: int = 0
    total_cost_saved: float = 0.0
    avg_similarity_score: float | None = None
    cache_size_mb: float = 0.0


@dataclass(frozen=True)
class ClearResult:
    entries_cleared: int
    space_freed_mb: float = 0.0
    operation_time_ms: float = 0.0


@dataclass(frozen=True)
class FeedbackResult:
    cache_entry_id: str
    correct: bool
    similarity: float = 0.0
    #: the entry's floor now; None when it was deleted or the report said "correct"
    min_similarity: float | None = None
    deleted: bool = False


@dataclass(frozen=True)
class SimilarEntry:
    id: str
    original_query: str
    similarity: float
    created_at: str | None = None


@dataclass(frozen=True)
class SimilarResult:
    query: str
    similar_entries: list[SimilarEntry] = field(default_factory=list)
    total_found: int = 0

    @classmethod
    def parse(cls, data: Any) -> SimilarResult:
        result = from_json(cls, data)
        entries = [from_json(SimilarEntry, e) for e in result.similar_entries]
        return cls(query=result.query, similar_entries=entries, total_found=result.total_found)


@dataclass(frozen=True)
class HealthStatus:
    status: str
    timestamp: str | None = None

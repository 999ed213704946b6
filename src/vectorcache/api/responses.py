"""What the native routes and the error handlers answer, as models for the OpenAPI document.

The routes build their JSON by hand (the hot ones skip pydantic's re-encoding); these models
describe it for readers and for contract tests (Schemathesis checks every answer against
them). Fields the TypeScript SDK types as optional are absent rather than null, except where
API.md documents null (``similarity_score`` of a query miss). More fields may appear: clients
ignore what they do not know.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ClearResponse", "DeleteEntryResponse", "DryRunResponse", "Error", "FeedbackResponse",
    "GatewayError", "GatewayErrorBody", "HealthResponse", "LookupResponse", "QueryResponse",
    "ReadyResponse", "SimilarEntry", "SimilarResponse", "StatsResponse", "StoreResponse",
    "WorkflowStep",
]


class Error(BaseModel):
    """Every native error: ``{"detail", "code"}`` (and ``retry_after`` on a 429)."""

    detail: str = Field(description="What went wrong, and what to do next.")
    code: str = Field(description="A stable machine-readable code, e.g. invalid_api_key.")
    retry_after: int | None = Field(default=None, description="Seconds to wait (429 only).")


class GatewayErrorBody(BaseModel):
    message: str
    type: str = Field(description="OpenAI's error type, e.g. invalid_request_error.")
    code: str | None = None
    param: str | None = None


class GatewayError(BaseModel):
    """Every gateway error, in OpenAI's shape (the ``openai`` client raises its own classes)."""

    error: GatewayErrorBody


class LookupResponse(BaseModel):
    cache_hit: bool
    is_cache_hit: bool
    response: str | None = None
    similarity_score: float | None = None
    cache_entry_id: str | None = None
    cache_bypassed: str | None = Field(default=None,
                                       description="Why the cache was skipped, e.g. pii.")
    debug: dict[str, Any] | None = None


class QueryResponse(BaseModel):
    cache_hit: bool
    is_cache_hit: bool
    response: str
    similarity_score: float | None = Field(description="The hit's cosine similarity; null on "
                                                       "a miss.")
    cost_saved: float
    llm_provider: str | None
    cache_entry_id: str | None = Field(default=None,
                                       description="Absent when nothing was stored.")
    query_id: str
    response_time_ms: float
    tokens_used: int
    estimated_cost: float
    cache_bypassed: str | None = Field(default=None, description="Why the answer was not "
                                       "cached: pii, no_user (cache scope user), fallback.")
    model: str | None = Field(default=None, description="The model that answered (a fallback "
                                                        "model's, when the one asked failed).")
    debug: dict[str, Any] | None = None


class StoreResponse(BaseModel):
    cache_entry_id: str
    id: str


class FeedbackResponse(BaseModel):
    cache_entry_id: str
    correct: bool
    similarity: float
    min_similarity: float | None
    deleted: bool


class StatsResponse(BaseModel):
    project_id: str
    total_entries: int
    active_entries: int
    expired_entries: int
    total_hits: int
    total_tokens_saved: int
    total_cost_saved: float
    avg_similarity_score: float = Field(description="0 until the project has served a hit.")
    cache_size_mb: float


class ClearResponse(BaseModel):
    entries_cleared: int
    space_freed_mb: float
    operation_time_ms: float


class DeleteEntryResponse(BaseModel):
    deleted: bool
    cache_entry_id: str


class SimilarEntry(BaseModel):
    id: str
    original_query: str
    similarity: float
    created_at: str


class SimilarResponse(BaseModel):
    query: str
    similar_entries: list[SimilarEntry]
    total_found: int


class WorkflowStep(BaseModel):
    id: int
    name: str
    status: Literal["pending", "running", "success", "error", "skipped"]
    duration: float | None = None
    details: str | None = None
    icon: str


class DryRunResponse(BaseModel):
    cache_hit: bool
    response: str = Field(description="The cached answer; empty when nothing would be served.")
    similarity_score: float | None = Field(default=None, description="Present on a hit.")
    cache_entry_id: str | None = Field(default=None, description="Present on a hit.")
    cost_saved: float | None = Field(default=None, description="Present on a hit.")
    cache_bypassed: str | None = None
    response_time: float
    similar_entries: list[SimilarEntry]
    workflow_steps: list[WorkflowStep]
    similarity_threshold: float


class HealthResponse(BaseModel):
    status: Literal["healthy"]
    timestamp: str


class ReadyResponse(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, Any]

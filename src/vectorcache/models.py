"""Domain records, as the store holds them (decrypted by the store, never sent as is to clients)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALL_SCOPES",
    "ENVIRONMENTS",
    "ApiKey",
    "AuditEvent",
    "DataKeyInfo",
    "Entry",
    "NewApiKey",
    "NewEntry",
    "Project",
    "ProjectStats",
    "ProviderConfig",
    "RotationPolicy",
    "Usage",
    "UsageEvent",
]

ALL_SCOPES = ("cache:read", "cache:write", "analytics:read", "keys:manage")
#: what a key is for (its label decides how soon it is due for rotation)
ENVIRONMENTS = ("production", "staging", "development")


@dataclass(frozen=True)
class RotationPolicy:
    """A project's rotation schedule: days a key of each environment lives before it is due
    for rotation (the product's security pages: production 90, development 180)."""

    production: int = 90
    staging: int = 90
    development: int = 180

    def days(self, environment: str) -> int:
        return int(getattr(self, environment if environment in ENVIRONMENTS
                           else "production"))

    def as_dict(self) -> dict[str, int]:
        return {env: self.days(env) for env in ENVIRONMENTS}


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    created_at: datetime
    default_model: str | None = None
    similarity_threshold: float = 0.85
    #: decision mode ("static" or the verified decider) and its optional error target
    decision_mode: str | None = None
    target_error_rate: float | None = None
    #: what to do with personal data: "bypass" (answer, don't store) or "redact"
    pii_policy: str = "bypass"
    allowed_models: tuple[str, ...] = ()
    ttl_seconds: int | None = None
    #: whose entries answer a request: "shared" (the project's) or "user" (the end user's own)
    cache_scope: str = "shared"
    #: days before a key is due for rotation, per environment (``store/key_rotation.py``)
    rotation_policy: RotationPolicy = RotationPolicy()


@dataclass(frozen=True)
class ApiKey:
    """A stored key: only its HMAC, never the key."""

    id: str
    project_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime
    scopes: tuple[str, ...] = ALL_SCOPES
    models: tuple[str, ...] = ()
    allowed_ips: tuple[str, ...] = ()
    expires_at: datetime | None = None
    rate_limit_per_minute: int | None = None
    quota_requests: int | None = None
    quota_period: str | None = None
    last_used_at: datetime | None = None
    request_count: int = 0
    revoked_at: datetime | None = None
    #: overrides the project's ``cache_scope`` ("shared" or "user"); None: the project's
    cache_scope: str | None = None
    #: production | staging | development: picks the project's rotation period
    environment: str = "production"
    #: created_at + the project's period for the environment; kept by the store (set when the
    #: key is added, moved when the project's policy changes), so not part of equality
    rotation_due_at: datetime | None = field(default=None, compare=False)
    #: when this key was rotated away, and the key that replaced it (None: never rotated)
    rotated_at: datetime | None = None
    replaced_by: str | None = None

    @property
    def status(self) -> str:
        from vectorcache.clock import utcnow

        if self.revoked_at is not None and self.revoked_at <= utcnow():
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewApiKey:
    """What ``create_key`` returns: the record, and the key itself (shown once)."""

    record: ApiKey
    key: str


@dataclass(frozen=True)
class ProviderConfig:
    project_id: str
    provider: str
    api_key: str | None
    base_url: str | None
    updated_at: datetime
    models: tuple[str, ...] = ()
    fallback_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class NewEntry:
    project_id: str
    partition: str
    exact_key: str
    model: str
    prompt: str
    response: str
    embedding: npt.NDArray[np.float32]
    context: str | None = None
    metadata: dict[str, object] | None = None
    user_hash: str | None = None
    usage: Usage = field(default_factory=Usage)
    provider: str | None = None
    created_by_key: str | None = None
    expires_at: datetime | None = None
    #: a chat entry's earlier turns and sampling parameters ({"history", "params"}), if any
    shape: dict[str, object] | None = None


@dataclass(frozen=True)
class Entry:
    id: str
    project_id: str
    partition: str
    model: str
    prompt: str
    response: str
    context: str | None
    metadata: dict[str, object] | None
    usage: Usage
    provider: str | None
    created_at: datetime
    expires_at: datetime | None
    hit_count: int
    created_by_key: str | None
    user_hash: str | None
    shape: dict[str, object] | None = None
    #: reported wrong for a prompt this similar or less: served only above it (0 = no report)
    min_similarity: float = 0.0
    wrong_reports: int = 0

    def conversation(self) -> dict[str, object]:
        """For exports: a chat entry's ``messages`` (earlier turns, then the matched user turn)
        and sampling ``params``; nothing for a plain prompt."""
        shape = self.shape or {}
        out: dict[str, object] = {}
        history = shape.get("history")
        if isinstance(history, list) and history:
            out["messages"] = [*history, {"role": "user", "content": self.prompt}]
        if shape.get("params"):
            out["params"] = shape["params"]
        return out


@dataclass(frozen=True)
class UsageEvent:
    project_id: str
    kind: str  # "hit" | "miss" | "bypass" | "store" | "error"
    entry_id: str | None = None
    key_id: str | None = None
    user_hash: str | None = None
    similarity: float | None = None
    latency_ms: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    cost_saved_usd: float = 0.0
    model: str | None = None
    #: for the request log (monitoring/): an exact (not semantic) hit; why a bypass or an
    #: error; the provider's time and its usage split into prompt and completion tokens
    exact: bool = False
    reason: str | None = None
    provider_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: datetime
    action: str
    project_id: str | None
    actor: str | None
    target: str | None
    details: dict[str, object]
    #: the client address the server resolved (security/client_ip.py); None: the CLI, or older
    client_ip: str | None = None


@dataclass(frozen=True)
class ProjectStats:
    project_id: str
    total_entries: int
    active_entries: int
    expired_entries: int
    total_hits: int
    total_tokens_saved: int
    total_cost_saved: float
    avg_similarity_score: float | None
    cache_size_mb: float


@dataclass(frozen=True)
class DataKeyInfo:
    """A data key as shown to operators: never the key itself."""

    kid: str
    created_at: datetime
    active: bool
    retired_at: datetime | None
    #: rows (entries, provider keys, webhook signing secrets) encrypted under this key
    rows: int

"""Typed settings, read from ``VECTORCACHE_*`` environment variables and ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from vectorcache.bounds import (
    MAX_RATE_LIMIT_PER_MINUTE,
    MAX_RETENTION_DAYS,
    MAX_TTL_SECONDS,
)

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Everything the service can be told. Secrets are ``SecretStr`` and never printed."""

    model_config = SettingsConfigDict(
        env_prefix="VECTORCACHE_", env_file=".env", extra="ignore", frozen=True
    )

    data_dir: Path = Path(".vectorcache")
    database_url: str | None = Field(
        default=None, description="Defaults to a SQLite file in the data dir."
    )
    host: str = "127.0.0.1"
    port: int = 8000

    embedding_backend: str = Field(
        default="onnx", description="onnx | reference (sentence-transformers; training extra)")
    embedding_model: str = Field(
        default="all-minilm-l6-v2",
        description="A model shipped in the package: all-minilm-l6-v2 (stock MiniLM-L6, the "
                    "default) | vc-minilm-l6-pairs (MiniLM-L6 trained on labelled duplicate "
                    "pairs: more QQP-style duplicates at 2-5 %, almost no chat paraphrases).")
    embedding_max_batch: int = Field(default=64, ge=1, le=4_096)

    default_similarity_threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    default_ttl_seconds: int | None = Field(default=None, ge=1, le=MAX_TTL_SECONDS)
    search_candidates: int = Field(default=8, ge=1, le=100)
    max_prompt_chars: int = Field(default=32_000, ge=1, le=10_000_000)
    max_body_bytes: int = Field(default=1_048_576, ge=1_024, le=1_073_741_824)

    upstream_timeout_seconds: float = 60.0
    upstream_connect_timeout_seconds: float = 5.0

    master_key: SecretStr | None = Field(
        default=None, description="Fernet key (urlsafe base64); else data_dir/master.key."
    )
    passphrase: SecretStr | None = None
    server_secret: SecretStr | None = Field(
        default=None, min_length=32,
        description="Keys the hashes of API keys, partitions and user ids; else "
                    "data_dir/server.secret. Replicas sharing a database must share it.")
    pricing_file: Path | None = None
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of reverse proxies whose X-Forwarded-For is believed.")
    rate_limit_storage_url: str = Field(
        default="memory://",
        description="Where rate-limit counters live: memory:// (one process) or redis://host.")
    rate_limits_without_redis: Literal["refuse", "local"] = Field(
        default="refuse",
        description="While the rate-limit Redis is down: refuse (503, and /health/ready says "
                    "503) or local (count per replica, in process, until it is back).")
    redis_breaker_seconds: float = Field(
        default=5.0, ge=0.0, le=300.0,
        description="After a Redis command times out (a Redis that drops packets rather than "
                    "refusing them), skip Redis this long: rate limits follow "
                    "rate_limits_without_redis at once, misses and idempotency keys go on per "
                    "replica (0: never skip; every request then waits out the timeouts).")
    idempotency_ttl_seconds: int = Field(
        default=86_400, ge=60, le=7 * 86_400,
        description="How long a response is kept for retries with the same Idempotency-Key "
                    "(in process, and in the Redis of rate_limit_storage_url when set).")
    miss_lease_seconds: float = Field(
        default=10.0, ge=1.0, le=600.0,
        description="How long a replica asking the provider holds its prompt's lease; renewed "
                    "every third of it while the call goes on (a crashed replica stalls the "
                    "others on that prompt for at most this long).")
    default_rate_limit_per_minute: int | None = Field(
        default=60_000, ge=1, le=MAX_RATE_LIMIT_PER_MINUTE,
        description="Per-key limit for keys that set none (1,000 req/s; None: no limit).")
    ip_rate_limit_per_minute: int | None = Field(
        default=None, ge=1, le=MAX_RATE_LIMIT_PER_MINUTE,
        description="Per-client-IP limit on authenticated routes.")
    log_level: str = "INFO"

    # monitoring (monitoring/): /metrics, alerts, retention
    metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus metrics at /metrics on the server's port.")
    metrics_token: SecretStr | None = Field(
        default=None, description="When set, /metrics requires 'Authorization: Bearer <it>'.")
    monitor_interval_seconds: float = Field(
        default=60.0, gt=0, le=86_400,
        description="How often alert rules, deliveries and retention run (once across "
                    "replicas per period).")
    request_log_retention_days: int = Field(
        default=90, ge=1, le=MAX_RETENTION_DAYS,
        description="Default request-log retention (a project may set its own).")
    audit_retention_days: int = Field(
        default=365, ge=1, le=MAX_RETENTION_DAYS,
        description="Default audit-log retention (a project may set its own).")
    alert_webhook_url: str | None = Field(
        default=None, max_length=2000,
        description="Receives the instance's own alerts (those no project owns, e.g. a burst "
                    "of failed authentications with unknown keys), signed like a project's.")
    alert_webhook_secret: SecretStr | None = Field(
        default=None, min_length=16, max_length=256,
        description="Signing secret of alert_webhook_url (required with it).")
    alert_webhook_format: Literal["json", "slack"] = Field(
        default="json", description="json (signed alert) or slack (Slack-compatible, signed).")

    # the console (dashboard and /admin/api): accounts, sessions, sign-in throttling
    console_session_idle_seconds: int = Field(
        default=3600, ge=1, le=30 * 86_400,
        description="A console session ends after this long unused.")
    console_session_absolute_seconds: int = Field(
        default=43_200, ge=60, le=365 * 86_400,
        description="...and this long after sign-in, used or not.")
    console_secure_cookies: bool = Field(
        default=False, description="Mark the session cookie Secure even when the request "
        "did not arrive over HTTPS (e.g. TLS ends at a proxy that is not trusted).")
    console_2fa_roles: list[str] = Field(
        default_factory=lambda: ["owner", "admin"],
        description="Roles that must sign in with a second factor (add developer, viewer "
        "to require it of everyone; [] for no one).")
    console_password_min_length: int = Field(default=12, ge=8, le=128)
    console_login_max_failures: int = Field(
        default=5, ge=1, description="Failed sign-ins per account before a lockout (per "
        "client IP: four times as many).")
    console_lockout_seconds: int = Field(default=900, ge=1, le=30 * 86_400)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vectorcache.db').resolve()}"

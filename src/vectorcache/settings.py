"""Typed settings, read from ``VECTORCACHE_*`` environment variables and ``.env``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    embedding_backend: str = Field(default="onnx", description="onnx | reference")
    embedding_precision: Literal["int8", "fp32"] = Field(
        default="int8", description="ONNX weights: int8 (dynamic quantisation, ~2x faster) | fp32"
    )
    embedding_max_batch: int = 64
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where the exported ONNX model is kept (default ~/.cache/vectorcache/models).",
    )

    default_similarity_threshold: float = Field(default=0.85, ge=0.0, le=1.0)
    default_ttl_seconds: int | None = Field(default=None, ge=1)
    search_candidates: int = Field(default=8, ge=1, le=100)
    max_prompt_chars: int = 32_000
    max_body_bytes: int = 1_048_576

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
    default_rate_limit_per_minute: int | None = Field(
        default=60_000, ge=1,
        description="Per-key limit for keys that set none (1,000 req/s; None: no limit).")
    ip_rate_limit_per_minute: int | None = Field(
        default=None, ge=1, description="Per-client-IP limit on authenticated routes.")
    log_level: str = "INFO"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vectorcache.db').resolve()}"

    def resolved_model_cache_dir(self) -> Path:
        """The exported ONNX model is shared by every data dir of this user."""
        if self.model_cache_dir is not None:
            return self.model_cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "vectorcache" / "models"

"""Row <-> record conversion shared by every backend: encryption, JSON fields and timestamps.

A row stores ciphertext for prompt, response, context and metadata, and the id of the data key
that sealed them (``kid``); a row with ``kid`` NULL predates encryption and is read as is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vectorcache.bounds import check_key_limits, rotation_policy_changes, validate_environment
from vectorcache.crypto import Cipher
from vectorcache.models import (
    ALL_SCOPES,
    ENVIRONMENTS,
    ApiKey,
    Entry,
    NewEntry,
    Project,
    RotationPolicy,
    Usage,
)

__all__ = [
    "PROJECT_SETTINGS",
    "api_key_columns",
    "api_key_from_row",
    "blob_to_vector",
    "dt",
    "open_entry",
    "project_columns",
    "project_from_row",
    "seal_entry",
    "ts",
    "vector_to_blob",
]

class Row(Protocol):
    """A database row read by column name (sqlite3.Row, a psycopg dict row, a dict)."""

    def __getitem__(self, key: str, /) -> Any: ...


#: project columns a caller may set, with how each is stored
PROJECT_SETTINGS = (
    "default_model", "similarity_threshold", "decision_mode", "target_error_rate",
    "pii_policy", "allowed_models", "ttl_seconds", "cache_scope", "rotation_policy",
)


def ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def vector_to_blob(vector: npt.NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def blob_to_vector(blob: bytes) -> npt.NDArray[np.float32]:
    return np.frombuffer(blob, dtype="<f4")


def seal_entry(cipher: Cipher, entry: NewEntry) -> dict[str, Any]:
    prompt = cipher.encrypt_text(entry.prompt)
    response = cipher.encrypt_text(entry.response)
    context = cipher.encrypt_text(entry.context)
    metadata = cipher.encrypt_text(
        None if entry.metadata is None else json.dumps(entry.metadata, separators=(",", ":"))
    )
    shape = cipher.encrypt_text(
        None if entry.shape is None else json.dumps(entry.shape, separators=(",", ":")))
    size = sum(len(x) for x in (prompt, response, context, metadata, shape) if x is not None)
    return {
        "project_id": entry.project_id,
        "partition": entry.partition,
        "exact_key": entry.exact_key,
        "model": entry.model,
        "kid": cipher.active_kid,
        "prompt": prompt,
        "response": response,
        "context": context,
        "metadata": metadata,
        "shape": shape,
        "embedding": vector_to_blob(entry.embedding),
        "user_hash": entry.user_hash,
        "prompt_tokens": entry.usage.prompt_tokens,
        "completion_tokens": entry.usage.completion_tokens,
        "provider": entry.provider,
        "created_by_key": entry.created_by_key,
        "expires_at": ts(entry.expires_at),
        "size_bytes": size + 4 * len(entry.embedding),
    }


def open_entry(cipher: Cipher, row: Row) -> Entry:
    kid = row["kid"]
    metadata = cipher.decrypt_text(kid, row["metadata"])
    shape = cipher.decrypt_text(kid, row["shape"])
    created_at = dt(row["created_at"])
    assert created_at is not None
    return Entry(
        id=row["id"],
        project_id=row["project_id"],
        partition=row["partition"],
        model=row["model"],
        prompt=cipher.decrypt_text(kid, row["prompt"]) or "",
        response=cipher.decrypt_text(kid, row["response"]) or "",
        context=cipher.decrypt_text(kid, row["context"]),
        metadata=None if metadata is None else json.loads(metadata),
        shape=None if shape is None else json.loads(shape),
        usage=Usage(row["prompt_tokens"] or 0, row["completion_tokens"] or 0),
        provider=row["provider"],
        created_at=created_at,
        expires_at=dt(row["expires_at"]),
        hit_count=row["hit_count"] or 0,
        created_by_key=row["created_by_key"],
        user_hash=row["user_hash"],
        min_similarity=row["min_similarity"] or 0.0,
        wrong_reports=row["wrong_reports"] or 0,
    )


def project_from_row(row: Row) -> Project:
    created_at = dt(row["created_at"])
    assert created_at is not None
    return Project(
        id=row["id"],
        name=row["name"],
        created_at=created_at,
        default_model=row["default_model"],
        similarity_threshold=row["similarity_threshold"],
        decision_mode=row["decision_mode"],
        target_error_rate=row["target_error_rate"],
        pii_policy=row["pii_policy"],
        allowed_models=tuple(json.loads(row["allowed_models"] or "[]")),
        ttl_seconds=row["ttl_seconds"],
        cache_scope=row["cache_scope"] or "shared",
        rotation_policy=RotationPolicy(**{env: int(row[f"rotation_days_{env}"])
                                          for env in ENVIRONMENTS}),
    )


def project_columns(settings: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - set(PROJECT_SETTINGS)
    if unknown:
        raise ValueError(f"Unknown project settings: {sorted(unknown)}")
    out = dict(settings)
    if "allowed_models" in out:
        out["allowed_models"] = json.dumps(list(out["allowed_models"] or []))
    if "rotation_policy" in out:  # one column per environment; bounded here too
        for env, days in rotation_policy_changes(out.pop("rotation_policy")).items():
            out[f"rotation_days_{env}"] = days
    return out


_KEY_JSON_FIELDS = ("scopes", "models", "allowed_ips")
_KEY_TIME_FIELDS = ("created_at", "expires_at", "last_used_at", "revoked_at",
                    "rotation_due_at", "rotated_at")


def api_key_columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A key's fields (all of a new key, or those an update changes) as columns; its limits
    are checked here too, the last way in (``bounds.check_key_limits``)."""
    check_key_limits(fields)
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "environment":
            validate_environment(value)
        if name in _KEY_JSON_FIELDS:
            out[name] = json.dumps(list(value))
        elif name in _KEY_TIME_FIELDS:
            out[name] = ts(value)
        else:
            out[name] = value
    return out


def api_key_from_row(row: Row) -> ApiKey:
    created_at = dt(row["created_at"])
    assert created_at is not None
    return ApiKey(
        id=row["id"],
        project_id=row["project_id"],
        name=row["name"],
        prefix=row["prefix"],
        key_hash=row["key_hash"],
        created_at=created_at,
        scopes=tuple(json.loads(row["scopes"])) if row["scopes"] else ALL_SCOPES,
        models=tuple(json.loads(row["models"] or "[]")),
        allowed_ips=tuple(json.loads(row["allowed_ips"] or "[]")),
        expires_at=dt(row["expires_at"]),
        rate_limit_per_minute=row["rate_limit_per_minute"],
        quota_requests=row["quota_requests"],
        quota_period=row["quota_period"],
        last_used_at=dt(row["last_used_at"]),
        request_count=row["request_count"] or 0,
        revoked_at=dt(row["revoked_at"]),
        cache_scope=row["cache_scope"],
        environment=row["environment"] or "production",
        rotation_due_at=dt(row["rotation_due_at"]),
        rotated_at=dt(row["rotated_at"]),
        replaced_by=row["replaced_by"],
    )

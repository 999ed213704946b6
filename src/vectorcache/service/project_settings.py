"""Validation of a project's settings, shared by the CLI and the API.

The hit decision's operating point is a project setting: ``target_error_rate`` (the share of
requests the project accepts being answered wrongly; the verified decider maps it onto a
cross-validated cosine floor and verifier cutoff) and ``similarity_threshold`` (a cosine floor:
a hit is never served below it). ``decision_mode`` picks the rule (``verified``, or ``static``
for the plain cosine threshold other caches use).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vectorcache.bounds import MAX_TTL_SECONDS, rotation_policy_changes
from vectorcache.clock import to_iso
from vectorcache.decision import DEFAULT_MODE, MODES
from vectorcache.decision.verifier import load_verifier
from vectorcache.errors import ValidationFailed
from vectorcache.models import Project
from vectorcache.service.scope import validate_scope

__all__ = ["PII_POLICIES", "project_view", "validate_project_settings"]

PII_POLICIES = ("bypass", "redact")
#: settings whose column is NOT NULL (a null would fail the write with a storage error)
_NOT_NULL = ("similarity_threshold", "pii_policy", "rotation_policy")


def _number(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value):
        raise ValidationFailed(f"{name} must be a number", param=name)
    if value < low or value > high or (low_open and value == low):
        bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
        raise ValidationFailed(f"{name} must be {bound} and at most {high:g}", param=name)
    return float(value)


def validate_project_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings, checked; a clear 400 for the first bad one."""
    out = dict(settings)
    for name in _NOT_NULL:  # the column has a value; null is not "unset"
        if name in out and out[name] is None:
            raise ValidationFailed(f"{name} must not be null", param=name)
    if out.get("similarity_threshold") is not None:
        out["similarity_threshold"] = _number("similarity_threshold",
                                              out["similarity_threshold"], 0, 1)
    if out.get("target_error_rate") is not None:
        out["target_error_rate"] = _number("target_error_rate", out["target_error_rate"], 0, 0.5,
                                           low_open=True)
    if out.get("decision_mode") is not None and out["decision_mode"] not in MODES:
        raise ValidationFailed(f"decision_mode must be one of {sorted(MODES)}",
                               param="decision_mode")
    if out.get("pii_policy") is not None and out["pii_policy"] not in PII_POLICIES:
        raise ValidationFailed(f"pii_policy must be one of {list(PII_POLICIES)}",
                               param="pii_policy")
    if "cache_scope" in out:  # never null: the column has a value, "shared" by default
        out["cache_scope"] = validate_scope(out["cache_scope"])
    if out.get("ttl_seconds") is not None:
        ttl = out["ttl_seconds"]
        if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1:
            raise ValidationFailed("ttl_seconds must be a whole number of seconds >= 1",
                                   param="ttl_seconds")
        if ttl > MAX_TTL_SECONDS:  # expiry = now + ttl must stay a date (and in 64 bits)
            raise ValidationFailed(f"ttl_seconds must be at most {MAX_TTL_SECONDS} (ten years)",
                                   param="ttl_seconds")
    if "rotation_policy" in out:  # days per environment, part or all of them
        out["rotation_policy"] = rotation_policy_changes(out["rotation_policy"])
    if out.get("allowed_models") is not None:
        models = out["allowed_models"]
        if not isinstance(models, list | tuple) or not all(isinstance(m, str) and m
                                                           for m in models):
            raise ValidationFailed("allowed_models must be a list of model names",
                                   param="allowed_models")
        out["allowed_models"] = tuple(models)
    return out


def project_view(p: Project) -> dict[str, Any]:
    """A project as the API and the CLI show it."""
    mode = p.decision_mode or DEFAULT_MODE
    return {"id": p.id, "name": p.name, "created_at": to_iso(p.created_at),
            "default_model": p.default_model, "similarity_threshold": p.similarity_threshold,
            "decision_mode": mode,
            "target_error_rate": p.target_error_rate, "ttl_seconds": p.ttl_seconds,
            "pii_policy": p.pii_policy, "allowed_models": list(p.allowed_models),
            "cache_scope": p.cache_scope, "rotation_policy": p.rotation_policy.as_dict(),
            "operating_point": _operating_point(p) if mode == "verified" else None}


def _operating_point(p: Project) -> dict[str, float]:
    """What the two settings come to under the verified rule, with what it measured in
    cross-validation on the dev QQP replay stream (``BENCHMARKS.md``, Hit correctness)."""
    point = load_verifier().operating_point(p.target_error_rate, p.similarity_threshold)
    return {"cosine_floor": point.floor_for(p.similarity_threshold),
            "verifier_cutoff": point.cutoff, "target_error_rate": point.target_error_rate,
            "cv_false_hit_rate": point.cv_false_hit_rate, "cv_recall": point.cv_recall}

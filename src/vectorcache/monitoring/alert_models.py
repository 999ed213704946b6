"""Alerts, webhooks and deliveries as records (the stored shapes; routes build their own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RULES", "Alert", "Delivery", "NewAlert", "Webhook"]

#: every rule, by name (a project's settings may tune or switch off each)
RULES = ("usage_spike", "new_network", "error_rate", "after_hours", "rotated_key_used",
         "failed_auth_burst", "key_rotation_due")


@dataclass(frozen=True)
class NewAlert:
    project_id: str  # "" for a server-wide alert (e.g. failed authentications, no project)
    rule: str
    summary: str
    dedupe: str  # one alert per rule and subject and period: a re-evaluation adds nothing
    key_id: str | None = None
    severity: str = "warning"
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    id: str
    project_id: str
    rule: str
    key_id: str | None
    severity: str
    created_at: float
    summary: str
    evidence: dict[str, Any]
    acknowledged_at: float | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class Webhook:
    id: str
    project_id: str
    url: str
    format: str  # "json" (signed) | "slack" (Slack-compatible text payload, also signed)
    created_at: float
    enabled: bool


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: str
    webhook_id: str
    status: str  # pending | delivered | failed
    attempts: int
    next_at: float
    last_error: str | None
    last_status: int | None
    delivered_at: float | None

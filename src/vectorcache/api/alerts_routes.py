"""Alerts, webhooks and a project's monitoring settings, for keys with ``keys:manage``:
``/v1/alerts`` (list, show with deliveries, acknowledge), ``/v1/webhooks`` (list, create: the
signing secret is shown once, delete) and ``/v1/monitoring/settings`` (rules, retention)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from vectorcache.api.deps import authenticated, runtime
from vectorcache.errors import ServiceUnavailable
from vectorcache.monitoring.alert_models import Alert, Delivery, Webhook
from vectorcache.monitoring.alerts import AlertService
from vectorcache.service.auth import Principal

__all__ = ["router"]

router = APIRouter(prefix="/v1")

MANAGE = Depends(authenticated("keys:manage"))


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat()


def alert_json(alert: Alert) -> dict[str, Any]:
    return {"id": alert.id, "project_id": alert.project_id or None, "rule": alert.rule,
            "key_id": alert.key_id, "severity": alert.severity,
            "created_at": _iso(alert.created_at), "summary": alert.summary,
            "evidence": alert.evidence, "acknowledged_at": _iso(alert.acknowledged_at),
            "acknowledged_by": alert.acknowledged_by}


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {"webhook_id": d.webhook_id, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": _iso(d.next_at) if d.status == "pending" else None,
            "last_error": d.last_error, "last_status": d.last_status,
            "delivered_at": _iso(d.delivered_at)}


def webhook_json(w: Webhook) -> dict[str, Any]:
    return {"id": w.id, "url": w.url, "format": w.format, "created_at": _iso(w.created_at),
            "enabled": w.enabled}


def _alerts(request: Request) -> AlertService:
    monitoring = runtime(request).monitoring
    if monitoring is None:
        raise ServiceUnavailable()
    return monitoring.alerts


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000)
    format: str = "json"
    secret: str | None = Field(default=None, min_length=16, max_length=256)


@router.get("/alerts")
async def list_alerts(request: Request, limit: int = Query(default=100, ge=1, le=1000),
                      unacknowledged: bool = False,
                      principal: Principal = MANAGE) -> dict[str, Any]:
    alerts = await _alerts(request).list_alerts(principal.project.id, limit=limit,
                                                unacknowledged=unacknowledged)
    return {"alerts": [alert_json(a) for a in alerts], "total": len(alerts)}


@router.get("/alerts/{alert_id}")
async def show_alert(request: Request, alert_id: str,
                     principal: Principal = MANAGE) -> dict[str, Any]:
    alert, deliveries = await _alerts(request).get(alert_id, principal.project.id)
    return {**alert_json(alert), "deliveries": [delivery_json(d) for d in deliveries]}


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: str,
                      principal: Principal = MANAGE) -> dict[str, Any]:
    alert = await _alerts(request).acknowledge(alert_id, principal.project.id, principal.actor)
    return alert_json(alert)


@router.get("/webhooks")
async def list_webhooks(request: Request, principal: Principal = MANAGE) -> dict[str, Any]:
    hooks = await _alerts(request).webhooks(principal.project.id)
    return {"webhooks": [webhook_json(w) for w in hooks]}


@router.post("/webhooks", status_code=201)
async def create_webhook(request: Request, body: WebhookCreate,
                         principal: Principal = MANAGE) -> dict[str, Any]:
    hook, secret = await _alerts(request).add_webhook(
        principal.project.id, body.url, fmt=body.format, secret=body.secret,
        actor=principal.actor)
    return {**webhook_json(hook), "secret": secret}


@router.delete("/webhooks/{webhook_id}")
async def delete_webhook(request: Request, webhook_id: str,
                         principal: Principal = MANAGE) -> dict[str, Any]:
    await _alerts(request).delete_webhook(principal.project.id, webhook_id, principal.actor)
    return {"deleted": webhook_id}


@router.get("/monitoring/settings")
async def get_settings(request: Request, principal: Principal = MANAGE) -> dict[str, Any]:
    return await _alerts(request).settings(principal.project.id)


@router.put("/monitoring/settings")
async def put_settings(request: Request, body: dict[str, Any] = Body(...),
                       principal: Principal = MANAGE) -> dict[str, Any]:
    return await _alerts(request).update_settings(principal.project.id, body,
                                                  actor=principal.actor)

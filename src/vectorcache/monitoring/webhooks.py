"""Alert delivery to a project's webhooks (and the instance's, ``instance_hook.py``): a
JSON body (or a Slack-compatible one) signed with HMAC-SHA256 over ``"<timestamp>.<body>"``,
the timestamp in its own header; retried with exponential backoff; every attempt's outcome
kept on the delivery row.

A receiver checks ``X-Vectorcache-Signature: v1=<hex>`` against its copy of the secret, and
refuses a timestamp more than five minutes old (``verify``), so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from vectorcache.monitoring.alert_models import Alert, Delivery, Webhook
from vectorcache.monitoring.alert_store import AlertStore
from vectorcache.monitoring.instance_hook import INSTANCE_WEBHOOK, InstanceHook

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Deliverer", "payload", "sign", "verify"]

SIGNATURE_HEADER = "X-Vectorcache-Signature"
TIMESTAMP_HEADER = "X-Vectorcache-Timestamp"
MAX_ATTEMPTS = 6
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), signature)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def payload(alert: Alert, fmt: str) -> dict[str, Any]:
    body = {"id": alert.id, "project_id": alert.project_id, "rule": alert.rule,
            "key_id": alert.key_id, "severity": alert.severity,
            "created_at": _iso(alert.created_at), "summary": alert.summary,
            "evidence": alert.evidence}
    if fmt == "slack":
        return {"text": f":rotating_light: Vectorcache {alert.severity}: {alert.summary}",
                "blocks": [{"type": "section", "text": {
                    "type": "mrkdwn",
                    "text": f"*{alert.rule}* ({alert.severity})\n{alert.summary}"}}],
                "vectorcache_alert": body}
    return {"type": "alert", "alert": body}


def backoff(attempts: int) -> float:
    """Seconds before the next try: 30 s, 1 min, 2 min, ... at most an hour."""
    return float(min(30 * 2 ** (attempts - 1), 3600))


class Deliverer:
    def __init__(self, store: AlertStore, http: httpx.AsyncClient,
                 clock: Callable[[], float], on_result: Callable[[str], None] | None = None,
                 timeout: float = 10.0, instance: InstanceHook | None = None) -> None:
        self._instance = instance
        self._store = store
        self._http = http
        self._clock = clock
        self._on_result = on_result
        self._timeout = timeout

    async def run_due(self) -> int:
        """Try every delivery that is due; how many were delivered."""
        delivered = 0
        for delivery in await self._store.due(self._clock()):
            delivered += await self._attempt(delivery)
        return delivered

    async def _attempt(self, delivery: Delivery) -> int:
        alert = await self._store.alert(delivery.alert_id)
        hook = await self._hook(delivery.webhook_id)
        attempts = delivery.attempts + 1
        now = self._clock()
        if alert is None or hook is None or not hook[0].enabled:
            await self._store.settle(delivery.id, status="failed", attempts=attempts,
                                     next_at=now, error="webhook or alert removed",
                                     http_status=None, delivered_at=None)
            return 0
        webhook, secret = hook
        body = json.dumps(payload(alert, webhook.format), separators=(",", ":")).encode()
        timestamp = int(now)
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: sign(secret, timestamp, body),
                   "User-Agent": "vectorcache-webhooks/1"}
        error: str | None = None
        status: int | None = None
        try:
            response = await self._http.post(webhook.url, content=body, headers=headers,
                                             timeout=self._timeout)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        if error is None:
            await self._store.settle(delivery.id, status="delivered", attempts=attempts,
                                     next_at=now, error=None, http_status=status,
                                     delivered_at=now)
            self._result("delivered")
            return 1
        final = attempts >= MAX_ATTEMPTS
        await self._store.settle(delivery.id, status="failed" if final else "pending",
                                 attempts=attempts, next_at=now + backoff(attempts),
                                 error=error, http_status=status, delivered_at=None)
        self._result("failed" if final else "retrying")
        return 0

    async def _hook(self, webhook_id: str) -> tuple[Webhook, str] | None:
        """The webhook and its secret: a project's (stored), or the instance's (settings)."""
        if webhook_id == INSTANCE_WEBHOOK:
            return None if self._instance is None else (self._instance.webhook,
                                                        self._instance.secret)
        return await self._store.webhook_secret(webhook_id)

    def _result(self, result: str) -> None:
        if self._on_result is not None:
            self._on_result(result)

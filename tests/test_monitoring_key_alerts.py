"""Alerts about keys, with a controllable clock: ``key_rotation_due`` (7 days before a key's
``rotation_due_at`` and on the day, once each, delivered to a signed webhook on loopback) and
``rotated_key_used`` (a rotated key served during its grace period; refused after it, the
refusals in the request log under the key's id, through the real app)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant

from vectorcache.clock import utcnow
from vectorcache.errors import ValidationFailed
from vectorcache.monitoring.rows import RequestRow
from vectorcache.monitoring.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings
from vectorcache.testing.webhook_receiver import WebhookReceiver

DAY = 86400
OTHER_RULES = ("usage_spike", "new_network", "error_rate", "after_hours")


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@asynccontextmanager
async def runtime(tmp_path: Path, clock: Clock) -> AsyncIterator[Runtime]:
    settings = Settings(data_dir=tmp_path / "data", embedding_backend="onnx")
    async with Runtime.open(settings, with_embedder=False, clock=clock) as rt:
        yield rt


def only(*rules: str) -> dict[str, Any]:
    every = (*OTHER_RULES, "rotated_key_used", "key_rotation_due")
    return {"rules": {n: {"enabled": n in rules} for n in every}}


def test_rotation_due_fires_a_week_before_and_on_the_day_once_each(tmp_path: Path) -> None:
    clock = Clock(datetime.now().astimezone())

    async def main(receiver: WebhookReceiver) -> None:
        async with runtime(tmp_path, clock) as rt:
            mon = rt.monitoring
            assert mon is not None
            project = await rt.admin.create_project("aging",
                                                    rotation_policy={"development": 30})
            await mon.alerts.update_settings(project.id, only("key_rotation_due"))
            _, secret = await mon.alerts.add_webhook(project.id, receiver.url)
            dev = (await rt.admin.create_key(project, name="dev",
                                             environment="development")).record
            prod = (await rt.admin.create_key(project, name="prod")).record
            gone = (await rt.admin.create_key(project, name="gone",
                                              environment="development")).record
            await rt.admin.revoke_key(gone.id)  # a revoked key is due for nothing
            await rt.admin.create_key(project, name="short", environment="development",
                                      expires_at=utcnow() + timedelta(days=20))  # nor this
            assert dev.rotation_due_at is not None and prod.rotation_due_at is not None
            due = dev.rotation_due_at
            assert due - dev.created_at == timedelta(days=30)

            clock.at = due - timedelta(days=7, seconds=60)
            assert await mon.alerts.evaluate() == []  # 7 days and a minute: not yet
            clock.advance(120)
            (soon,) = await mon.alerts.evaluate()
            assert (soon.rule, soon.key_id, soon.severity) == ("key_rotation_due", dev.id,
                                                               "warning")
            assert soon.evidence["stage"] == "soon" and soon.evidence["environment"] == \
                "development"
            assert "in 7 days" in soon.summary
            for _ in range(3):  # every later evaluation of the week adds nothing
                clock.advance(DAY)
                assert await mon.alerts.evaluate() == []

            clock.at = due + timedelta(minutes=5)
            (today,) = await mon.alerts.evaluate()
            assert (today.key_id, today.severity, today.evidence["stage"]) == (
                dev.id, "critical", "due")
            assert "today" in today.summary
            clock.advance(DAY)
            assert await mon.alerts.evaluate() == []  # once on the day, not every day after

            # the policy moves the date: the new date is news again (production: 90 -> 40)
            await rt.admin.update_project(project.id, rotation_policy={"production": 40})
            clock.at = prod.created_at + timedelta(days=40, hours=1)
            (moved,) = await mon.alerts.evaluate()
            assert moved.key_id == prod.id and moved.evidence["stage"] == "due"

            assert await mon.deliverer.run_due() == 3
            bodies = [b["alert"] for b in receiver.bodies()]
            assert [(b["rule"], b["evidence"]["stage"]) for b in bodies] == [
                ("key_rotation_due", "soon"), ("key_rotation_due", "due"),
                ("key_rotation_due", "due")]
            for headers, body in receiver.deliveries:
                assert verify(secret, headers[TIMESTAMP_HEADER.lower()], body,
                              headers[SIGNATURE_HEADER.lower()], clock().timestamp())

    with WebhookReceiver() as receiver:
        asyncio.run(main(receiver))


def test_rotation_due_rule_can_be_tuned_and_switched_off(tmp_path: Path) -> None:
    clock = Clock(datetime.now().astimezone())

    async def main() -> None:
        async with runtime(tmp_path, clock) as rt:
            mon = rt.monitoring
            assert mon is not None
            expiring = await rt.admin.create_project("expiring")
            made = await rt.admin.create_key(expiring, name="k",
                                             expires_at=utcnow() + timedelta(days=100))
            clock.at = made.record.created_at + timedelta(days=101)
            assert await mon.alerts.evaluate() == []  # past due, but expired: no reminder
            await rt.admin.revoke_key(made.record.id)
            project = await rt.admin.create_project("tuned")
            key = (await rt.admin.create_key(project, name="k")).record
            assert key.rotation_due_at is not None
            for bad in (-1, 366, True, "7"):
                with pytest.raises(ValidationFailed):
                    await mon.alerts.update_settings(project.id, {"rules": {
                        "key_rotation_due": {"notice_days": bad}}})
            await mon.alerts.update_settings(project.id, {"rules": {
                "key_rotation_due": {"notice_days": 14}}})
            clock.at = key.rotation_due_at - timedelta(days=10)
            (found,) = await mon.alerts.evaluate()
            assert found.rule == "key_rotation_due" and found.evidence["stage"] == "soon"
            await mon.alerts.update_settings(project.id, only())
            clock.at = key.rotation_due_at + timedelta(hours=1)
            assert await mon.alerts.evaluate() == []

    asyncio.run(main())


def _row(at: float, key_id: str, project_id: str, status: int = 200) -> RequestRow:
    return RequestRow(at=at, project_id=project_id, key_id=key_id, route="/v1/cache/query",
                      method="POST", model="gpt-4o", status=status,
                      outcome="error" if status >= 400 else "hit_exact",
                      reason="invalid_api_key" if status == 401 else "", latency_ms=1.0,
                      client_ip="10.1.2.3")


def test_rotated_key_used_before_during_and_after_grace(tmp_path: Path) -> None:
    """Only use after the rotation counts (not the minutes before it); served in the grace
    period: a warning; refused after it: critical; each once per key and day."""
    clock = Clock(datetime.now().astimezone())

    async def main() -> None:
        async with runtime(tmp_path, clock) as rt:
            mon = rt.monitoring
            assert mon is not None
            project = await rt.admin.create_project("rotating")
            await mon.alerts.update_settings(project.id, only("rotated_key_used"))
            old = (await rt.admin.create_key(project, name="old")).record
            new = await rt.admin.rotate_key(old.id, project=project, grace_seconds=3600)
            stored = await rt.store.get_api_key(old.id)
            assert stored is not None and stored.rotated_at is not None
            assert stored.replaced_by == new.record.id
            rotated, ends = stored.rotated_at.timestamp(), stored.revoked_at.timestamp()  # type: ignore[union-attr]
            await mon.log_store.write([_row(rotated - 30, old.id, project.id)])
            assert await mon.alerts.evaluate(rotated + 1, rotated - 60) == []

            await mon.log_store.write([_row(rotated + 60, old.id, project.id),
                                       _row(rotated + 70, old.id, project.id)])
            (grace,) = await mon.alerts.evaluate(rotated + 120, rotated)
            assert (grace.rule, grace.severity, grace.evidence["phase"]) == (
                "rotated_key_used", "warning", "grace")
            assert grace.evidence["requests"] == 2
            assert grace.evidence["replaced_by"] == new.record.id
            assert await mon.alerts.evaluate(rotated + 180, rotated) == []

            await mon.log_store.write([_row(ends + i, old.id, project.id, status=401)
                                       for i in range(1, 4)])
            (after,) = await mon.alerts.evaluate(ends + 60, ends - 1)
            assert (after.severity, after.evidence["phase"], after.evidence["requests"]) == (
                "critical", "after_grace", 3)
            assert after.evidence["client_ips"] == ["10.1.2.3"]
            assert await mon.alerts.evaluate(ends + 90, ends - 1) == []

    asyncio.run(main())


def test_refusals_of_a_rotated_key_reach_the_rule_through_the_app(tenant: Tenant) -> None:
    """A key rotated without grace, then presented: 401 for the caller (who learns nothing
    more), and the request log names the key and project, so the rule raises its alert."""
    old_key = tenant.new_key(name="to-rotate")
    old = tenant.call(tenant.runtime.admin.find_key, old_key)
    put = tenant.client.put("/v1/monitoring/settings", headers=tenant.headers,
                            json=only("rotated_key_used"))
    assert put.status_code == 200, put.text
    started = time.time()
    rotated = tenant.post(f"/v1/keys/{old.id}/rotate", {"grace_seconds": 0})
    assert rotated.status_code == 201, rotated.text
    for _ in range(3):
        got = tenant.post("/v1/cache/query", {"prompt": "hello", "model": "gpt-4o"},
                          headers={"Authorization": f"Bearer {old_key}"})
        assert got.status_code == 401 and got.json()["code"] == "invalid_api_key"
        assert old.id not in got.text and tenant.project.id not in got.text
    tenant.flush()
    mon = tenant.runtime.monitoring
    rows = tenant.call(mon.alert_store.requests_since, tenant.project.id, started,
                       time.time() + 1)
    assert [(r[1], r[3]) for r in rows if r[1] == old.id] == [(old.id, 401)] * 3
    found = tenant.call(mon.alerts.evaluate, time.time() + 1, started)
    mine = [a for a in found if a.project_id == tenant.project.id]
    assert [(a.rule, a.key_id, a.evidence["phase"]) for a in mine] == [
        ("rotated_key_used", old.id, "after_grace")]

"""Alert rules with a controllable clock, on a real SQLite file; webhooks delivered to a real
loopback receiver, signed and retried; and the end-to-end burst: a synthetic burst from one
key raises a spike alert that reaches the receiver with a valid signature."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant
from cryptography.fernet import Fernet

from vectorcache.monitoring.alert_store import AlertStore
from vectorcache.monitoring.rows import RequestRow
from vectorcache.monitoring.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings
from vectorcache.store import open_store_for_url
from vectorcache.testing.webhook_receiver import WebhookReceiver

HOUR, DAY = 3600, 86400
#: a Wednesday, 14:10 UTC
NOW = datetime(2026, 11, 18, 14, 10, tzinfo=UTC)


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


def row(at: float, key_id: str, project_id: str, *, ip: str = "10.0.0.5",
        status: int = 200, reason: str = "") -> RequestRow:
    return RequestRow(at=at, project_id=project_id, key_id=key_id, route="/v1/cache/query",
                      method="POST", model="gpt-4o", status=status,
                      outcome="error" if status >= 400 else "hit_exact", reason=reason,
                      latency_ms=2.0, client_ip=ip)


def rules_off(*keep: str) -> dict[str, Any]:
    names = ("usage_spike", "new_network", "error_rate", "after_hours", "rotated_key_used")
    return {"rules": {n: {"enabled": n in keep} for n in names}}


def run(coro: Callable[[], Any]) -> Any:
    return asyncio.run(coro())


def test_usage_spike_against_the_same_hour_of_the_past_week(tmp_path: Path) -> None:
    clock = Clock(NOW)

    async def main() -> None:
        async with runtime(tmp_path, clock) as rt:
            assert rt.monitoring is not None
            mon = rt.monitoring
            project = await rt.admin.create_project("spiky")
            await mon.alerts.update_settings(project.id, {**rules_off("usage_spike"), "rules": {
                **rules_off("usage_spike")["rules"], "usage_spike": {"min_requests": 20}}})
            now = clock().timestamp()
            hour = now // HOUR * HOUR
            rows = [row(hour - d * DAY + i, k, project.id) for d in range(1, 8)
                    for k in ("k-spike", "k-calm") for i in range(10)]
            rows += [row(hour + i, "k-spike", project.id) for i in range(60)]  # 6x the median
            rows += [row(hour + i, "k-calm", project.id) for i in range(30)]  # 3x: no alert
            await mon.log_store.write(rows)
            raised = await mon.alerts.evaluate(now)
            assert [(a.rule, a.key_id) for a in raised] == [("usage_spike", "k-spike")]
            assert raised[0].evidence["requests"] == 60 and raised[0].evidence["median"] == 10
            assert await mon.alerts.evaluate(now) == []  # once per key and hour
            clock.advance(HOUR)  # a new hour, nothing in it yet
            assert await mon.alerts.evaluate(clock().timestamp()) == []

    run(main)


def test_new_network_error_rate_after_hours_rotated_key_and_failed_auths(
        tmp_path: Path) -> None:
    clock = Clock(NOW)

    async def main() -> None:
        async with runtime(tmp_path, clock) as rt:
            assert rt.monitoring is not None
            mon = rt.monitoring
            project = await rt.admin.create_project("watched")
            now = clock().timestamp()
            await mon.alerts.update_settings(project.id, rules_off("new_network"))
            await mon.log_store.write([row(now - 30, "k1", project.id, ip="10.0.0.5")])
            assert await mon.alerts.evaluate(now, now - 60) == []  # a key's first network
            clock.advance(60)
            now = clock().timestamp()
            await mon.log_store.write([row(now - 30, "k1", project.id, ip="10.0.0.77"),
                                       row(now - 20, "k1", project.id, ip="192.0.2.9"),
                                       row(now - 10, "k1", project.id, ip="2001:db8:1:2::9")])
            found = await mon.alerts.evaluate(now, now - 60)
            assert sorted(a.evidence["network"] for a in found) == [
                "192.0.2.0/24", "2001:db8:1::/48"]  # 10.0.0.77 is in the known /24

            await mon.alerts.update_settings(project.id, rules_off("error_rate"))
            rows = [row(now - i, "k1", project.id, status=401 if i % 3 else 200,
                        reason="invalid_api_key", ip=f"10.{i}.0.1") for i in range(1, 40)]
            await mon.log_store.write(rows)
            found = await mon.alerts.evaluate(now, now - 60)
            assert [a.rule for a in found] == ["error_rate"]
            assert found[0].evidence["by_status"] == {"401": 26}

            await mon.alerts.update_settings(project.id, {**rules_off(), "rules": {
                **rules_off()["rules"], "after_hours": {
                    "enabled": True, "timezone": "Europe/Paris", "start": "09:00",
                    "end": "18:00"}}})
            paris_night = datetime(2026, 11, 18, 23, 30, tzinfo=UTC).timestamp()  # 00:30
            paris_day = datetime(2026, 11, 18, 9, 30, tzinfo=UTC).timestamp()  # 10:30
            await mon.log_store.write([row(paris_night, "k-night", project.id),
                                       row(paris_day, "k-day", project.id)])
            found = await mon.alerts.evaluate(paris_night + 60, paris_day - 60)
            assert [(a.rule, a.key_id) for a in found] == [("after_hours", "k-night")]
            assert found[0].evidence["day"] == "2026-11-19"

            await mon.alerts.update_settings(project.id, rules_off("rotated_key_used"))
            old = (await rt.admin.create_key(project, name="old")).record
            await rt.admin.rotate_key(old.id, project=project, grace_seconds=DAY)
            # the admin service reads the wall clock; its rotation, moved to the test's
            await rt.store.update_api_key(old.id, rotated_at=clock(),
                                          revoked_at=clock() + timedelta(days=1))
            later = clock().timestamp() + 120
            await mon.log_store.write([row(later - 5, old.id, project.id)])
            found = await mon.alerts.evaluate(later, later - 60)
            assert [(a.rule, a.key_id) for a in found] == [("rotated_key_used", old.id)]

            await mon.log_store.write([row(later - i, "", "", ip="203.0.113.9", status=401,
                                           reason="invalid_api_key") for i in range(25)])
            found = await mon.alerts.evaluate(later, later - 60)
            burst = [a for a in found if a.rule == "failed_auth_burst"]
            assert len(burst) == 1 and burst[0].evidence["client_ip"] == "203.0.113.9"
            assert burst[0].project_id == ""  # server-wide: no key, no project

    run(main)


def test_webhook_signed_retried_with_backoff_and_failures_visible(tmp_path: Path) -> None:
    clock = Clock(NOW)

    async def main(receiver: WebhookReceiver) -> None:
        async with runtime(tmp_path, clock) as rt:
            assert rt.monitoring is not None
            mon = rt.monitoring
            project = await rt.admin.create_project("hooked")
            hook, secret = await mon.alerts.add_webhook(project.id, receiver.url)
            slack, slack_secret = await mon.alerts.add_webhook(project.id, receiver.url,
                                                               fmt="slack")
            await mon.alerts.update_settings(project.id, rules_off("error_rate"))
            now = clock().timestamp()
            await mon.log_store.write([row(now - i, "k1", project.id, status=500,
                                           reason="upstream_error") for i in range(1, 30)])
            (alert,) = await mon.alerts.evaluate(now)
            receiver.fail_next = 3  # both webhooks fail their first try, one its second too
            assert await mon.deliverer.run_due() == 0
            _, deliveries = await mon.alerts.get(alert.id, project.id)
            assert {(d.status, d.attempts, d.last_error) for d in deliveries} == {
                ("pending", 1, "HTTP 503")}
            assert all(d.next_at == now + 30 for d in deliveries)
            clock.advance(10)
            assert await mon.deliverer.run_due() == 0  # not due yet: nothing is tried
            assert receiver.calls == 2
            clock.advance(25)
            assert await mon.deliverer.run_due() == 1
            clock.advance(61)
            assert await mon.deliverer.run_due() == 1
            _, deliveries = await mon.alerts.get(alert.id, project.id)
            assert [(d.status, d.attempts) for d in deliveries] in (
                [("delivered", 2), ("delivered", 3)], [("delivered", 3), ("delivered", 2)])
            for headers, body in receiver.deliveries:
                mine = slack_secret if b'"text"' in body else secret
                assert verify(mine, headers[TIMESTAMP_HEADER.lower()], body,
                              headers[SIGNATURE_HEADER.lower()], clock().timestamp())
                assert not verify("another-secret-value", headers[TIMESTAMP_HEADER.lower()],
                                  body, headers[SIGNATURE_HEADER.lower()], clock().timestamp())
            kinds = {("text" in b, b.get("alert", b.get("vectorcache_alert", {})).get("rule"))
                     for b in receiver.bodies()}
            assert kinds == {(False, "error_rate"), (True, "error_rate")}
            assert hook.id != slack.id

    with WebhookReceiver() as receiver:
        asyncio.run(main(receiver))


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_jobs_run_once_per_period_across_replicas(backend: str, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    url = (f"sqlite:///{tmp_path / 'v.db'}" if backend == "sqlite"
           else str(request.getfixturevalue("postgres_url")))

    async def main() -> None:
        key = Fernet.generate_key()
        replicas = [open_store_for_url(url, key, 4, searchable=False) for _ in range(2)]
        for store in replicas:
            await store.open()
        try:
            a, b = (AlertStore(s.db, s) for s in replicas)
            t = 1_000_000.0
            won = await asyncio.gather(*(s.claim("alerts", t, 60) for s in (a, b, a, b)))
            assert sum(w is not None for w in won) == 1 and 0.0 in won
            assert await b.claim("alerts", t + 30, 60) is None
            assert await b.claim("alerts", t + 61, 60) == t
        finally:
            for store in replicas:
                await store.close()

    asyncio.run(main())


def test_burst_from_one_key_reaches_a_signed_webhook(tenant: Tenant) -> None:
    """The issue's acceptance: real requests through the app, the spike rule, the receiver."""
    with WebhookReceiver() as receiver:
        got = tenant.client.put("/v1/monitoring/settings", headers=tenant.headers, json={
            **rules_off("usage_spike"), "rules": {**rules_off("usage_spike")["rules"],
                                                  "usage_spike": {"min_requests": 30}}})
        assert got.status_code == 200, got.text
        created = tenant.post("/v1/webhooks", {"url": receiver.url})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        for _ in range(30):
            assert tenant.post("/v1/cache/query", {"prompt": "Is the build green?",
                                                   "model": "gpt-4o"}).status_code == 200
        tenant.flush()
        mon = tenant.runtime.monitoring
        tenant.call(mon.alerts.evaluate)
        tenant.call(mon.deliverer.run_due)
        assert receiver.wait_for_calls(1, timeout=30)
        headers, body = receiver.deliveries[0]
        assert verify(secret, headers["x-vectorcache-timestamp"], body,
                      headers["x-vectorcache-signature"], time.time())
        alert = receiver.bodies()[0]["alert"]
        keys = tenant.call(tenant.runtime.store.list_api_keys, tenant.project.id)
        key_id = next(k.id for k in keys if k.name == "test")
        assert alert["rule"] == "usage_spike" and alert["evidence"]["requests"] >= 30
        listed = tenant.get("/v1/alerts", params={"unacknowledged": "true"}).json()["alerts"]
        assert [a["id"] for a in listed] == [alert["id"]]
        assert listed[0]["key_id"] == alert["key_id"] == key_id
        acked = tenant.post(f"/v1/alerts/{alert['id']}/acknowledge")
        assert acked.status_code == 200 and acked.json()["acknowledged_by"].startswith("key:")
        shown = tenant.get(f"/v1/alerts/{alert['id']}").json()
        assert shown["deliveries"][0]["status"] == "delivered"
        assert tenant.get("/v1/alerts", params={"unacknowledged": "true"}).json()["total"] == 0


def test_admin_routes_refuse_bad_input(tenant: Tenant) -> None:
    assert tenant.post("/v1/webhooks", {"url": "ftp://example.org/x"}).status_code == 400
    assert tenant.post("/v1/webhooks", {"url": "https://example.org/x",
                                        "format": "xml"}).status_code == 400
    assert tenant.post("/v1/webhooks", {"url": "https://example.org/x",
                                        "secret": "short"}).status_code == 400
    put = tenant.client.put
    for body in ({"rules": {"nope": {}}}, {"rules": {"usage_spike": {"factor": "big"}}},
                 {"retention": {"request_log_days": 0}}, {"colour": 1}):
        got = put("/v1/monitoring/settings", headers=tenant.headers, json=body)
        assert got.status_code == 400, (body, got.text)
    assert tenant.get("/v1/alerts/nope").status_code == 404
    assert tenant.post("/v1/alerts/nope/acknowledge").status_code == 404
    narrow = tenant.new_key(scopes=["analytics:read"])
    assert tenant.get("/v1/alerts", headers={"Authorization": f"Bearer {narrow}"}
                      ).status_code == 403

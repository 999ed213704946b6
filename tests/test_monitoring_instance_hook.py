"""The instance's alert webhook (``VECTORCACHE_ALERT_WEBHOOK_URL``/``_SECRET``): alerts no
project owns (failed authentications with unknown keys) reach a real loopback receiver,
signed and retried like a project's; the secret never shows. And webhook signing secrets move
to the new data key when the data key rotates (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from vectorcache.errors import ConfigurationError, ValidationFailed
from vectorcache.monitoring.alert_store import AlertStore
from vectorcache.monitoring.rows import RequestRow
from vectorcache.monitoring.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from vectorcache.redaction import secret_values
from vectorcache.runtime import Runtime
from vectorcache.settings import Settings
from vectorcache.store import Store, open_store_for_url
from vectorcache.testing.webhook_receiver import WebhookReceiver

SECRET = "instance-hook-secret-0123456789"


def _failed(at: float, ip: str) -> RequestRow:
    return RequestRow(at=at, project_id="", key_id="", route="/v1/cache/query", method="POST",
                      model="", status=401, outcome="error", reason="invalid_api_key",
                      latency_ms=1.0, client_ip=ip)


def test_server_wide_alerts_reach_the_instance_webhook_signed(tmp_path: Path) -> None:
    now = datetime.now().astimezone()

    async def main(receiver: WebhookReceiver) -> None:
        settings = Settings(data_dir=tmp_path / "data", embedding_backend="onnx",
                            alert_webhook_url=receiver.url, alert_webhook_secret=SECRET,
                            alert_webhook_format="slack")
        assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
        async with Runtime.open(settings, with_embedder=False, clock=lambda: now) as rt:
            mon = rt.monitoring
            assert mon is not None
            t = now.timestamp()
            await mon.log_store.write([_failed(t - i, "198.51.100.7") for i in range(25)])
            found = await mon.alerts.evaluate(t)
            (burst,) = [a for a in found if a.rule == "failed_auth_burst"]
            assert burst.project_id == ""
            # every alert no project owns goes there (the server-wide error rate of the same
            # refusals too); each first try gets a 503: retried later, and visible
            assert {a.project_id for a in found} == {""}
            receiver.fail_next = len(found)
            assert await mon.deliverer.run_due() == 0
            _, (delivery,) = await mon.alerts.get(burst.id, None)
            assert (delivery.webhook_id, delivery.status, delivery.last_error) == (
                "instance", "pending", "HTTP 503")
            await mon.alert_store.settle(delivery.id, status="pending", attempts=1,
                                         next_at=t, error=None, http_status=None,
                                         delivered_at=None)  # due again now
            assert await mon.deliverer.run_due() == 1
            (headers, body), = receiver.deliveries
            assert verify(SECRET, headers[TIMESTAMP_HEADER.lower()], body,
                          headers[SIGNATURE_HEADER.lower()], t)
            (sent,) = receiver.bodies()
            assert "text" in sent and sent["vectorcache_alert"]["rule"] == "failed_auth_burst"
            assert sent["vectorcache_alert"]["evidence"]["client_ip"] == "198.51.100.7"
            _, (delivery,) = await mon.alerts.get(burst.id, None)
            assert delivery.status == "delivered"

    with WebhookReceiver() as receiver:
        asyncio.run(main(receiver))


def test_without_the_setting_server_wide_alerts_are_stored_only(tmp_path: Path) -> None:
    now = datetime.now().astimezone()

    async def main() -> None:
        settings = Settings(data_dir=tmp_path / "data", embedding_backend="onnx")
        async with Runtime.open(settings, with_embedder=False, clock=lambda: now) as rt:
            mon = rt.monitoring
            assert mon is not None
            t = now.timestamp()
            await mon.log_store.write([_failed(t - i, "198.51.100.8") for i in range(25)])
            (burst,) = [a for a in await mon.alerts.evaluate(t)
                        if a.rule == "failed_auth_burst"]
            assert (await mon.alerts.get(burst.id, None))[1] == []

    asyncio.run(main())


def test_instance_webhook_settings_are_checked_and_masked(tmp_path: Path) -> None:
    async def open_with(**given: object) -> None:
        settings = Settings(data_dir=tmp_path / "data", embedding_backend="onnx", **given)
        async with Runtime.open(settings, with_embedder=False):
            pass

    with pytest.raises(ConfigurationError, match="VECTORCACHE_ALERT_WEBHOOK_SECRET"):
        asyncio.run(open_with(alert_webhook_url="https://hooks.example.org/x"))
    with pytest.raises(ConfigurationError, match="http"):
        asyncio.run(open_with(alert_webhook_url="ftp://hooks.example.org/x",
                              alert_webhook_secret=SECRET))
    with pytest.raises(ValueError):
        Settings(alert_webhook_secret="short")
    env = {"VECTORCACHE_ALERT_WEBHOOK_SECRET": SECRET,
           "VECTORCACHE_ALERT_WEBHOOK_URL": "https://user:url-password@hooks.example.org/x"}
    assert set(secret_values(env)) == {SECRET, "url-password"}


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    return (f"sqlite:///{tmp_path / 'v.db'}" if backend == "sqlite"
            else str(request.getfixturevalue("postgres_url")))


@asynccontextmanager
async def _two_processes(url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores on one database and master key, as two replicas hold them."""
    master = Fernet.generate_key()
    one = open_store_for_url(url, master, 4, searchable=False)
    two = open_store_for_url(url, master, 4, searchable=False)
    await one.open()
    await two.open()
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_webhook_secrets_move_to_the_new_data_key(backend: str, tmp_path: Path,
                                                  request: pytest.FixtureRequest) -> None:
    """A data-key rotation re-encrypts webhook secrets with the other sealed rows; the old
    key can then be retired, and the secret still signs (a second process too)."""
    async def main() -> None:
        async with _two_processes(_url(backend, tmp_path, request)) as (store, other):
            alerts = AlertStore(store.db, store)
            project = await store.create_project("hooked")
            hook = await alerts.add_webhook(project.id, "https://example.org/h",
                                            "whsec_" + "a" * 32, "json", 1.0)
            old_kid = store.cipher.active_kid
            new_kid = await store.add_data_key()
            assert await store.pending_reencryption() == 1  # the webhook's secret
            with pytest.raises(ValidationFailed, match="still encrypts"):
                await store.retire_data_key(old_kid)
            while await store.reencrypt_batch(10):
                pass
            assert await store.pending_reencryption() == 0
            kid = await store.db.read(lambda c: c.execute(
                "SELECT kid FROM monitor_webhooks WHERE id = ?", (hook.id,)).fetchone()[0])
            assert kid == new_kid != old_kid
            await store.retire_data_key(old_kid)
            for holder in (store, other):  # ``other`` learns the new key when it reads
                found = await AlertStore(holder.db, holder).webhook_secret(hook.id)
                assert found is not None and found[1] == "whsec_" + "a" * 32
            infos = {k.kid: k.rows for k in await store.data_keys()}
            assert infos[new_kid] == 1

    asyncio.run(main())


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_replica_with_a_stale_key_ring_seals_a_new_webhook_under_the_active_key(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Another process rotated the data keys and moved every sealed row: a webhook this
    process adds must not land under the key about to be retired (it would then be unreadable,
    or block the retirement)."""
    async def main() -> None:
        async with _two_processes(_url(backend, tmp_path, request)) as (rotator, stale):
            project = await rotator.create_project("hooked")
            old_kid = stale.cipher.active_kid
            new_kid = await rotator.add_data_key()
            assert stale.cipher.active_kid == old_kid  # it has not heard of the rotation
            hook = await AlertStore(stale.db, stale).add_webhook(
                project.id, "https://example.org/h", "whsec_" + "b" * 32, "json", 1.0)
            kid = await rotator.db.read(lambda c: c.execute(
                "SELECT kid FROM monitor_webhooks WHERE id = ?", (hook.id,)).fetchone()[0])
            assert kid == new_kid
            await rotator.retire_data_key(old_kid)  # nothing left under it
            found = await AlertStore(rotator.db, rotator).webhook_secret(hook.id)
            assert found is not None and found[1] == "whsec_" + "b" * 32

    asyncio.run(main())

"""Issue 22, item 8: the audit log says who was refused and from where. Audit rows carry the
client address (as resolved under ``trusted_proxies``); 403s (scope, model, IP) and 429s are
audited, throttled per key and address so that a flood cannot fill the table; every deletion is
audited. The ``client_ip`` column reaches existing SQLite and PostgreSQL databases by migration.

Requests come from chosen socket peers through httpx's ASGI transport on the app's own loop."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Tenant, make_tenant, settings_for
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.store import open_store_for_url, pg_schema, sqlite_schema
from vectorcache.testing import FakeProvider

PEER = "192.0.2.44"


def send(t: Tenant, method: str, path: str, *, peer: str = PEER, key: str | None = None,
         json: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=t.client.app, client=(peer, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.request(method, path, json=json, headers={
                "Authorization": f"Bearer {key or t.key}", **(headers or {})})

    return t.client.portal.call(go)  # type: ignore[union-attr]


def audit(t: Tenant) -> list[dict[str, Any]]:
    """The project's audit log, oldest first (read in-process: no request to audit)."""
    events = t.call(t.runtime.store.list_audit, t.project.id, 1000)
    return [{"action": e.action, "actor": e.actor, "target": e.target,
             "client_ip": e.client_ip, "details": e.details} for e in reversed(events)]


def rows(t: Tenant, action: str) -> list[dict[str, Any]]:
    return [e for e in audit(t) if e["action"] == action]


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, encoder: Any) -> Iterator[TestClient]:
    """An app of this module's own: refusals are throttled per process and per minute, so
    counting the rows of a flood needs an audit budget no other test has spent this minute,
    and a clock that does not pass a minute's end in the middle of the flood."""
    now = datetime.now(UTC)
    app = create_app(settings_for(tmp_path_factory.mktemp("audited")), encoder=encoder,
                     clock=lambda: now)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def t(audited: TestClient, provider: FakeProvider) -> Tenant:
    return make_tenant(audited, provider)


def test_audit_rows_carry_the_client_ip(t: Tenant) -> None:
    created = send(t, "POST", "/v1/keys", json={"name": "audited"})
    assert created.status_code == 201, created.text
    revoked = send(t, "POST", f"/v1/keys/{created.json()['id']}/revoke", peer="198.51.100.3")
    assert revoked.status_code == 200, revoked.text
    assert send(t, "GET", "/v1/audit", key=created.json()["key"]).status_code == 401
    assert [r["client_ip"] for r in rows(t, "key.create")] == [None, PEER]  # the CLI's, ours
    assert [r["client_ip"] for r in rows(t, "key.revoke")] == ["198.51.100.3"]
    failure = rows(t, "auth.failure")
    assert [(r["client_ip"], r["details"]["code"]) for r in failure] == [
        (PEER, "invalid_api_key")]
    listed = send(t, "GET", "/v1/audit").json()["events"]
    assert {e["action"]: e["client_ip"] for e in listed}["key.revoke"] == "198.51.100.3"


def test_denials_and_throttling_are_audited(t: Tenant) -> None:
    """A 403 for a scope, a model, an address (and another project), and a 429, each in the
    audit log with the key's prefix, the client address, the route and the code."""
    reader = t.new_key(scopes=("cache:read",), models=("gpt-4o",))
    store = send(t, "POST", "/v1/cache/store", key=reader,
                 json={"prompt": "p", "response": "r", "model": "gpt-4o"})
    assert store.status_code == 403 and store.json()["code"] == "insufficient_scope"
    model = send(t, "POST", "/v1/cache/lookup", key=reader,
                 json={"prompt": "what is a fjord", "model": "gpt-4o-mini"})
    assert model.status_code == 403 and model.json()["code"] == "model_access_denied"
    fenced = t.new_key(allowed_ips=("10.0.0.0/8",))
    ip = send(t, "GET", f"/v1/cache/projects/{t.project.id}/stats", key=fenced)
    assert ip.status_code == 403 and ip.json()["code"] == "ip_not_allowed"
    other = send(t, "GET", "/v1/cache/projects/another-project/stats")
    assert other.status_code == 403
    slow = t.new_key(rate_limit_per_minute=1)
    path = f"/v1/cache/projects/{t.project.id}/stats"
    assert send(t, "GET", path, key=slow).status_code == 200
    limited = send(t, "GET", path, key=slow, peer="198.51.100.9")
    assert limited.status_code == 429
    denied = {r["details"]["code"]: r for r in rows(t, "access.denied")}
    assert set(denied) == {"insufficient_scope", "model_access_denied", "ip_not_allowed",
                           "project_access_denied"}
    assert denied["insufficient_scope"]["actor"] == f"key:{reader[:11]}…"
    assert denied["insufficient_scope"]["details"]["route"] == "/v1/cache/store"
    assert denied["ip_not_allowed"]["actor"] == f"key:{fenced[:11]}…"
    assert {r["client_ip"] for r in denied.values()} == {PEER}
    throttled = rows(t, "access.throttled")
    assert [(r["actor"], r["client_ip"], r["details"]["code"], r["details"]["status"])
            for r in throttled] == [(f"key:{slow[:11]}…", "198.51.100.9",
                                     "rate_limit_exceeded", 429)]
    assert reader not in str(audit(t)) and fenced not in str(audit(t))


def test_a_flood_of_refusals_cannot_fill_the_audit_table(t: Tenant) -> None:
    fenced = t.new_key(allowed_ips=("10.0.0.0/8",))
    path = f"/v1/cache/projects/{t.project.id}/stats"
    for _ in range(200):
        assert send(t, "GET", path, key=fenced).status_code == 403
    for i in range(100):  # from as many addresses: they share one "(other)" row past the budget
        assert send(t, "GET", path, key=fenced, peer=f"203.0.113.{i}").status_code == 403
    denied = rows(t, "access.denied")
    assert 1 < len(denied) <= 21, len(denied)
    assert sum(1 for r in denied if r["client_ip"] == PEER) == 1


def test_deleting_a_single_entry_is_audited(t: Tenant) -> None:
    stored = send(t, "POST", "/v1/cache/store",
                  json={"prompt": "How tall is Mount Kosciuszko?", "response": "2,228 m",
                        "model": "gpt-4o"})
    assert stored.status_code == 201, stored.text
    entry = stored.json()["cache_entry_id"]
    assert send(t, "DELETE", f"/v1/cache/entries/{entry}").status_code == 200
    assert send(t, "DELETE", f"/v1/cache/entries/{entry}").status_code == 404
    deleted = rows(t, "cache.entry.delete")
    assert [(r["target"], r["client_ip"], r["actor"]) for r in deleted] == [
        (entry, PEER, f"key:{t.key[:11]}…")]


def test_every_deletion_is_audited_with_the_client_ip(t: Tenant) -> None:
    send(t, "POST", "/v1/cache/store", json={"prompt": "Where is Tromsø?", "model": "gpt-4o",
                                              "response": "Norway", "user": "erin"})
    assert send(t, "DELETE", "/v1/cache/users/erin").status_code == 200
    assert send(t, "POST", "/v1/cache/clear", json={}).status_code == 200
    key = t.new_key()
    assert send(t, "POST", f"/v1/keys/{key[:11]}/revoke").status_code == 200
    for action in ("user.erase", "cache.clear", "key.revoke"):
        assert [r["client_ip"] for r in rows(t, action)] == [PEER], action


# ---------------------------------------------------------------- migration


def _step_adding_client_ip(steps: tuple[str, ...]) -> int:
    return next(i for i, step in enumerate(steps) if "audit ADD COLUMN client_ip" in step)


async def _reopen_and_audit(url: str, master_key: bytes) -> list[tuple[str, str | None]]:
    store = open_store_for_url(url, master_key, 384, searchable=False)
    await store.open()
    try:
        await store.add_audit("cache.clear", project_id=None, actor="cli", target=None,
                              client_ip="192.0.2.1")
        return [(e.action, e.client_ip) for e in reversed(await store.list_audit())]
    finally:
        await store.close()


def test_an_existing_sqlite_database_gains_the_audit_client_ip(tmp_path: Path) -> None:
    """A database as the release before this column left it (the schema steps before it):
    its audit rows still read (without an address) and new rows carry one."""
    path, key = tmp_path / "old.db", Fernet.generate_key()
    step = _step_adding_client_ip(sqlite_schema._STEPS)
    with sqlite3.connect(path) as conn:
        for script in sqlite_schema._STEPS[:step]:
            for statement in sqlite_schema._split(script):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {step}")
        conn.execute("INSERT INTO audit (at, action, details) VALUES (0, 'old.row', '{}')")
    assert asyncio.run(_reopen_and_audit(f"sqlite:///{path}", key)) == [
        ("old.row", None), ("cache.clear", "192.0.2.1")]


def test_an_existing_postgres_database_gains_the_audit_client_ip(postgres_url: str) -> None:
    import psycopg

    step = _step_adding_client_ip(pg_schema._STEPS)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for script in pg_schema._STEPS[:step]:
            for statement in script.replace("{dims}", "384").split(";\n"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute("CREATE TABLE vectorcache_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO vectorcache_schema (version) VALUES (%s)", (step,))
        conn.execute("INSERT INTO audit (at, action, details) VALUES (0, 'old.row', '{}')")
    assert asyncio.run(_reopen_and_audit(postgres_url, Fernet.generate_key())) == [
        ("old.row", None), ("cache.clear", "192.0.2.1")]

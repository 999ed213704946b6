"""End users' rights (erase, export) and the audit log (API, CLI, failed authentications)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from conftest import Tenant, make_tenant

from vectorcache.security.authfail import FailedAuthAudit, safe_prefix


def _setup(app_client, provider) -> tuple[Tenant, Tenant]:
    return (make_tenant(app_client, provider, decision_mode="static"),
            make_tenant(app_client, provider, decision_mode="static"))


def _cells(db) -> list[Any]:
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [cell for table in tables for row in conn.execute(f"SELECT * FROM {table}")
                for cell in row]


def _store(t: Tenant, prompt: str, user: str) -> str:
    resp = t.post("/v1/cache/store", {"prompt": prompt, "response": f"about {prompt}",
                                      "model": "gpt-4o", "user": user})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["cache_entry_id"])


def test_export_returns_exactly_the_users_entries_decrypted(app_client, provider) -> None:
    t, other = _setup(app_client, provider)
    mine = {_store(t, f"alice question {i} about rivers", "alice") for i in range(3)}
    q = t.post("/v1/cache/query", {"prompt": "alice asks about mountains", "model": "gpt-4o",
                                   "user": "alice", "metadata": {"k": "v"}}).json()
    mine.add(q["cache_entry_id"])
    _store(t, "bob question about lakes", "bob")
    _store(t, "anonymous question about seas", "")  # an empty id is its own (odd) user
    _store(other, "alice in another project", "alice")
    body = t.get("/v1/cache/users/alice/export").json()
    assert body["user"] == "alice" and body["total"] == 4
    assert {e["id"] for e in body["entries"]} == mine
    by_prompt = {e["prompt"]: e for e in body["entries"]}
    assert by_prompt["alice question 0 about rivers"]["response"] == \
        "about alice question 0 about rivers"
    assert by_prompt["alice asks about mountains"]["metadata"] == {"k": "v"}
    assert "embedding" not in str(body)
    assert t.get("/v1/cache/users/nobody/export").json()["entries"] == []


def test_erase_leaves_nothing_of_the_user_in_any_table(app_client, provider) -> None:
    t, other = _setup(app_client, provider)
    for i in range(3):
        _store(t, f"carol question {i} about forests", "carol")
    t.post("/v1/cache/query", {"prompt": "carol asks about deserts", "model": "gpt-4o",
                               "user": "carol"})
    keep = _store(t, "dave question about glaciers", "dave")
    other_carol = _store(other, "carol elsewhere", "carol")
    t.flush()
    # one more event of carol's, still in the write-behind buffer when the erase arrives
    t.post("/v1/cache/lookup", {"prompt": "carol question 0 about forests", "model": "gpt-4o",
                                "user": "carol"})
    carol_hash = t.runtime.hasher.user(t.project.id, "carol")
    db = t.runtime.store.path
    assert carol_hash in _cells(db)

    resp = t.delete("/v1/cache/users/carol")
    assert resp.status_code == 200, resp.text
    assert resp.json()["entries_deleted"] == 4 and resp.json()["events_deleted"] >= 5
    t.flush()
    cells = _cells(db)
    assert carol_hash not in cells
    assert not any(isinstance(c, str) and "carol" in c for c in cells)
    assert t.get("/v1/cache/users/carol/export").json()["entries"] == []
    after = t.post("/v1/cache/lookup", {"prompt": "carol question 0 about forests",
                                        "model": "gpt-4o"}).json()
    assert after["cache_hit"] is False  # gone from the index too
    assert t.call(t.runtime.store.get_entry, keep) is not None
    assert t.call(t.runtime.store.get_entry, other_carol) is not None  # other project's carol


def test_audit_api_records_changes_erasures_exports_and_failed_logins(tenant: Tenant) -> None:
    victim = tenant.new_key(name="victim")
    key_id = tenant.call(tenant.runtime.admin.find_key, victim).id
    tenant.post(f"/v1/keys/{key_id}/revoke")
    for _ in range(3):
        assert tenant.client.get("/v1/keys", headers={"X-API-Key": victim}).status_code == 401
    tenant.call(tenant.runtime.admin.set_provider, tenant.project, provider="openai",
                api_key="sk-rotated-provider", base_url=tenant.provider.base_url)
    tenant.get("/v1/cache/users/erin/export")
    tenant.delete("/v1/cache/users/erin")
    resp = tenant.get("/v1/audit", params={"limit": 50})
    assert resp.status_code == 200, resp.text
    events = resp.json()["events"]
    actions = [e["action"] for e in events]
    for action in ("key.create", "key.revoke", "provider.set", "user.export", "user.erase",
                   "auth.failure"):
        assert action in actions, (action, actions)
    failures = [e for e in events if e["action"] == "auth.failure"]
    assert len(failures) == 1  # three failures in a minute: one row, the rest aggregated
    assert failures[0]["actor"] == victim[:11] + "…"
    assert victim not in resp.text and "sk-rotated-provider" not in resp.text
    assert "erin" not in resp.text


class _AuditSink:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str | None, dict[str, object]]] = []

    async def add_audit(self, action: str, *, project_id: str | None, actor: str | None,
                        target: str | None, details: dict[str, object] | None = None,
                        client_ip: str | None = None) -> None:
        self.rows.append((action, actor, details or {}))


def test_failed_authentication_flood_is_throttled_and_never_stores_the_key() -> None:
    sink = _AuditSink()
    now = [600.0]
    audit = FailedAuthAudit(sink, max_prefixes=20, clock=lambda: now[0])  # type: ignore[arg-type]
    keys = [f"vc_{i:08x}{i:024x}" for i in range(1000)]  # 1000 distinct prefixes

    async def flood() -> None:
        for key in keys:
            await audit.record(key, "invalid_api_key")
        for _ in range(50):
            await audit.record(keys[0], "invalid_api_key")
        await audit.record("sk-not-a-vc-key-SECRET", "invalid_api_key")
        now[0] += 60
        await audit.record(None, "missing_api_key")

    asyncio.run(flood())
    first_minute = [r for r in sink.rows if r[0] == "auth.failure"]
    assert len(first_minute) <= 22  # 20 prefixes, (other), and the next minute's first
    repeated = {r[1]: r[2]["count"] for r in sink.rows if r[0] == "auth.failure.repeated"}
    assert repeated["(other)"] >= 979 and repeated[safe_prefix(keys[0])] == 50
    text = str(sink.rows)
    assert not any(k in text for k in keys) and "SECRET" not in text
    assert safe_prefix("sk-not-a-vc-key") == "(malformed)"


def test_user_ids_with_slashes_can_be_exported_and_erased(app_client, provider) -> None:
    t, _ = _setup(app_client, provider)
    entry = _store(t, "team question about tides", "team/alice")
    _store(t, "plain alice question about tides", "alice")
    for path in ("/v1/cache/users/team/alice/export", "/v1/cache/users/team%2Falice/export"):
        body = t.get(path).json()
        assert body["user"] == "team/alice" and [e["id"] for e in body["entries"]] == [entry]
    resp = t.delete("/v1/cache/users/team%2Falice")
    assert resp.status_code == 200 and resp.json()["entries_deleted"] == 1, resp.text
    assert t.get("/v1/cache/users/team/alice/export").json()["entries"] == []
    assert t.get("/v1/cache/users/alice/export").json()["total"] == 1  # nobody else's

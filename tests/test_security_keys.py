"""Keys API and access control: scopes, delegation limits, revocation, rotation, expiry, models.

Every denial is checked in the native shape ``{"detail", "code"}`` with its documented code.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import Tenant, make_tenant

from vectorcache.apikeys import is_well_formed
from vectorcache.clock import utcnow

STATS = "/v1/cache/projects/{}/stats"


@pytest.fixture
def t(app_client, provider) -> Tenant:
    return make_tenant(app_client, provider, decision_mode="static")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def denied(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"detail", "code"} and body["code"] == code, body


def test_keys_api_lifecycle_shows_the_key_once_and_never_its_hash(t: Tenant) -> None:
    created = t.post("/v1/keys", {"name": "ci", "scopes": ["cache:read"],
                                  "models": ["gpt-4o"], "allowed_ips": ["10.0.0.0/8"],
                                  "expires_at": "2099-01-01T00:00:00Z",
                                  "rate_limit_per_minute": 60,
                                  "quota": {"requests": 1000, "period": "month"}})
    assert created.status_code == 201, created.text
    body = created.json()
    assert is_well_formed(body["key"]) and body["prefix"] == body["key"][:11] + "…"
    assert body["scopes"] == ["cache:read"] and body["allowed_ips"] == ["10.0.0.0/8"]
    assert body["quota"] == {"requests": 1000, "period": "month"}
    record = t.call(t.runtime.store.get_api_key, body["id"])
    for resp in (t.get("/v1/keys"), t.get(f"/v1/keys/{body['id']}")):
        assert resp.status_code == 200
        assert body["key"] not in resp.text and record.key_hash not in resp.text
        assert "key_hash" not in resp.text
    assert body["id"] in {k["id"] for k in t.get("/v1/keys").json()["keys"]}
    assert t.get(f"/v1/keys/{body['id']}").json()["rate_limit_per_minute"] == 60
    denied(t.get("/v1/keys/not-a-key"), 404, "not_found")


def test_revoke_via_api_then_next_request_is_401(t: Tenant) -> None:
    victim = t.new_key(name="victim")
    assert t.get(STATS.format(t.project.id), headers=bearer(victim)).status_code == 200
    key_id = t.call(t.runtime.admin.find_key, victim).id
    assert t.post(f"/v1/keys/{key_id}/revoke").json()["status"] == "revoked"
    denied(t.get(STATS.format(t.project.id), headers=bearer(victim)), 401, "invalid_api_key")


def test_rotation_returns_a_new_key_and_honours_the_grace_period(t: Tenant) -> None:
    old = t.new_key(name="svc", scopes=("cache:read", "analytics:read"))
    old_id = t.call(t.runtime.admin.find_key, old).id
    rotated = t.post(f"/v1/keys/{old_id}/rotate", {"grace_seconds": 3600})
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()["key"]
    assert new != old and rotated.json()["scopes"] == ["cache:read", "analytics:read"]
    path = STATS.format(t.project.id)
    assert t.get(path, headers=bearer(new)).status_code == 200
    assert t.get(path, headers=bearer(old)).status_code == 200  # inside the grace period
    revoked_at = t.call(t.runtime.store.get_api_key, old_id).revoked_at
    assert timedelta(seconds=3590) < revoked_at - utcnow() <= timedelta(seconds=3600)
    # the grace period ends: the stored end moves to the past, as the clock would move it
    t.call(t.runtime.store.update_api_key, old_id, revoked_at=utcnow() - timedelta(seconds=1))
    denied(t.get(path, headers=bearer(old)), 401, "invalid_api_key")
    assert t.get(path, headers=bearer(new)).status_code == 200

    # no grace: the old key stops at once
    new_id = rotated.json()["id"]
    newest = t.post(f"/v1/keys/{new_id}/rotate").json()["key"]
    denied(t.get(path, headers=bearer(new)), 401, "invalid_api_key")
    assert t.get(path, headers=bearer(newest)).status_code == 200


def test_each_route_checks_its_scope(t: Tenant) -> None:
    reader = bearer(t.new_key(scopes=("cache:read",)))
    denied(t.get("/v1/keys", headers=reader), 403, "insufficient_scope")
    denied(t.get("/v1/audit", headers=reader), 403, "insufficient_scope")
    denied(t.get(STATS.format(t.project.id), headers=reader), 403, "insufficient_scope")
    denied(t.post("/v1/cache/store", {"prompt": "p", "response": "r", "model": "gpt-4o"},
                  headers=reader), 403, "insufficient_scope")
    denied(t.delete("/v1/cache/users/alice", headers=reader), 403, "insufficient_scope")
    writer = bearer(t.new_key(scopes=("cache:write",)))
    denied(t.get("/v1/cache/users/alice/export", headers=writer), 403, "insufficient_scope")
    star = bearer(t.new_key(scopes=("cache:*",)))
    assert t.get("/v1/cache/users/alice/export", headers=star).status_code == 200
    denied(t.get("/v1/keys", headers=star), 403, "insufficient_scope")


def test_a_manager_key_cannot_grant_more_than_it_holds(t: Tenant) -> None:
    limited = t.new_key(scopes=("keys:manage", "cache:read"), models=("gpt-4o-mini",),
                        allowed_ips=(), rate_limit_per_minute=100,
                        expires_at=utcnow() + timedelta(days=30),
                        quota_requests=500, quota_period="day")
    h = bearer(limited)
    wider = [
        {"scopes": ["cache:write"]}, {"scopes": ["*"]}, {"scopes": ["cache:*"]},
        {"models": ["gpt-4o"]}, {"models": []},
        {"rate_limit_per_minute": 1000}, {"rate_limit_per_minute": None},
        {"expires_at": None}, {"expires_at": (utcnow() + timedelta(days=90)).isoformat()},
        {"quota": {"requests": 501, "period": "day"}}, {"quota": None},
        {"quota": {"requests": 600, "period": "month"}},
    ]
    for extra in wider:
        denied(t.post("/v1/keys", {"name": "x", **extra}, headers=h), 403,
               "privilege_escalation")
    # omitted restrictions are inherited, narrower ones accepted
    child = t.post("/v1/keys", {"name": "child", "scopes": ["cache:read"]}, headers=h)
    assert child.status_code == 201, child.text
    c = child.json()
    assert c["models"] == ["gpt-4o-mini"] and c["rate_limit_per_minute"] == 100
    assert c["quota"] == {"requests": 500, "period": "day"} and c["expires_at"]
    # PATCH cannot widen a key either, nor touch a key wider than the caller
    denied(t.client.patch(f"/v1/keys/{c['id']}", json={"scopes": ["cache:write"]}, headers=h),
           403, "privilege_escalation")
    denied(t.client.patch(f"/v1/keys/{c['id']}", json={"models": None}, headers=h),
           403, "privilege_escalation")
    full_id = t.call(t.runtime.admin.find_key, t.key).id
    denied(t.post(f"/v1/keys/{full_id}/rotate", headers=h), 403, "privilege_escalation")
    denied(t.post(f"/v1/keys/{full_id}/revoke", headers=h), 403, "privilege_escalation")
    ok = t.client.patch(f"/v1/keys/{c['id']}", json={"name": "renamed",
                                                     "rate_limit_per_minute": 10}, headers=h)
    assert ok.status_code == 200 and ok.json()["name"] == "renamed"
    assert ok.json()["rate_limit_per_minute"] == 10


def test_ip_allow_list_can_only_narrow(t: Tenant) -> None:
    h = bearer(t.new_key(scopes=("keys:manage",), allowed_ips=("10.0.0.0/8",)))
    # the caller itself is outside its allow-list from the test client: use the admin service
    holder = t.call(t.runtime.admin.find_key, h["Authorization"][7:])
    from vectorcache.errors import PermissionDenied

    for ips in ((), ("0.0.0.0/0",), ("11.0.0.0/8",), ("::/0",)):
        with pytest.raises(PermissionDenied):
            t.call(t.runtime.admin.create_key, t.project, name="c", scopes=("keys:manage",),
                   allowed_ips=ips, holder=holder)
    t.call(t.runtime.admin.create_key, t.project, name="c", scopes=("keys:manage",),
           allowed_ips=("10.1.0.0/16", "10.2.3.4"), holder=holder)


def test_invalid_key_fields_are_400_not_500(t: Tenant) -> None:
    for body in ({"name": "x", "scopes": ["cache:admin"]}, {"name": "x", "allowed_ips": ["nope"]},
                 {"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
                 {"name": "x", "quota": {"requests": 0}}, {"name": ""}, {},
                 {"name": "x", "rate_limit_per_minute": 0}, {"name": "x", "bogus": 1}):
        resp = t.post("/v1/keys", body)
        assert resp.status_code == 400, (body, resp.text)


def test_expired_key_is_401_expired_api_key(t: Tenant) -> None:
    key = t.new_key(expires_at=utcnow() + timedelta(hours=1))
    key_id = t.call(t.runtime.admin.find_key, key).id
    t.call(t.runtime.store.update_api_key, key_id, expires_at=utcnow() - timedelta(seconds=1))
    denied(t.get(STATS.format(t.project.id), headers=bearer(key)), 401, "expired_api_key")


def test_model_allow_list_is_enforced_on_a_hit(t: Tenant) -> None:
    q = {"prompt": "What is the boiling point of water at sea level?", "model": "gpt-4o"}
    assert t.post("/v1/cache/query", q).json()["cache_hit"] is False
    assert t.post("/v1/cache/lookup", q).json()["cache_hit"] is True  # a hit exists
    mini = bearer(t.new_key(models=("gpt-4o-mini",)))
    denied(t.post("/v1/cache/lookup", q, headers=mini), 403, "model_access_denied")
    denied(t.post("/v1/cache/query", q, headers=mini), 403, "model_access_denied")


def test_default_keys_have_every_scope(t: Tenant) -> None:
    record = t.call(t.runtime.admin.find_key, t.key)
    assert set(record.scopes) == {"cache:read", "cache:write", "analytics:read", "keys:manage"}


@pytest.fixture
def run(cli_run):
    return cli_run


def test_cli_create_rotate_update(run) -> None:
    run("projects", "create", "p")
    out = run("keys", "create", "--project", "p", "--name", "svc", "--scopes",
              "cache:read,analytics:read", "--models", "gpt-4o", "--allow-ip", "10.0.0.0/8",
              "--allow-ip", "2001:db8::/32", "--expires", "2099-01-01T00:00:00Z",
              "--rate-limit", "30", "--quota", "100", "--quota-period", "month", "--json")
    row = json.loads(out.stdout)
    assert row["allowed_ips"] == "10.0.0.0/8,2001:db8::/32" and row["quota"] == "100/month"
    assert row["rate_limit_per_minute"] == 30 and row["scopes"] == "cache:read,analytics:read"
    rotated = run("keys", "rotate", row["id"], "--grace-seconds", "60").stdout.strip()
    new_key = rotated.splitlines()[-1]
    assert is_well_formed(new_key) and new_key != row["key"]
    run("keys", "update", new_key, "--rate-limit", "0", "--any-ip", "--name", "svc2")
    listed = {k["name"]: k for k in json.loads(run("keys", "list", "--project", "p",
                                                   "--json").stdout)}
    assert listed["svc2"]["rate_limit_per_minute"] is None
    assert listed["svc2"]["allowed_ips"] is None
    assert listed["svc"]["revoked_at"] is not None  # ends after the grace period
    bad = run("keys", "create", "--project", "p", "--allow-ip", "nope", ok=False)
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "allowed_ips" in bad.output
    audit = json.loads(run("audit", "--project", "p", "--json").stdout)
    assert {"key.create", "key.rotate", "key.update"} <= {e["action"] for e in audit}
    assert row["key"] not in json.dumps(audit) and new_key not in json.dumps(audit)

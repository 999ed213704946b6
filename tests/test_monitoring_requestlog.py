"""The request log, its rollups and the analytics routes, end to end: real model, real SQLite
file, loopback provider; what is written is read back through the routes."""

from __future__ import annotations

import json

from conftest import Tenant

Q = "/v1/cache/query"
PROMPT = "What is the boiling point of water at sea level?"


def _serve_some(tenant: Tenant) -> None:
    h = {"User-Agent": "monitoring-test/1.0"}
    assert tenant.post(Q, {"prompt": PROMPT, "model": "gpt-4o", "user": "alice@example.org"},
                       headers=h).status_code == 200  # miss
    assert tenant.post(Q, {"prompt": PROMPT, "model": "gpt-4o", "user": "alice@example.org"},
                       headers=h).status_code == 200  # exact hit
    assert tenant.post(Q, {"prompt": "At sea level, what is the boiling point of water?",
                           "model": "gpt-4o"}, headers=h).status_code == 200
    assert tenant.post(Q, {"model": "gpt-4o"}).status_code == 400  # an error, by class
    tenant.flush()


def test_one_row_per_request_with_outcome_and_no_text(tenant: Tenant) -> None:
    _serve_some(tenant)
    got = tenant.get("/v1/analytics/requests", params={"limit": 50})
    assert got.status_code == 200, got.text
    rows = got.json()["requests"]
    by_outcome = [r["outcome"] for r in reversed(rows) if r["route"] == Q]
    assert by_outcome[:2] == ["miss", "hit_exact"]
    assert by_outcome[2] in ("hit_semantic", "miss")
    assert by_outcome[3] == "error"
    miss, hit = [r for r in reversed(rows) if r["route"] == Q][:2]
    assert miss["key_id"] and miss["project_id"] == tenant.project.id
    assert miss["model"] == "gpt-4o" and miss["status"] == 200
    assert miss["tokens_in"] > 0 and miss["tokens_out"] > 0 and miss["cost_usd"] > 0
    assert miss["provider_ms"] > 0 and miss["latency_ms"] >= miss["provider_ms"]
    assert hit["cost_saved_usd"] > 0 and hit["tokens_saved"] > 0 and hit["provider_ms"] == 0
    assert hit["user_agent"] == "monitoring-test/1.0" and hit["client_ip"]
    assert hit["user_hash"] and "alice" not in hit["user_hash"]
    error = next(r for r in rows if r["outcome"] == "error")
    assert error["status"] == 400 and error["reason"] == "invalid_request"
    text = json.dumps(rows)
    assert "boiling" not in text and "alice" not in text and tenant.key not in text


def test_unknown_key_is_logged_without_a_project(tenant: Tenant) -> None:
    bad = tenant.post(Q, {"prompt": "x", "model": "gpt-4o"},
                      headers={"Authorization": "Bearer vc_" + "0" * 32})
    assert bad.status_code == 401
    tenant.flush()  # nothing to assert per project: the row has no project to be listed in


def test_usage_per_day_per_key_in_one_call(tenant: Tenant) -> None:
    second = tenant.new_key(name="second")
    _serve_some(tenant)
    assert tenant.post(Q, {"prompt": PROMPT, "model": "gpt-4o"},
                       headers={"Authorization": f"Bearer {second}"}).status_code == 200
    tenant.flush()
    got = tenant.get("/v1/analytics/usage", params={"bucket": "day", "group_by": "key"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["bucket"] == "day" and body["group_by"] == "key"
    groups = {g["key_name"]: g for g in body["groups"]}
    assert set(groups) >= {"test", "second"}
    first = groups["test"]["totals"]
    assert first["requests"] == 4 and first["hits_exact"] == 1 and first["misses"] >= 1
    assert first["errors_by_class"] == {"invalid_request": 1}
    assert 0 < first["hit_rate"] <= 1 and first["cost_saved_usd"] > 0
    assert first["latency_ms"]["p50"] is not None
    assert first["latency_ms"]["p50"] <= first["latency_ms"]["p99"]
    other = groups["second"]["totals"]
    assert other["requests"] == 1 and other["hits_exact"] == 1 and other["hit_rate"] == 1.0
    today = groups["test"]["series"][-1]
    assert today["requests"] == 4  # the series is per day, this month, zero-filled
    assert all(p["requests"] == 0 for p in groups["test"]["series"][:-1])
    assert body["totals"]["requests"] == 5


def test_usage_per_end_user_and_per_model(tenant: Tenant) -> None:
    _serve_some(tenant)
    users = tenant.get("/v1/analytics/usage", params={"group_by": "user"}).json()
    assert len(users["groups"]) == 1 and users["groups"][0]["totals"]["requests"] == 2
    models = tenant.get("/v1/analytics/usage", params={"group_by": "model",
                                                       "bucket": "hour"}).json()
    assert {g["group"] for g in models["groups"]} >= {"gpt-4o"}


def test_analytics_bad_input_is_400_and_scope_is_required(tenant: Tenant) -> None:
    for params in ({"bucket": "week"}, {"group_by": "colour"}, {"start": "yesterday"},
                   {"bucket": "minute", "start": "2026-01-01", "end": "2026-12-01"},
                   {"start": "2026-12-02", "end": "2026-12-01"}):
        got = tenant.get("/v1/analytics/usage", params=params)
        assert got.status_code == 400, (params, got.text)
        assert got.json()["code"] == "invalid_request"
    narrow = tenant.new_key(scopes=["cache:read"])
    got = tenant.get("/v1/analytics/usage", headers={"Authorization": f"Bearer {narrow}"})
    assert got.status_code == 403

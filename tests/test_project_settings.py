"""The hit decision's operating point and other project settings, from the API and the CLI."""

from __future__ import annotations

import json

import pytest
from conftest import Tenant


def test_project_settings_round_trip_and_change_the_decision(tenant: Tenant) -> None:
    path = f"/v1/cache/projects/{tenant.project.id}"
    shown = tenant.get(path).json()
    assert shown["decision_mode"] == "verified" and shown["similarity_threshold"] == 0.85
    tenant.post("/v1/cache/store", {"prompt": "Who wrote the novel Moby Dick?",
                                    "response": "Herman Melville", "model": "gpt-4o"})
    ask = {"prompt": "Who is the author of the novel Moby Dick?", "model": "gpt-4o",
           "include_debug": True}
    strict = tenant.post("/v1/cache/lookup", ask).json()
    assert strict["debug"]["decision"]["mode"] == "verified"

    changed = tenant.client.patch(path, json={"decision_mode": "static",
                                              "similarity_threshold": 0.8},
                                  headers=tenant.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["decision_mode"] == "static"
    loose = tenant.post("/v1/cache/lookup", ask).json()
    assert loose["cache_hit"] is True
    assert "threshold 0.800" in loose["debug"]["decision_reason"]


@pytest.mark.parametrize(("patch", "detail"), [
    ({"similarity_threshold": 1.5}, "similarity_threshold must be at least 0 and at most 1"),
    ({"target_error_rate": 0}, "target_error_rate must be greater than 0 and at most 0.5"),
    ({"decision_mode": "magic"}, "decision_mode must be one of ['static', 'verified']"),
    ({"pii_policy": "keep"}, "pii_policy must be one of ['bypass', 'redact']"),
    ({"ttl_seconds": 0}, "ttl_seconds must be a whole number of seconds >= 1"),
])
def test_bad_settings_are_400(tenant: Tenant, patch: dict, detail: str) -> None:
    r = tenant.client.patch(f"/v1/cache/projects/{tenant.project.id}", json=patch,
                            headers=tenant.headers)
    assert r.status_code == 400 and r.json()["detail"] == detail


def test_settings_need_keys_manage_and_own_project(tenant: Tenant) -> None:
    reader = tenant.new_key(scopes=("cache:read", "analytics:read"))
    r = tenant.client.patch(f"/v1/cache/projects/{tenant.project.id}",
                            json={"ttl_seconds": 60}, headers={"X-API-Key": reader})
    assert r.status_code == 403
    other = tenant.client.patch("/v1/cache/projects/not-mine", json={"ttl_seconds": 60},
                                headers=tenant.headers)
    assert other.status_code == 403


def test_cli_create_and_update_operating_point(cli_run) -> None:
    cli_run("projects", "create", "bot", "--target-error-rate", "0.02", "--ttl-seconds", "3600")
    cli_run("projects", "update", "bot", "--decision", "static", "--threshold", "0.9")
    row = json.loads(cli_run("projects", "list", "--json").stdout)[0]
    assert row["target_error_rate"] == 0.02 and row["ttl_seconds"] == 3600
    assert row["decision_mode"] == "static" and row["similarity_threshold"] == 0.9
    bad = cli_run("projects", "update", "bot", "--target-error-rate", "0.9", ok=False)
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_the_project_shows_the_operating_point_its_settings_come_to(tenant: Tenant) -> None:
    """The measured point a project gets: its floor never under the project's threshold, and
    lowering the threshold can only reach a looser point with at least as much CV recall."""
    path = f"/v1/cache/projects/{tenant.project.id}"
    default = tenant.get(path).json()["operating_point"]
    assert default["target_error_rate"] == 0.01 and default["cosine_floor"] >= 0.85
    assert 0 < default["cv_false_hit_rate"] <= 0.01 and default["cv_recall"] > 0
    points = {}
    for threshold in (0.85, 0.8):
        r = tenant.client.patch(path, json={"target_error_rate": 0.05,
                                            "similarity_threshold": threshold},
                                headers=tenant.headers)
        assert r.status_code == 200, r.text
        points[threshold] = r.json()["operating_point"]
        assert points[threshold]["cosine_floor"] >= threshold
    assert points[0.8]["cv_recall"] >= points[0.85]["cv_recall"]
    static = tenant.client.patch(path, json={"decision_mode": "static"}, headers=tenant.headers)
    assert static.json()["operating_point"] is None

"""Issue 22: a key's rate limit and quota are bounded where they are stored, not only where the
API parses them. Every way a key is made or changed (the API, the service the CLI and the
console share, the console's approvals, the CLI's options, and the store itself) refuses what
``bounds.py`` refuses: ``true``, ``60.0``, 0, or past ``MAX_RATE_LIMIT_PER_MINUTE`` /
``MAX_QUOTA_REQUESTS`` (real SQLite, the session's app)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from conftest import Tenant

from vectorcache.apikeys import display_prefix, generate_key
from vectorcache.bounds import MAX_QUOTA_REQUESTS, MAX_RATE_LIMIT_PER_MINUTE
from vectorcache.clock import utcnow
from vectorcache.console.access import Actor
from vectorcache.errors import ValidationFailed
from vectorcache.security.delegation import Grant

PASSWORD = "correct horse battery staple"

_OUT_OF_RANGE: list[tuple[str, Any]] = [
    ("rate_limit_per_minute", MAX_RATE_LIMIT_PER_MINUTE + 1),
    ("rate_limit_per_minute", 2**63),
    ("rate_limit_per_minute", True),
    ("rate_limit_per_minute", 60.0),
    ("rate_limit_per_minute", 0),
    ("quota_requests", MAX_QUOTA_REQUESTS + 1),
    ("quota_requests", True),
    ("quota_requests", -5),
]
_IDS = [f"{f}={v!r}" for f, v in _OUT_OF_RANGE]


def _limits(field: str, value: Any) -> dict[str, Any]:
    return {field: value, **({"quota_period": "day"} if field == "quota_requests" else {})}


@pytest.mark.parametrize(("field", "value"), _OUT_OF_RANGE, ids=_IDS)
def test_key_bounds_at_the_service_create_and_update(tenant: Tenant, field: str,
                                                     value: Any) -> None:
    admin = tenant.runtime.admin
    with pytest.raises(ValidationFailed) as refused:
        tenant.call(admin.create_key, tenant.project, name="probe", **_limits(field, value))
    assert refused.value.param == field
    key = tenant.call(admin.create_key, tenant.project, name="probe")
    with pytest.raises(ValidationFailed) as refused:
        tenant.call(admin.update_key, key.record.id, **_limits(field, value))
    assert refused.value.param == field
    stored = tenant.call(tenant.runtime.store.get_api_key, key.record.id)
    assert getattr(stored, field) is None  # unchanged


def test_key_bounds_at_the_edges_are_stored(tenant: Tenant) -> None:
    created = tenant.call(tenant.runtime.admin.create_key, tenant.project, name="edges",
                          rate_limit_per_minute=MAX_RATE_LIMIT_PER_MINUTE,
                          quota_requests=MAX_QUOTA_REQUESTS, quota_period="month")
    stored = tenant.call(tenant.runtime.store.get_api_key, created.record.id)
    assert stored.rate_limit_per_minute == MAX_RATE_LIMIT_PER_MINUTE
    assert stored.quota_requests == MAX_QUOTA_REQUESTS


@pytest.mark.parametrize(("field", "value"), _OUT_OF_RANGE, ids=_IDS)
def test_key_bounds_at_the_store_itself(tenant: Tenant, field: str, value: Any) -> None:
    """Below every service: a record written straight to the store (as the console's approval
    does) and an update of one field are refused by the store's own check."""
    store = tenant.runtime.store
    template = tenant.call(tenant.runtime.admin.create_key, tenant.project, name="t").record
    key = generate_key()
    record = replace(template, id=str(uuid.uuid4()), prefix=display_prefix(key),
                     key_hash=tenant.runtime.hasher.api_key(key), **_limits(field, value))
    with pytest.raises(ValidationFailed) as refused:
        tenant.call(store.add_api_key, record)
    assert refused.value.param == field
    assert tenant.call(store.get_api_key, record.id) is None
    with pytest.raises(ValidationFailed):
        tenant.call(store.update_api_key, template.id, **{field: value})
    assert getattr(tenant.call(store.get_api_key, template.id), field) is None


def _admin(tenant: Tenant) -> Actor:
    user = tenant.call(tenant.runtime.console.accounts.create_user,
                       f"boss-{uuid.uuid4().hex[:6]}", "admin", PASSWORD, actor="test")
    return Actor(user=user, memberships=frozenset(), ip="127.0.0.1")


@pytest.mark.parametrize(("field", "value"), _OUT_OF_RANGE, ids=_IDS)
def test_key_bounds_in_the_console(tenant: Tenant, field: str, value: Any) -> None:
    grant = Grant(**_limits(field, value))
    with pytest.raises(ValidationFailed) as refused:
        tenant.call(tenant.runtime.console.approvals.create_key, _admin(tenant),
                    tenant.project, "console-probe", grant)
    assert refused.value.param == field


def test_an_approved_request_with_an_out_of_range_limit_is_not_stored(tenant: Tenant) -> None:
    """A pending request written before the bound (or edited in the database): approving it
    goes through the store's check, so the key is not created."""
    console = tenant.runtime.console
    request_id = str(uuid.uuid4())
    key = generate_key()
    grant = {"scopes": ["cache:read"], "models": [], "allowed_ips": [], "expires_at": None,
             "rate_limit_per_minute": 10**12, "quota_requests": None, "quota_period": None}
    tenant.call(console.records.insert_request, {
        "id": request_id, "project_id": tenant.project.id, "requested_by": "dev",
        "name": "old-request", "prefix": display_prefix(key),
        "key_hash": tenant.runtime.hasher.api_key(key), "grant_json": json.dumps(grant),
        "reasons": json.dumps(["scopes"]), "status": "pending",
        "created_at": utcnow().timestamp()})
    with pytest.raises(ValidationFailed) as refused:
        tenant.call(console.approvals.approve, _admin(tenant), request_id)
    assert refused.value.param == "rate_limit_per_minute"
    assert tenant.call(tenant.runtime.store.get_api_key, request_id) is None


def test_key_bounds_in_the_api_create_and_update(tenant: Tenant) -> None:
    key_id = tenant.post("/v1/keys", {"name": "api-probe"}).json()["id"]
    for body in ({"rate_limit_per_minute": MAX_RATE_LIMIT_PER_MINUTE + 1},
                 {"rate_limit_per_minute": True}, {"rate_limit_per_minute": 60.0},
                 {"quota": {"requests": MAX_QUOTA_REQUESTS + 1}},
                 {"quota": {"requests": True}}):
        for response in (tenant.post("/v1/keys", {"name": "k", **body}),
                         tenant.client.patch(f"/v1/keys/{key_id}", json=body,
                                             headers=tenant.headers)):
            assert response.status_code == 400, (body, response.text)
            assert response.json()["code"] == "invalid_request"


@pytest.mark.parametrize(("command", "option", "value"), [
    ("create", "--rate-limit", str(MAX_RATE_LIMIT_PER_MINUTE + 1)),
    ("create", "--quota", str(MAX_QUOTA_REQUESTS + 1)),
    ("create", "--rate-limit", "1.5"),
    ("update", "--rate-limit", str(MAX_RATE_LIMIT_PER_MINUTE + 1)),
    ("update", "--quota", str(MAX_QUOTA_REQUESTS + 1)),
])
def test_key_bounds_in_the_cli(cli_run: Any, command: str, option: str, value: str) -> None:
    cli_run("projects", "create", "bounds")
    key = cli_run("keys", "create", "--project", "bounds").stdout.strip().splitlines()[-1]
    target = ["--project", "bounds"] if command == "create" else [key]
    result = cli_run("keys", command, *target, option, value, ok=False)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert option in result.output

"""Editing a key from the console, in-process with a real SQLite file: the API Keys page's
edit form (CSRF-protected, 400 with the reason on bad input) and its JSON twin
``PATCH /admin/api/projects/{id}/keys/{id}`` go through the key service that
``PATCH /v1/keys/{id}`` uses, with its bounds and strict types; every change is audited as
``key.update``; a developer's edit cannot get round the approval a new key would wait for."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from console_helpers import PASSWORD, Clock, browser, call, console_app, csrf_of, rt, sign_in
from fastapi.testclient import TestClient

from vectorcache.embeddings import Encoder
from vectorcache.models import ALL_SCOPES


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder,
        clock: Clock) -> Iterator[TestClient]:
    with console_app(tmp_path_factory.mktemp("console-key-edit"), encoder, clock) as client:
        yield client


def signed_in(app: TestClient, clock: Clock, role: str, project_id: str | None = None
              ) -> TestClient:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    made = call(app, lambda: rt(app).console.accounts.create_user(name, role, PASSWORD,
                                                                  actor="test"))
    if project_id:
        call(app, lambda: rt(app).console.records.add_membership(made.id, project_id,
                                                                 rt(app).clock()))
    c = browser(app)
    sign_in(c, name, clock)
    return c


def project(app: TestClient) -> str:
    return str(call(app, lambda: rt(app).admin.create_project(f"p-{uuid.uuid4().hex[:6]}")).id)


def new_key(app: TestClient, pid: str, **grant: Any) -> tuple[str, str]:
    """A key made by the operator: (its id, the key)."""
    async def make() -> Any:
        owner = await rt(app).store.get_project(pid)
        return await rt(app).admin.create_key(owner, name="svc", **grant)

    created = call(app, make)
    return created.record.id, created.key


def stored(app: TestClient, key_id: str) -> Any:
    return call(app, lambda: rt(app).store.get_api_key(key_id))


def updates(app: TestClient, pid: str) -> list[Any]:
    return [e for e in call(app, lambda: rt(app).store.list_audit(pid, 50))
            if e.action == "key.update"]


def form_of(page: str) -> dict[str, str]:
    """The edit form's fields as the browser would post them unchanged."""
    form = page[page.index('id="edit-key"'):]
    fields = dict(re.findall(r'<input name="([^"]+)" value="([^"]*)"', form))
    fields["csrf_token"] = csrf_of(form)
    for scope in re.findall(r'name="(scope_[^"]+)" value="1" checked', form):
        fields[scope] = "1"
    chosen = re.search(r'<option value="(day|month)" selected', form)
    fields["quota_period"] = chosen.group(1) if chosen else "day"
    return fields


def edit(c: TestClient, pid: str, key_id: str, **changes: str) -> Any:
    path = f"/dashboard/projects/{pid}/keys/{key_id}/edit"
    page = c.get(path)
    assert page.status_code == 200, page.text[:300]
    return c.post(path, data={**form_of(page.text), **changes}, follow_redirects=False)


def lookup(app: TestClient, key: str, model: str = "gpt-4o-mini") -> Any:
    return app.post("/v1/cache/lookup", json={"prompt": "what is the capital of france?",
                                              "model": model},
                    headers={"Authorization": f"Bearer {key}"})


def test_the_form_edits_scopes_models_ips_limits_and_quota(app: TestClient,
                                                           clock: Clock) -> None:
    pid = project(app)
    key_id, key = new_key(app, pid)
    c = signed_in(app, clock, "owner")
    listing = c.get(f"/dashboard/projects/{pid}/keys").text
    assert f"/keys/{key_id}/edit" in listing
    assert lookup(app, key).status_code == 200
    r = edit(c, pid, key_id, models="gpt-4o-mini, gpt-4o", rate_limit_per_minute="60",
             quota_requests="1000", quota_period="month")
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/projects/{pid}/keys"
    record = stored(app, key_id)
    assert record.models == ("gpt-4o-mini", "gpt-4o")
    assert (record.rate_limit_per_minute, record.quota_requests, record.quota_period) == \
        (60, 1000, "month")
    assert lookup(app, key, model="gpt-3.5-turbo").json()["code"] == "model_access_denied"
    (event,) = updates(app, pid)
    assert event.actor.startswith("user:owner-") and event.target == key_id
    assert event.details["fields"] == ["models", "quota_period", "quota_requests",
                                       "rate_limit_per_minute"]  # what changed, only
    page = c.get(f"/dashboard/projects/{pid}/keys/{key_id}/edit").text
    assert 'name="rate_limit_per_minute" value="60"' in page
    assert '<option value="month" selected' in page
    # scopes and client IPs; a CIDR is stored in canonical form
    fields = {"scope_cache:write": "", "scope_analytics:read": "",
              "scope_keys:manage": "", "allowed_ips": "10.1.2.3/8, 2001:db8::/32"}
    assert edit(c, pid, key_id, **fields).status_code == 303
    record = stored(app, key_id)
    assert record.scopes == ("cache:read",)
    assert record.allowed_ips == ("10.0.0.0/8", "2001:db8::/32")
    # limits removed: empty fields
    assert edit(c, pid, key_id, rate_limit_per_minute="", quota_requests="",
                allowed_ips="").status_code == 303
    record = stored(app, key_id)
    assert (record.rate_limit_per_minute, record.quota_requests, record.quota_period,
            record.allowed_ips) == (None, None, None, ())
    # nothing changed: nothing written, nothing audited
    assert edit(c, pid, key_id).status_code == 303
    assert len(updates(app, pid)) == 3


def test_bad_form_input_is_a_400_with_the_reason(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    key_id, _ = new_key(app, pid, models=("gpt-4o-mini",), rate_limit_per_minute=10)
    before = stored(app, key_id)
    c = signed_in(app, clock, "owner")
    cases = [
        ({"rate_limit_per_minute": "ten"}, "rate_limit_per_minute must be a whole number"),
        ({"rate_limit_per_minute": "60.0"}, "rate_limit_per_minute must be a whole number"),
        ({"rate_limit_per_minute": "-1"}, "rate_limit_per_minute must be a whole number"),
        ({"rate_limit_per_minute": "0"}, "rate_limit_per_minute"),
        ({"rate_limit_per_minute": "100000001"}, "less than or equal to 100000000"),
        ({"quota_requests": "9" * 30}, "quota.requests"),
        ({"quota_requests": "5", "quota_period": "year"}, "quota.period"),
        ({"allowed_ips": "not-an-ip"}, "allowed_ips must be IP addresses or CIDRs"),
        ({f"scope_{s}": "" for s in ALL_SCOPES}, "scopes must not be empty"),
        ({"name": " "}, "name"),
        ({"models": "x" * 201}, "models must be non-empty names"),
    ]
    for fields, reason in cases:
        r = edit(c, pid, key_id, **fields)
        assert r.status_code == 400, (fields, r.status_code, r.text[:300])
        assert reason in r.text, (fields, r.text[:600])
    assert stored(app, key_id) == before and updates(app, pid) == []
    path = f"/dashboard/projects/{pid}/keys/{key_id}/edit"
    no_token = c.post(path, data={"name": "x", "scope_cache:read": "1"})
    assert no_token.status_code == 403 and "csrf_failed" in no_token.text
    assert c.get(f"/dashboard/projects/{pid}/keys/nope/edit").status_code == 404
    assert stored(app, key_id) == before


def test_the_admin_plane_checks_as_the_project_api_does(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    key_id, _ = new_key(app, pid, scopes=("cache:read",))
    _, manager = new_key(app, pid)  # every scope, no limits: may change any key of pid
    c = signed_in(app, clock, "admin")
    h = {"X-CSRF-Token": csrf_of(c.get("/dashboard/account").text)}
    admin_path = f"/admin/api/projects/{pid}/keys/{key_id}"
    for bad in ({"rate_limit_per_minute": True}, {"rate_limit_per_minute": 60.0},
                {"rate_limit_per_minute": 0}, {"rate_limit_per_minute": 100_000_001},
                {"quota": {"requests": 0, "period": "day"}},
                {"quota": {"requests": 5, "period": "year"}},
                {"allowed_ips": ["nope"]}, {"scopes": []}, {"scopes": ["root"]},
                {"expires_at": "2000-01-01T00:00:00Z"}, {"unknown": 1}):
        admin = c.patch(admin_path, json=bad, headers=h)
        api = app.patch(f"/v1/keys/{key_id}", json=bad,
                        headers={"Authorization": f"Bearer {manager}"})
        assert admin.status_code == api.status_code == 400, (bad, admin.text, api.text)
        assert admin.json() == api.json(), bad
    assert updates(app, pid) == []
    assert c.patch(admin_path, json={"rate_limit_per_minute": 5}).status_code == 403  # CSRF
    done = c.patch(admin_path, json={"rate_limit_per_minute": 5, "models": ["gpt-4o"],
                                     "quota": {"requests": 100, "period": "day"}}, headers=h)
    assert done.status_code == 200, done.text
    shown = done.json()
    assert (shown["rate_limit_per_minute"], shown["models"], shown["quota"]) == \
        (5, ["gpt-4o"], {"requests": 100, "period": "day"})
    assert "key_hash" not in done.text
    audit = c.get("/admin/api/audit", params={"project_id": pid, "action": "key.update"})
    (event,) = audit.json()["events"]
    assert event["actor"].startswith("user:admin-") and event["target"] == key_id
    assert c.patch(f"/admin/api/projects/{project(app)}/keys/{key_id}", json={"name": "x"},
                   headers=h).status_code == 404  # the key is not of that project


def test_a_developer_cannot_edit_past_approval_and_a_viewer_not_at_all(
        app: TestClient, clock: Clock) -> None:
    pid = project(app)
    key_id, _ = new_key(app, pid, scopes=("cache:read",), models=("gpt-4o-mini",),
                        allowed_ips=("10.0.0.0/8",))
    dev = signed_in(app, clock, "developer", pid)
    for fields in ({"models": ""}, {"allowed_ips": ""}, {"allowed_ips": "0.0.0.0/0"},
                   {"scope_keys:manage": "1"}):
        r = edit(dev, pid, key_id, **fields)
        assert r.status_code == 403 and "admin_only" in r.text, (fields, r.text[:300])
    assert edit(dev, pid, key_id, rate_limit_per_minute="30",
                models="gpt-4o-mini, gpt-4o").status_code == 303
    assert stored(app, key_id).rate_limit_per_minute == 30
    h = {"X-CSRF-Token": csrf_of(dev.get("/dashboard/account").text)}
    r = dev.patch(f"/admin/api/projects/{pid}/keys/{key_id}", json={"models": None}, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "admin_only"
    admin = signed_in(app, clock, "admin")
    assert edit(admin, pid, key_id, models="").status_code == 303
    assert stored(app, key_id).models == ()
    # already without a model restriction: the developer may still change its other fields
    assert edit(dev, pid, key_id, rate_limit_per_minute="20").status_code == 303
    viewer = signed_in(app, clock, "viewer", pid)
    assert f"/keys/{key_id}/edit" not in viewer.get(f"/dashboard/projects/{pid}/keys").text
    page = viewer.get(f"/dashboard/projects/{pid}/keys/{key_id}/edit")
    assert page.status_code == 403 and "read_only" in page.text
    token = csrf_of(viewer.get(f"/dashboard/projects/{pid}/settings").text)
    r = viewer.post(f"/dashboard/projects/{pid}/keys/{key_id}/edit",
                    data={"csrf_token": token, "name": "x", "scope_cache:read": "1"})
    assert r.status_code == 403 and "read_only" in r.text
    outsider = signed_in(app, clock, "developer", project(app))
    assert outsider.get(f"/dashboard/projects/{pid}/keys/{key_id}/edit").status_code == 404
    assert [e.actor.split("-")[0] for e in updates(app, pid)] == \
        ["user:developer", "user:admin", "user:developer"]

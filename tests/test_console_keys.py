"""Keys through the console, in-process: created on the API Keys page and shown once, used on
/v1/cache/query, revoked (then 401); a viewer cannot change anything; a developer's sensitive
key is refused until an admin approves it; every action is in the audit log."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from console_helpers import PASSWORD, Clock, browser, call, console_app, csrf_of, rt, sign_in
from fastapi.testclient import TestClient

from vectorcache.embeddings import Encoder
from vectorcache.testing import FakeProvider


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder,
        clock: Clock) -> Iterator[TestClient]:
    with console_app(tmp_path_factory.mktemp("console-keys"), encoder, clock) as client:
        yield client


def user(app: TestClient, role: str, project_id: str | None = None) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    made = call(app, lambda: rt(app).console.accounts.create_user(name, role, PASSWORD,
                                                                  actor="test"))
    if project_id:
        call(app, lambda: rt(app).console.records.add_membership(made.id, project_id,
                                                                 rt(app).clock()))
    return name


@pytest.fixture(scope="module", autouse=True)
def _provider(provider: FakeProvider) -> None:
    global PROVIDER
    PROVIDER = provider


PROVIDER: FakeProvider | None = None


def project(app: TestClient) -> str:
    """A project answering misses from the loopback provider."""
    async def make() -> str:
        created = await rt(app).admin.create_project(f"p-{uuid.uuid4().hex[:6]}")
        assert PROVIDER is not None
        await rt(app).admin.set_provider(created, provider="openai", api_key=PROVIDER.api_key,
                                         base_url=PROVIDER.base_url)
        return str(created.id)

    return str(call(app, make))


def create_key(c: TestClient, pid: str, **fields: str) -> Any:
    page = c.get(f"/dashboard/projects/{pid}/keys").text
    data = {"csrf_token": csrf_of(page), "name": "web", "scope_cache:read": "1",
            "scope_cache:write": "1", **fields}
    return c.post(f"/dashboard/projects/{pid}/keys", data=data)


def query(app: TestClient, key: str) -> int:
    r = app.post("/v1/cache/query", json={"prompt": "what is the capital of france?",
                                          "model": "gpt-4o-mini"},
                 headers={"Authorization": f"Bearer {key}"})
    return r.status_code


def new_key_of(html: str) -> str:
    found = re.search(r'id="new-key">([^<]+)<', html)
    assert found, html[:800]
    return found.group(1)


def test_create_show_once_use_revoke(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "owner"), clock)
    created = create_key(c, pid)
    assert created.status_code == 200 and "won't see it again" in created.text
    key = new_key_of(created.text)
    assert query(app, key) == 200
    listing = c.get(f"/dashboard/projects/{pid}/keys").text
    assert key not in listing and key[:11] in listing  # the prefix only, from now on
    key_id = re.search(r'data-key-id="([^"]+)"', listing).group(1)  # type: ignore[union-attr]
    confirm = c.get(f"/dashboard/projects/{pid}/keys/{key_id}/revoke")
    assert "cannot be undone" in confirm.text
    r = c.post(f"/dashboard/projects/{pid}/keys/{key_id}/revoke",
               data={"csrf_token": csrf_of(confirm.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert query(app, key) == 401
    events = call(app, lambda: rt(app).store.list_audit(pid, 10))
    mine = [e for e in events if e.action.startswith("key.")]
    assert [e.action for e in mine][:2] == ["key.revoke", "key.create"]
    assert mine[0].actor.startswith("user:owner-")


def test_a_viewer_cannot_mutate(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "viewer", pid), clock)
    page = c.get(f"/dashboard/projects/{pid}/keys")
    assert page.status_code == 200 and 'id="create-key"' not in page.text
    r = create_key(c, pid)
    assert r.status_code == 403 and "read_only" in r.text
    csrf = c.get("/admin/api/me")
    assert csrf.status_code == 200
    token = csrf_of(c.get(f"/dashboard/projects/{pid}/settings").text)
    r = c.patch(f"/admin/api/projects/{pid}", json={"similarity_threshold": 0.5},
                headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and r.json()["code"] == "read_only"
    assert c.get(f"/admin/api/projects/{project(app)}").status_code == 404  # not a member


def test_a_developers_sensitive_key_waits_for_approval(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    dev = browser(app)
    sign_in(dev, user(app, "developer", pid), clock)
    narrow = create_key(dev, pid, models="gpt-4o-mini", allowed_ips="10.0.0.0/8")
    assert narrow.status_code == 200 and 'id="pending-note"' not in narrow.text
    anywhere = create_key(dev, pid, models="gpt-4o-mini", allowed_ips="0.0.0.0/0, ::/0")
    assert 'id="pending-note"' in anywhere.text  # every address is no restriction
    sensitive = create_key(dev, pid, **{"scope_keys:manage": "1"})
    assert 'id="pending-note"' in sensitive.text
    key = new_key_of(sensitive.text)
    assert query(app, key) == 401
    admin = browser(app)
    sign_in(admin, user(app, "admin"), clock)
    page = admin.get(f"/dashboard/projects/{pid}/keys").text
    action = re.search(r'action="([^"]+/approve)"', page).group(1)  # type: ignore[union-attr]
    denied = dev.post(action, data={"csrf_token": csrf_of(dev.get(
        f"/dashboard/projects/{pid}/keys").text)}, follow_redirects=False)
    assert denied.status_code == 403  # a developer cannot approve
    assert admin.post(action, data={"csrf_token": csrf_of(page)},
                      follow_redirects=False).status_code == 303
    assert query(app, key) == 200
    actions = [e.action for e in call(app, lambda: rt(app).store.list_audit(pid, 10))]
    assert "key.approve" in actions and "key.request" in actions


def test_admin_api_keys_and_provider_never_return_secrets(app: TestClient,
                                                          clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "owner"), clock)
    token = csrf_of(c.get("/dashboard/account").text)
    h = {"X-CSRF-Token": token}
    r = c.put(f"/admin/api/projects/{pid}/provider",
              json={"provider": "openai", "api_key": "sk-secret-value-1234"}, headers=h)
    assert r.status_code == 200 and r.json()["key_last4"] == "1234"
    shown = c.get(f"/admin/api/projects/{pid}/provider").text
    assert "sk-secret" not in shown and "1234" in shown
    created = c.post(f"/admin/api/projects/{pid}/keys", json={"name": "ci"}, headers=h).json()
    assert created["status"] == "active" and created["key"].startswith("vc_")
    listed = c.get(f"/admin/api/projects/{pid}/keys").text
    assert created["key"] not in listed and "key_hash" not in listed
    rotated = c.post(f"/admin/api/projects/{pid}/keys/{created['id']}/rotate",
                     json={"grace_seconds": 60}, headers=h)
    assert rotated.status_code == 201 and rotated.json()["replaces"] == created["id"]
    audit = c.get("/admin/api/audit", params={"project_id": pid, "action": "key.rotate"})
    assert [e["action"] for e in audit.json()["events"]] == ["key.rotate"]
    assert c.post(f"/admin/api/projects/{pid}/keys", json={"name": ""},
                  headers=h).status_code == 400


def test_deleting_a_project_needs_its_name_typed_back(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    name = call(app, lambda: rt(app).store.get_project(pid)).name
    doomed = call_project(app, pid)
    key = call(app, lambda: rt(app).admin.create_key(doomed, name="doomed")).key
    assert query(app, key) == 200
    dev = browser(app)
    sign_in(dev, user(app, "developer", pid), clock)
    token = csrf_of(dev.get(f"/dashboard/projects/{pid}/settings").text)
    r = dev.delete(f"/admin/api/projects/{pid}", params={"confirm": name},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 403 and r.json()["code"] == "admin_only"
    c = browser(app)
    sign_in(c, user(app, "admin"), clock)
    page = c.get(f"/dashboard/projects/{pid}/settings").text
    assert 'id="delete-project"' in page
    wrong = c.post(f"/dashboard/projects/{pid}/delete",
                   data={"csrf_token": csrf_of(page), "confirm": "nope"})
    assert wrong.status_code == 400 and "confirmation_mismatch" in wrong.text
    done = c.post(f"/dashboard/projects/{pid}/delete",
                  data={"csrf_token": csrf_of(page), "confirm": name}, follow_redirects=False)
    assert done.status_code == 303
    assert call(app, lambda: rt(app).store.get_project(pid)) is None
    assert query(app, key) == 401
    actions = [e.action for e in call(app, lambda: rt(app).store.list_audit(pid, 5))]
    assert "project.delete" in actions


def call_project(app: TestClient, pid: str) -> Any:
    return call(app, lambda: rt(app).store.get_project(pid))


def test_admin_tokens_are_shown_once_scoped_and_expire(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "admin"), clock)
    h = {"X-CSRF-Token": csrf_of(c.get("/dashboard/account").text)}
    made = c.post("/admin/api/tokens", json={"name": "ci", "scopes": ["admin:read"],
                                             "expires_in_days": 1}, headers=h)
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("vca_") and token not in c.get("/admin/api/tokens").text
    robot = {"Authorization": f"Bearer {token}"}
    assert app.get(f"/admin/api/projects/{pid}/keys", headers=robot).status_code == 200
    r = app.post(f"/admin/api/projects/{pid}/keys", json={"name": "x"}, headers=robot)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_scope"
    r = app.post("/admin/api/tokens", json={"name": "y"}, headers=robot)
    assert r.status_code == 403  # a token cannot make tokens (read-only, and not a session)
    writer = c.post("/admin/api/tokens", json={"name": "w", "scopes": ["admin:write"],
                                               "expires_in_days": 1}, headers=h).json()
    wrote = app.post(f"/admin/api/projects/{pid}/keys", json={"name": "by-robot"},
                     headers={"Authorization": f"Bearer {writer['token']}"})
    assert wrote.status_code == 201 and wrote.json()["status"] == "active"
    clock.advance(86_401)
    r = app.get(f"/admin/api/projects/{pid}/keys", headers=robot)
    assert r.status_code == 401 and r.json()["code"] == "invalid_admin_token"


def test_pages_have_json_twins(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "developer", pid), clock)
    assert c.get("/admin/api/projects").json()["projects"][0]["id"] == pid
    usage = c.get(f"/admin/api/projects/{pid}/usage", params={"range": "7d"})
    assert usage.status_code == 200 and usage.json()["entries"] == 0
    assert set(usage.json()["series"]) == {"Requests", "Hit rate", "Latency p95", "$ saved"}
    assert c.get(f"/admin/api/projects/{pid}/usage",
                 params={"range": "1y"}).status_code == 400
    sessions = c.get("/admin/api/sessions").json()["sessions"]
    assert [s["current"] for s in sessions] == [True]
    token = csrf_of(c.get("/dashboard/account").text)
    assert c.delete("/admin/api/sessions/nope",
                    headers={"X-CSRF-Token": token}).status_code == 404
    assert c.delete(f"/admin/api/sessions/{sessions[0]['id']}",
                    headers={"X-CSRF-Token": token}).status_code == 204
    assert c.get("/admin/api/me").status_code == 401


def test_bad_form_input_is_a_4xx_page_never_a_500(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "owner"), clock)
    token = csrf_of(c.get(f"/dashboard/projects/{pid}/settings").text)
    cases = [
        (f"/dashboard/projects/{pid}/settings", {"ttl_seconds": "9" * 30}),
        (f"/dashboard/projects/{pid}/settings", {"similarity_threshold": "nan"}),
        (f"/dashboard/projects/{pid}/settings", {"similarity_threshold": "x"}),
        (f"/dashboard/projects/{pid}/keys", {"name": "k", "scope_cache:read": "1",
                                             "allowed_ips": "not-an-ip"}),
        (f"/dashboard/projects/{pid}/keys", {"name": "", "scope_cache:read": "1"}),
        (f"/dashboard/projects/{pid}/keys", {"name": "no scopes"}),
        (f"/dashboard/projects/{pid}/keys/nope/rotate", {"grace_seconds": "-1"}),
        (f"/dashboard/projects/{pid}/keys/nope/rotate", {"grace_seconds": "1e400"}),
        (f"/dashboard/projects/{pid}/llm-keys", {"provider": "nope"}),
        ("/dashboard/projects/nope/keys", {"name": "k", "scope_cache:read": "1"}),
        ("/dashboard/account/tokens", {"name": "t", "days": "9999"}),
        ("/dashboard/users", {"name": "bad name!", "role": "viewer", "password": "x" * 20}),
    ]
    for path, fields in cases:
        r = c.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)
        assert 400 <= r.status_code < 500, (path, fields, r.status_code, r.text[:300])
    for path in (f"/dashboard/projects/{pid}/keys?page=0",
                 f"/dashboard/projects/{pid}/keys?page=99999999999999999999999",
                 f"/dashboard/projects/{pid}/audit?before=99999999999999999999999",
                 f"/admin/api/projects/{pid}/keys?offset=99999999999999999999",
                 f"/dashboard/projects/{pid}/analytics?range=forever"):
        r = c.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)


def test_keys_page_and_admin_plane_show_environment_and_rotation_due(app: TestClient,
                                                                      clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "owner"), clock)
    assert create_key(c, pid, environment="development").status_code == 200
    listing = c.get(f"/dashboard/projects/{pid}/keys").text
    (key,) = call(app, lambda: rt(app).store.list_api_keys(pid))
    assert key.environment == "development" and key.rotation_due_at is not None
    assert "<td>development</td>" in listing
    assert f'<td class="rotation-due">{key.rotation_due_at:%Y-%m-%d}</td>' in listing
    assert create_key(c, pid, environment="qa").status_code == 400
    h = {"X-CSRF-Token": csrf_of(listing)}
    made = c.post(f"/admin/api/projects/{pid}/keys", json={"name": "s",
                                                           "environment": "staging"}, headers=h)
    assert made.status_code == 201 and made.json()["environment"] == "staging"
    assert made.json()["rotation_due_at"] is not None
    assert c.post(f"/admin/api/projects/{pid}/keys", json={"name": "s", "environment": "qa"},
                  headers=h).status_code == 400
    dev = browser(app)  # a developer's key waits for approval, and keeps its environment
    sign_in(dev, user(app, "developer", pid), clock)
    waiting = create_key(dev, pid, environment="staging", **{"scope_keys:manage": "1"})
    assert 'id="pending-note"' in waiting.text
    admin = browser(app)
    sign_in(admin, user(app, "admin"), clock)
    page = admin.get(f"/dashboard/projects/{pid}/keys").text
    action = re.search(r'action="([^"]+/approve)"', page).group(1)  # type: ignore[union-attr]
    assert admin.post(action, data={"csrf_token": csrf_of(page)},
                      follow_redirects=False).status_code == 303
    approved = [k for k in call(app, lambda: rt(app).store.list_api_keys(pid))
                if k.name == "web" and k.environment == "staging"]
    assert len(approved) == 1 and approved[0].rotation_due_at is not None


def test_settings_page_sets_the_rotation_policy(app: TestClient, clock: Clock) -> None:
    pid = project(app)
    c = browser(app)
    sign_in(c, user(app, "owner"), clock)
    page = c.get(f"/dashboard/projects/{pid}/settings").text
    assert 'name="rotation_days_development" value="180"' in page
    saved = c.post(f"/dashboard/projects/{pid}/settings",
                   data={"csrf_token": csrf_of(page), "rotation_days_development": "30"},
                   follow_redirects=False)
    assert saved.status_code == 303
    shown = call(app, lambda: rt(app).store.get_project(pid))
    assert shown.rotation_policy.as_dict() == {"production": 90, "staging": 90,
                                               "development": 30}
    for bad in ("0", "3651", "ten", "-5", "9" * 30, "²", "١٢"):
        got = c.post(f"/dashboard/projects/{pid}/settings",
                     data={"csrf_token": csrf_of(page), "rotation_days_staging": bad})
        assert got.status_code == 400, (bad, got.status_code)

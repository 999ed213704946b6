"""The console's sign-in, sessions and headers, driven in-process through the real app:
Argon2id passwords, TOTP enrolment and codes, backup codes, throttling, CSRF, expiry."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import settings_for
from console_helpers import PASSWORD, Clock, csrf_of, sign_in, totp_now
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.embeddings import Encoder


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder,
        clock: Clock) -> Iterator[TestClient]:
    settings = settings_for(tmp_path_factory.mktemp("console"),
                            console_session_idle_seconds=600, console_login_max_failures=3)
    with TestClient(create_app(settings, encoder=encoder, clock=clock),
                    raise_server_exceptions=False) as client:
        yield client


def client_of(app: TestClient) -> TestClient:
    """Another browser (its own cookie jar) on the same app."""
    other = TestClient(app.app, raise_server_exceptions=False)
    other.portal = app.portal  # type: ignore[attr-defined]
    return other


def new_user(app: TestClient, role: str, password: str = PASSWORD) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    rt: Any = app.app.state.runtime  # type: ignore[attr-defined]
    app.portal.call(lambda: rt.console.accounts.create_user(  # type: ignore[union-attr]
        name, role, password, actor="test"))
    return name


def test_pages_need_a_session_and_carry_the_console_headers(app: TestClient) -> None:
    r = client_of(app).get("/dashboard/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/sign-in"
    page = client_of(app).get("/dashboard/sign-in")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "<script>" not in page.text and "onclick" not in page.text


def test_owner_enrols_totp_then_signs_in_with_a_code(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "owner")
    first = sign_in(client_of(app), name, clock)
    assert first.secret and first.client.get("/dashboard/").status_code == 200
    cookie = first.client.cookies.get("vc_session")
    assert cookie and len(cookie) >= 43  # 256 bits
    again = sign_in(client_of(app), name, clock, secret=first.secret)
    assert again.client.cookies.get("vc_session") != cookie  # a new id at each sign-in
    assert again.client.get("/dashboard/account").status_code == 200


def test_the_session_cookie_is_httponly_and_lax(app: TestClient) -> None:
    name = new_user(app, "viewer")
    r = client_of(app).post("/dashboard/sign-in", data={"name": name, "password": PASSWORD},
                            follow_redirects=False)
    header = r.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "secure" not in header


def test_a_backup_code_works_once(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "admin")
    c = client_of(app)
    sign_in(c, name, clock)
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>",
                       c.post("/dashboard/account/backup-codes",
                              data={"csrf_token": csrf_of(c.get("/dashboard/account").text)}).text)
    assert len(codes) == 10
    for attempt, expected in ((codes[0], 303), (codes[0], 401)):
        other = client_of(app)
        other.post("/dashboard/sign-in", data={"name": name, "password": PASSWORD})
        page = other.get("/dashboard/sign-in/code").text
        r = other.post("/dashboard/sign-in/code",
                       data={"csrf_token": csrf_of(page), "code": attempt},
                       follow_redirects=False)
        assert r.status_code == expected, r.text


def test_a_totp_code_cannot_be_replayed(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "admin")
    b = sign_in(client_of(app), name, clock)
    assert b.secret
    clock.advance(30)
    code = totp_now(b.secret, clock)
    results = []
    for _ in range(2):
        other = client_of(app)
        other.post("/dashboard/sign-in", data={"name": name, "password": PASSWORD})
        page = other.get("/dashboard/sign-in/code").text
        results.append(other.post("/dashboard/sign-in/code",
                                  data={"csrf_token": csrf_of(page), "code": code},
                                  follow_redirects=False).status_code)
    assert results == [303, 401]


def test_wrong_passwords_lock_the_account_out(app: TestClient) -> None:
    name = new_user(app, "viewer")
    c = client_of(app)
    statuses = [c.post("/dashboard/sign-in", data={"name": name, "password": "wrong-password!"},
                       follow_redirects=False).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    locked = c.post("/dashboard/sign-in", data={"name": name, "password": PASSWORD},
                    follow_redirects=False)
    assert locked.status_code == 429  # even the right password, during the lockout
    rt: Any = app.app.state.runtime  # type: ignore[attr-defined]
    events = app.portal.call(lambda: rt.store.list_audit(None, 20))  # type: ignore[union-attr]
    outcomes = [e.details.get("outcome") for e in events if e.actor == f"user:{name}"]
    assert "locked" in outcomes and "bad_password" in outcomes


def test_password_policy(app: TestClient) -> None:
    rt: Any = app.app.state.runtime  # type: ignore[attr-defined]
    for password, code in (("short", "weak_password"), ("xx-alice-rocks-xx", "weak_password")):
        with pytest.raises(Exception) as caught:
            app.portal.call(lambda p=password: rt.console.accounts.create_user(  # type: ignore
                "alice", "viewer", p, actor="test"))
        assert getattr(caught.value, "code", None) == code


def test_a_form_post_without_the_csrf_token_is_refused(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "owner")
    b = sign_in(client_of(app), name, clock)
    r = b.client.post("/dashboard/account/backup-codes", data={}, follow_redirects=False)
    assert r.status_code == 403 and "csrf_failed" in r.text
    r = b.client.post("/admin/api/projects", json={"name": "p-" + uuid.uuid4().hex[:6]})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"


def test_an_idle_session_is_sent_to_sign_in(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "viewer")
    b = sign_in(client_of(app), name, clock)
    assert b.client.get("/dashboard/", follow_redirects=False).status_code == 200
    clock.advance(601)
    r = b.client.get("/dashboard/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard/sign-in"


def test_sign_out_and_password_change_end_sessions(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "viewer")
    one, two = sign_in(client_of(app), name, clock), sign_in(client_of(app), name, clock)
    r = one.client.post("/dashboard/account/password",
                        data={"csrf_token": csrf_of(one.client.get("/dashboard/account").text),
                              "current_password": PASSWORD,
                              "new_password": "another long passphrase"},
                        follow_redirects=False)
    assert r.status_code == 303
    for b in (one, two):
        assert b.client.get("/dashboard/", follow_redirects=False).status_code == 303
    three = sign_in(client_of(app), name, clock, password="another long passphrase")
    csrf = csrf_of(three.client.get("/dashboard/").text)
    three.client.post("/dashboard/sign-out", data={"csrf_token": csrf})
    assert three.client.get("/dashboard/", follow_redirects=False).status_code == 303


def test_json_sign_in_needs_the_code_for_a_2fa_account(app: TestClient, clock: Clock) -> None:
    name = new_user(app, "admin")
    b = sign_in(client_of(app), name, clock)
    c = client_of(app)
    r = c.post("/admin/api/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "code_required"
    clock.advance(30)
    assert b.secret
    r = c.post("/admin/api/session", json={"name": name, "password": PASSWORD,
                                           "code": totp_now(b.secret, clock)})
    assert r.status_code == 200, r.text
    assert c.get("/admin/api/me").json()["role"] == "admin"


def test_openapi_documents_the_admin_plane(app: TestClient) -> None:
    paths = app.get("/openapi.json").json()["paths"]
    assert "/admin/api/projects/{project_id}/keys" in paths and "/admin/api/audit" in paths
    assert not any(p.startswith("/dashboard") for p in paths)


def test_static_files_ship_in_the_package() -> None:
    from vectorcache.console.web.render import STATIC_DIR

    assert (STATIC_DIR / "console.js").exists() and (STATIC_DIR / "console.css").exists()
    assert Path(STATIC_DIR.parent / "templates" / "keys.html").exists()


def test_a_viewer_may_turn_on_2fa_and_an_owner_may_reset_it(app: TestClient,
                                                            clock: Clock) -> None:
    name = new_user(app, "viewer")
    b = sign_in(client_of(app), name, clock)
    other = sign_in(client_of(app), name, clock)
    page = b.client.get("/dashboard/account/2fa").text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
    clock.advance(30)
    r = b.client.post("/dashboard/account/2fa", data={"csrf_token": csrf_of(page),
                                                      "code": totp_now(secret, clock)})
    assert r.status_code == 200 and "backup-codes" in r.text
    assert b.client.get("/dashboard/", follow_redirects=False).status_code == 200
    assert other.client.get("/dashboard/", follow_redirects=False).status_code == 303
    again = client_of(app).post("/dashboard/sign-in", data={"name": name, "password": PASSWORD},
                                follow_redirects=False)
    assert again.headers["location"] == "/dashboard/sign-in/code"
    owner = sign_in(client_of(app), new_user(app, "owner"), clock)
    users = owner.client.get("/dashboard/users").text
    reset = owner.client.post(f"/dashboard/users/{name}/reset-2fa",
                              data={"csrf_token": csrf_of(users)}, follow_redirects=False)
    assert reset.status_code == 303
    assert b.client.get("/dashboard/", follow_redirects=False).status_code == 303
    after = client_of(app).post("/dashboard/sign-in", data={"name": name, "password": PASSWORD},
                                follow_redirects=False)
    assert after.headers["location"] == "/dashboard/"  # a viewer needs no second factor

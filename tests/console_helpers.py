"""Helpers for the console tests: a clock the test moves, an app on a real SQLite file, and
signed-in browser-like clients on it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from conftest import settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.clock import utcnow
from vectorcache.embeddings import Encoder

PASSWORD = "correct horse battery staple"


class Clock:
    """The console's time: real time plus whatever the test added."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@contextmanager
def console_app(data_dir: Path, encoder: Encoder, clock: Clock) -> Iterator[TestClient]:
    """The whole app on a SQLite file under ``data_dir``, its console on ``clock``."""
    with TestClient(create_app(settings_for(data_dir), encoder=encoder, clock=clock),
                    raise_server_exceptions=False) as client:
        yield client


def rt(app: TestClient) -> Any:
    """The app's runtime: its store and services."""
    return app.app.state.runtime  # type: ignore[attr-defined]


def call(app: TestClient, fn: Any) -> Any:
    """``fn()``'s awaitable run on the app's event loop."""
    return app.portal.call(fn)  # type: ignore[union-attr]


def browser(app: TestClient) -> TestClient:
    """Another browser (its own cookie jar) on the same app."""
    other = TestClient(app.app, raise_server_exceptions=False)
    other.portal = app.portal  # type: ignore[attr-defined]
    return other


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def totp_now(secret: str, clock: Clock, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock() + timedelta(seconds=30 * steps_ahead))


@dataclass
class Browser:
    """A TestClient with its own cookies, signed in through the pages."""

    client: TestClient
    secret: str | None = None

    def page(self, path: str) -> Any:
        return self.client.get(path, follow_redirects=False)

    def submit(self, path: str, fields: dict[str, str], *, csrf_from: str | None = None,
               csrf: bool = True) -> Any:
        data = dict(fields)
        if csrf:
            data["csrf_token"] = csrf_of(self.client.get(csrf_from or path).text)
        return self.client.post(path, data=data, follow_redirects=False)


def sign_in(client: TestClient, name: str, clock: Clock, secret: str | None = None,
            password: str = PASSWORD) -> Browser:
    """Password, then enrolment (first time, for a role that needs 2FA) or the TOTP code."""
    b = Browser(client, secret)
    r = client.post("/dashboard/sign-in", data={"name": name, "password": password},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    if r.headers["location"] == "/dashboard/enrol":
        page = client.get("/dashboard/enrol").text
        found = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
        assert found
        b.secret = found.group(1)
        r = client.post("/dashboard/enrol", data={"csrf_token": csrf_of(page),
                                                  "code": totp_now(b.secret, clock)})
        assert r.status_code == 200 and "backup-codes" in r.text, r.text
    elif r.headers["location"] == "/dashboard/sign-in/code":
        assert secret is not None
        page = client.get("/dashboard/sign-in/code").text
        clock.advance(30)  # a fresh time step: each code works once
        r = client.post("/dashboard/sign-in/code",
                        data={"csrf_token": csrf_of(page), "code": totp_now(secret, clock)},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/dashboard/", r.text
    return b

"""The console's records and services on both backends (SQLite and PostgreSQL): accounts,
sessions (hashed ids, expiry, revocation), memberships, key requests and sign-in throttling
hold the same. Each test opens its store inside its own event loop."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from console_helpers import PASSWORD, Clock
from cryptography.fernet import Fernet

from vectorcache.console.access import Actor
from vectorcache.console.service import Console
from vectorcache.errors import AuthenticationFailed, RateLimited
from vectorcache.hashing import Hasher
from vectorcache.security.delegation import Grant
from vectorcache.service.admin import AdminService
from vectorcache.settings import Settings
from vectorcache.store import Store, open_store_for_url


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'vectorcache.db'}"
    return str(request.getfixturevalue("postgres_url"))


def run(url: str, clock: Clock, test: Callable[[Console, Store], Awaitable[None]],
        **settings: Any) -> None:
    async def main() -> None:
        store = open_store_for_url(url, Fernet.generate_key(), 4, searchable=False)
        await store.open()
        try:
            hasher = Hasher(b"s" * 32)
            console = Console(store, hasher, AdminService(store, hasher),
                              Settings(console_login_max_failures=2, **settings), clock)
            await test(console, store)
        finally:
            await store.close()

    asyncio.run(main())


def test_sessions_are_hashed_expire_and_revoke(url: str) -> None:
    clock = Clock()

    async def test(console: Console, store: Store) -> None:
        user = await console.accounts.create_user("ann", "viewer", PASSWORD, actor="test")
        new = await console.sessions.start(user, "full", "10.0.0.1", "agent")
        assert new.session.id_hash != new.cookie and new.cookie not in new.session.id_hash
        assert (await console.sessions.load(new.cookie)) is not None
        clock.advance(3601)  # the idle default
        assert await console.sessions.load(new.cookie) is None
        other = await console.sessions.start(user, "full", "10.0.0.2", None)
        keep = await console.sessions.start(user, "full", "10.0.0.3", None)
        assert [s.client_ip for s in await console.sessions.of_user(user)][:2] in (
            ["10.0.0.3", "10.0.0.2"], ["10.0.0.2", "10.0.0.3"])
        assert await console.sessions.end_all(user, keep=keep.session) >= 1
        assert await console.sessions.load(other.cookie) is None
        assert await console.sessions.load(keep.cookie) is not None

    run(url, clock, test)


def test_throttle_and_key_requests(url: str) -> None:
    clock = Clock()

    async def test(console: Console, store: Store) -> None:
        await console.accounts.create_user("bob", "developer", PASSWORD, actor="test")
        for _ in range(2):
            with pytest.raises(AuthenticationFailed):
                await console.accounts.check_password("bob", "nope-nope-nope", "10.0.0.9")
        with pytest.raises(RateLimited):
            await console.accounts.check_password("bob", PASSWORD, "10.0.0.9")
        clock.advance(901)
        dev = await console.accounts.check_password("bob", PASSWORD, "10.0.0.9")
        project = await store.create_project(f"p-{uuid.uuid4().hex[:6]}")
        await console.records.add_membership(dev.id, project.id, clock())
        actor = await console.actor(dev, "10.0.0.9")
        wide = await console.approvals.create_key(actor, project, "wide", Grant())
        assert wide.status == "pending" and wide.request is not None
        assert await store.list_api_keys(project.id) == []
        boss = await console.accounts.create_user("cat", "admin", PASSWORD, actor="test")
        admin = Actor(user=boss, memberships=frozenset(), ip=None)
        approved = await console.approvals.approve(admin, wide.request.id)
        assert (await store.list_api_keys(project.id))[0].id == approved.id
        assert (await console.approvals.pending(project.id)) == []

    run(url, clock, test)

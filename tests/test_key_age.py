"""Key age: each key's environment and ``rotation_due_at`` from its project's rotation policy,
through the store (SQLite and PostgreSQL, migrated from the release before), the API, the
admin plane, the CLI and the console's API Keys page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Tenant
from cryptography.fernet import Fernet

from vectorcache.clock import from_iso, utcnow
from vectorcache.errors import ValidationFailed
from vectorcache.models import ApiKey, RotationPolicy
from vectorcache.store import open_store_for_url, pg_schema, sqlite_schema

DAY = 86400


def _step_adding_key_age(steps: tuple[str, ...]) -> int:
    return next(i for i, step in enumerate(steps) if "rotation_due_at" in step)


def _old_database(url: str, sqlite_path: Path | None) -> None:
    """A database as the release before key age left it, with a project and a key in it."""
    rows = ("INSERT INTO projects (id, name, created_at) VALUES ('old-id', 'old', 0)",
            "INSERT INTO api_keys (id, project_id, name, prefix, key_hash, created_at)"
            f" VALUES ('old-key', 'old-id', 'k', 'vc_x', 'h', {1_000_000})")
    if sqlite_path is not None:
        step = _step_adding_key_age(sqlite_schema._STEPS)
        with contextlib.closing(sqlite3.connect(sqlite_path, isolation_level=None)) as conn:
            for script in sqlite_schema._STEPS[:step]:
                for statement in sqlite_schema._split(script):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step}")
            for row in rows:
                conn.execute(row)
        return
    import psycopg

    step = _step_adding_key_age(pg_schema._STEPS)
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for script in pg_schema._STEPS[:step]:
            for statement in script.replace("{dims}", "4").split(";\n"):
                if statement.strip():
                    pg.execute(statement)  # type: ignore[call-overload]
        pg.execute("CREATE TABLE vectorcache_schema (version INTEGER NOT NULL)")
        pg.execute("INSERT INTO vectorcache_schema (version) VALUES (%s)", (step,))
        for row in rows:
            pg.execute(row)  # type: ignore[call-overload]


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_key_age_columns_migrate_and_follow_the_policy(backend: str, tmp_path: Path,
                                                       request: pytest.FixtureRequest) -> None:
    """An existing database gains the columns (its keys: production, due 90 days after they
    were made); new keys are due by their environment; a policy change moves them; the store
    refuses a policy out of bounds."""
    sqlite_path = tmp_path / "vectorcache.db" if backend == "sqlite" else None
    url = f"sqlite:///{sqlite_path}" if sqlite_path else str(
        request.getfixturevalue("postgres_url"))
    _old_database(url, sqlite_path)

    async def main() -> None:
        store = open_store_for_url(url, Fernet.generate_key(), 4, searchable=False)
        await store.open()
        try:
            old = await store.get_api_key("old-key")
            assert old is not None and old.environment == "production"
            assert old.rotation_due_at is not None
            assert old.rotation_due_at.timestamp() == 1_000_000 + 90 * DAY
            project = await store.get_project("old-id")
            assert project is not None and project.rotation_policy == RotationPolicy()

            made = utcnow()
            for env in ("production", "staging", "development"):
                token = uuid.uuid4().hex
                await store.add_api_key(ApiKey(
                    id=env, project_id="old-id", name=env, prefix="vc_" + token[:8],
                    key_hash=token, created_at=made, environment=env))
            due = {k.id: k.rotation_due_at for k in await store.list_api_keys("old-id")}
            assert due["staging"] == made + timedelta(days=90)
            assert due["development"] == made + timedelta(days=180)

            updated = await store.update_project("old-id",
                                                 rotation_policy={"development": 30})
            assert updated.rotation_policy == RotationPolicy(development=30)
            due = {k.id: k.rotation_due_at for k in await store.list_api_keys("old-id")}
            assert due["development"] == made + timedelta(days=30)
            assert due["production"] == made + timedelta(days=90)
            assert due["old-key"] is not None and due["old-key"].timestamp() == (
                1_000_000 + 90 * DAY)

            for bad in ({"production": 0}, {"staging": 3651}, {"qa": 10},
                        {"production": True}, {"production": 9.5}, "90"):
                with pytest.raises(ValidationFailed):
                    await store.update_project("old-id", rotation_policy=bad)
            with pytest.raises(ValidationFailed):
                await store.update_api_key("production", environment="prod")
            assert (await store.get_project("old-id")).rotation_policy.development == 30  # type: ignore[union-attr]
        finally:
            await store.close()

    asyncio.run(main())


def _due_days(key: dict[str, Any]) -> float:
    created, due = from_iso(key["created_at"]), from_iso(key["rotation_due_at"])
    assert created is not None and due is not None
    return (due - created).total_seconds() / DAY


def test_keys_api_environment_and_rotation_due(tenant: Tenant) -> None:
    made = tenant.post("/v1/keys", {"name": "dev laptop", "environment": "development"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["environment"] == "development" and _due_days(body) == 180
    default = tenant.post("/v1/keys", {"name": "svc"}).json()
    assert default["environment"] == "production" and _due_days(default) == 90

    for bad in ("prod", "", None, 3):
        got = tenant.post("/v1/keys", {"name": "x", "environment": bad})
        assert got.status_code == 400, (bad, got.text)
        assert got.json()["code"] == "invalid_request"

    listed = {k["id"]: k for k in tenant.get("/v1/keys").json()["keys"]}
    assert listed[body["id"]]["rotation_due_at"] == body["rotation_due_at"]
    assert tenant.get(f"/v1/keys/{body['id']}").json()["environment"] == "development"

    path = f"/v1/cache/projects/{tenant.project.id}"
    patched = tenant.client.patch(path, headers=tenant.headers,
                                  json={"rotation_policy": {"development": 14}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["rotation_policy"] == {"production": 90, "staging": 90,
                                                 "development": 14}
    assert _due_days(tenant.get(f"/v1/keys/{body['id']}").json()) == 14
    assert tenant.get(path).json()["rotation_policy"]["development"] == 14
    for bad in ({"development": 0}, {"production": 3651}, {"qa": 10}, {"staging": "30"},
                {"staging": True}, {"staging": 1.5}, None):
        got = tenant.client.patch(path, headers=tenant.headers, json={"rotation_policy": bad})
        assert got.status_code == 400, (bad, got.text)

    rotated = tenant.post(f"/v1/keys/{body['id']}/rotate", {"grace_seconds": 60}).json()
    assert rotated["environment"] == "development"  # a rotation keeps the label
    old = tenant.get(f"/v1/keys/{body['id']}").json()
    assert old["replaced_by"] == rotated["id"] and old["rotated_at"] is not None


def test_cli_environment_policy_and_listing(cli_run: Any) -> None:
    cli_run("projects", "create", "shop", "--rotation-days-staging", "30")
    made = json.loads(cli_run("keys", "create", "--project", "shop", "--name", "ci",
                              "--environment", "staging", "--json").output)
    assert made["environment"] == "staging"
    listed = json.loads(cli_run("keys", "list", "--project", "shop", "--json").output)
    (row,) = listed
    due, created = from_iso(row["rotation_due"]), from_iso(row["created"])
    assert due is not None and created is not None and due - created == timedelta(days=30)
    table = cli_run("keys", "list", "--project", "shop").output
    assert "ROTATION_DUE" in table.upper().replace(" ", "_") and "staging" in table

    cli_run("projects", "update", "shop", "--rotation-days-staging", "45")
    (row,) = json.loads(cli_run("keys", "list", "--project", "shop", "--json").output)
    assert from_iso(row["rotation_due"]) - created == timedelta(days=45)  # type: ignore[operator]
    shown = json.loads(cli_run("projects", "list", "--json").output)
    assert shown[0]["rotation_policy"] == {"production": 90, "staging": 45, "development": 180}

    for args in (["--rotation-days-staging", "0"], ["--rotation-days-production", "4000"]):
        assert cli_run("projects", "update", "shop", *args, ok=False).exit_code == 2
    bad = cli_run("keys", "create", "--project", "shop", "--environment", "qa", ok=False)
    assert bad.exit_code == 2 and "qa" in bad.output

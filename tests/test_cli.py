"""The management CLI, on a real data dir, without a server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vectorcache.apikeys import is_well_formed


@pytest.fixture
def run(cli_run):
    return cli_run


def test_projects_and_keys_lifecycle(run) -> None:
    run("projects", "create", "shop")
    assert "shop" in run("projects", "list").output
    created = run("keys", "create", "--project", "shop", "--name", "ci")
    key = created.stdout.strip().splitlines()[-1]
    assert is_well_formed(key)

    listed = json.loads(run("keys", "list", "--project", "shop", "--json").stdout)
    assert len(listed) == 1 and listed[0]["status"] == "active" and listed[0]["name"] == "ci"
    assert key not in run("keys", "list", "--project", "shop").output
    assert listed[0]["prefix"].startswith(key[:11])


@pytest.mark.parametrize("how", ["id", "prefix", "full"])
def test_revoke_by_id_prefix_or_full_key(run, how: str) -> None:
    run("projects", "create", "p")
    key = run("keys", "create", "--project", "p").stdout.strip().splitlines()[-1]
    row = json.loads(run("keys", "list", "--project", "p", "--json").stdout)[0]
    ref = {"id": row["id"], "prefix": row["prefix"], "full": key}[how]
    run("keys", "revoke", ref)
    row = json.loads(run("keys", "list", "--project", "p", "--json").stdout)[0]
    assert row["status"] == "revoked"


def test_errors_are_messages_not_tracebacks(run) -> None:
    result = run("keys", "create", "--project", "missing", ok=False)
    assert result.exit_code != 0 and "not found" in result.output
    assert "Traceback" not in result.output
    run("projects", "create", "dup")
    dup = run("projects", "create", "dup", ok=False)
    assert "already exists" in dup.output


def test_provider_key_from_stdin_is_stored_encrypted(run, tmp_path: Path) -> None:
    run("projects", "create", "p")
    run("providers", "set", "--project", "p", "--provider", "openai",
        "--base-url", "http://127.0.0.1:1/v1", input="sk-super-secret-provider-key\n")
    data = b"".join(f.read_bytes() for f in (tmp_path / "data").rglob("*") if f.is_file())
    assert b"sk-super-secret-provider-key" not in data


def test_provider_key_from_env(run, monkeypatch: pytest.MonkeyPatch) -> None:
    run("projects", "create", "p")
    monkeypatch.setenv("VECTORCACHE_PROVIDER_KEY", "sk-from-env")
    out = run("providers", "set", "--project", "p").output
    assert "Stored" in out and "sk-from-env" not in out


def test_secret_files_are_private(run, tmp_path: Path) -> None:
    run("projects", "list")
    for name in ("master.key", "server.secret"):
        assert (tmp_path / "data" / name).stat().st_mode & 0o077 == 0


def test_a_bad_setting_is_named_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "VECTORCACHE_DATA_DIR": str(tmp_path),
           "VECTORCACHE_RATE_LIMITS_WITHOUT_REDIS": "sometimes", "VECTORCACHE_PORT": "eighty"}
    done = subprocess.run([sys.executable, "-m", "vectorcache", "projects", "list"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "VECTORCACHE_RATE_LIMITS_WITHOUT_REDIS='sometimes'" in done.stderr
    assert "VECTORCACHE_PORT='eighty'" in done.stderr

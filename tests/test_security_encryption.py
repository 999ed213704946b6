"""Encryption at rest: the passphrase path (PBKDF2), and data-key rotation without downtime."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.cli.main import cli
from vectorcache.crypto import PBKDF2_MIN_ITERATIONS, load_master_key
from vectorcache.errors import ConfigurationError, ValidationFailed
from vectorcache.runtime import Runtime
from vectorcache.security.encryption import retire, rotate
from vectorcache.settings import Settings
from vectorcache.store.sqlite import SqliteStore


def _kids(db: Path) -> dict[str | None, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kid, COUNT(*) FROM entries GROUP BY kid").fetchall()
        rows += conn.execute("SELECT kid, COUNT(*) FROM providers GROUP BY kid").fetchall()
    out: dict[str | None, int] = {}
    for kid, n in rows:
        out[kid] = out.get(kid, 0) + n
    return out


def test_passphrase_derives_the_master_key_with_stored_pbkdf2_params(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, passphrase="correct horse battery staple")

    async def write() -> None:
        async with Runtime.open(settings, with_embedder=False) as rt:
            await rt.admin.create_project("p")
            project = await rt.admin.project("p")
            await rt.admin.set_provider(project, provider="openai", api_key="sk-PASSPHRASE-9",
                                        base_url=None)

    asyncio.run(write())
    params = json.loads((tmp_path / "kdf.json").read_text())
    assert params["algorithm"] == "pbkdf2-hmac-sha256"
    assert params["iterations"] >= PBKDF2_MIN_ITERATIONS >= 600_000
    assert len(params["salt"]) >= 20  # 16 random bytes, base64
    assert (tmp_path / "kdf.json").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "master.key").exists()
    assert b"sk-PASSPHRASE-9" not in (tmp_path / "vectorcache.db").read_bytes()

    async def read(passphrase: str) -> str | None:
        s = Settings(data_dir=tmp_path, passphrase=passphrase)
        async with Runtime.open(s, with_embedder=False) as rt:
            config = await rt.store.get_provider((await rt.admin.project("p")).id)
            return None if config is None else config.api_key

    assert asyncio.run(read("correct horse battery staple")) == "sk-PASSPHRASE-9"
    with pytest.raises(ConfigurationError):
        asyncio.run(read("wrong passphrase"))
    (tmp_path / "kdf.json").write_text(json.dumps({**params, "iterations": 1000}))
    with pytest.raises(ConfigurationError, match="below"):
        load_master_key(settings)


def test_rotation_reencrypts_every_row_while_the_server_keeps_serving(
        tmp_path: Path, encoder, provider) -> None:
    settings = settings_for(tmp_path)
    with TestClient(create_app(settings, encoder=encoder)) as client:
        t = make_tenant(client, provider, decision_mode="static")
        prompts = [f"Rotation question number {i}: what is {i} squared?" for i in range(6)]
        for i, p in enumerate(prompts):
            r = t.post("/v1/cache/store", {"prompt": p, "response": f"ROTATION-ANSWER-{i}", "model": "gpt-4o",
                                           "metadata": {"i": i}, "context": "ctx"})
            assert r.status_code == 201, r.text
        db = t.runtime.store.path
        old_kid = t.runtime.store.cipher.active_kid
        assert _kids(db) == {old_kid: 7}  # 6 entries + 1 provider key

        # the operator's process: its own store on the same file, as the CLI opens it
        async def partial() -> tuple[SqliteStore, str]:
            other = SqliteStore(db, load_master_key(settings), encoder.dims)
            await other.open()
            report = await rotate(other, batch=2, max_batches=1)
            with pytest.raises(ValidationFailed, match="still encrypts"):
                await retire(other, old_kid)
            return other, report.new_kid

        other, new_kid = client.portal.call(partial)  # type: ignore[union-attr]
        assert _kids(db) == {old_kid: 5, new_kid: 2}

        # mid-rotation the running server reads old and new rows alike, and writes new ones
        # under the new key (it never restarted)
        def all_hit() -> None:
            for i, p in enumerate(prompts):
                body = t.post("/v1/cache/lookup", {"prompt": p, "model": "gpt-4o",
                                                   "context": "ctx"}).json()
                assert body["cache_hit"] and body["response"] == f"ROTATION-ANSWER-{i}", body

        all_hit()
        assert t.post("/v1/cache/store", {"prompt": "written mid-rotation", "response": "M",
                                          "model": "gpt-4o"}).status_code == 201
        assert _kids(db) == {old_kid: 5, new_kid: 3}

        async def finish() -> int:
            report = await rotate(other, new_key=False, batch=2)
            assert await other.pending_reencryption() == 0
            await retire(other, old_kid)
            infos = {k.kid: k for k in await other.data_keys()}
            assert infos[old_kid].retired_at is not None and infos[new_kid].active
            await other.close()
            return report.rows

        assert client.portal.call(finish) == 5  # type: ignore[union-attr]
        assert _kids(db) == {new_kid: 8}
        all_hit()
        miss = t.post("/v1/cache/query", {"prompt": "Name a prime number above ninety",
                                          "model": "gpt-4o"})
        assert miss.status_code == 200, miss.text  # the provider key decrypts under the new key
        on_disk = b"".join(p.read_bytes() for p in db.parent.glob("*.db*"))
        assert b"ROTATION-ANSWER" not in on_disk and b"Rotation question" not in on_disk


def test_encryption_cli_status_rotate_resume_retire(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECTORCACHE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None):
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result

    run("projects", "create", "p")
    run("providers", "set", "--project", "p", input="sk-cli-rotation\n")
    before = json.loads(run("encryption", "status", "--json").stdout)
    (old,) = before["data_keys"]
    assert old["active"] and old["rows"] == 1 and before["pending_rows"] == 0
    out = run("encryption", "rotate", "--batch-size", "1")
    assert "re-encrypted 1 rows" in out.stdout
    after = json.loads(run("encryption", "status", "--json").stdout)
    keys = {k["kid"]: k for k in after["data_keys"]}
    new = next(k for k in keys.values() if k["active"])
    assert keys[old["kid"]]["rows"] == 0 and new["rows"] == 1 and after["pending_rows"] == 0
    assert "Re-encrypted 0 rows" in run("encryption", "rotate", "--resume").stdout
    refused = run("encryption", "retire", new["kid"], ok=False)
    assert "active" in refused.output and "Traceback" not in refused.output
    run("encryption", "retire", old["kid"])
    final = json.loads(run("encryption", "status", "--json").stdout)
    assert any(k["kid"] == old["kid"] and k["retired"] for k in final["data_keys"])
    actions = {e["action"] for e in json.loads(run("audit", "--json").stdout)}
    assert {"encryption.rotate", "encryption.resume", "encryption.retire"} <= actions
    assert len(run("encryption", "generate-key").stdout.strip()) == 44

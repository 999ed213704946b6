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
            r = t.post("/v1/cache/store", {"prompt": p, "response": f"ROTATION-ANSWER-{i}",
                                           "model": "gpt-4o", "metadata": {"i": i},
                                           "context": "ctx"})
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


def test_rewrap_moves_the_data_keys_to_a_new_passphrase_key_file_and_env_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("VECTORCACHE_DATA_DIR", str(data))
    for name in ("VECTORCACHE_PASSPHRASE", "VECTORCACHE_MASTER_KEY",
                 "VECTORCACHE_NEW_PASSPHRASE", "VECTORCACHE_NEW_MASTER_KEY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, ok: bool = True, input: str | None = None):
        result = runner.invoke(cli, list(args), input=input, catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        assert "Traceback" not in result.output
        return result

    def provider_key() -> str:  # what only the data keys can open
        async def read() -> str | None:
            async with Runtime.open(Settings(), with_embedder=False) as rt:
                config = await rt.store.get_provider((await rt.admin.project("p")).id)
                return None if config is None else config.api_key
        return str(asyncio.run(read()))

    # an old data dir, made when 1,000 PBKDF2 iterations were thought enough
    from vectorcache.crypto import KdfParams
    from vectorcache.secretfiles import write_secret_file

    monkeypatch.setenv("VECTORCACHE_PASSPHRASE", "old passphrase, long enough")
    kdf = {**KdfParams.fresh().__dict__, "iterations": 1000}
    write_secret_file(data / "kdf.json", json.dumps(kdf).encode())
    old_master = KdfParams(**kdf).derive("old passphrase, long enough")

    async def make() -> None:
        async with Runtime.open(Settings(), with_embedder=False, master_key=old_master) as rt:
            await rt.admin.create_project("p")
            await rt.admin.set_provider(await rt.admin.project("p"), provider="openai",
                                        api_key="sk-REWRAP-7", base_url=None)

    asyncio.run(make())
    assert load_master_key(Settings(), allow_weak_kdf=True) == old_master
    assert "below" in run("projects", "list", ok=False).output  # refused everywhere...
    db_before = (data / "vectorcache.db").read_bytes()

    refused = run("encryption", "rewrap", "--to", "passphrase", ok=False, input="short\nshort\n")
    assert "at least 12" in refused.output and not (data / "kdf.json.next").exists()
    out = run("encryption", "rewrap", "--to", "passphrase",  # ...except to move away from them
              input="a new passphrase of some length\na new passphrase of some length\n")
    assert "Re-wrapped 1 data key" in out.stdout and not (data / "kdf.json.next").exists()
    new_kdf = json.loads((data / "kdf.json").read_text())
    assert new_kdf["iterations"] >= PBKDF2_MIN_ITERATIONS and new_kdf["salt"] != kdf["salt"]
    assert (data / "kdf.json").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigurationError):  # the old passphrase opens nothing now
        provider_key()
    monkeypatch.setenv("VECTORCACHE_PASSPHRASE", "a new passphrase of some length")
    assert provider_key() == "sk-REWRAP-7"
    assert load_master_key(Settings()) != old_master

    # passphrase -> key file -> a key in the environment
    run("encryption", "rewrap", "--to", "key-file")
    assert (data / "master.key").stat().st_mode & 0o777 == 0o600
    assert not (data / "kdf.json").exists()
    monkeypatch.delenv("VECTORCACHE_PASSPHRASE")
    assert provider_key() == "sk-REWRAP-7"
    bad = run("encryption", "rewrap", "--to", "master-key", ok=False, input="not-a-key\n")
    assert "Fernet key" in bad.output and (data / "master.key").exists()
    env_key = run("encryption", "generate-key").stdout.strip()
    monkeypatch.setenv("VECTORCACHE_NEW_MASTER_KEY", env_key)
    run("encryption", "rewrap", "--to", "master-key")
    assert not (data / "master.key").exists()  # it opens nothing any more
    monkeypatch.setenv("VECTORCACHE_MASTER_KEY", env_key)
    assert provider_key() == "sk-REWRAP-7"
    # rows were never rewritten: only the wrapped data keys changed
    with sqlite3.connect(data / "vectorcache.db") as conn:
        (sealed,) = conn.execute("SELECT api_key FROM providers").fetchone()
    assert sealed in db_before
    actions = [e["action"] for e in json.loads(run("audit", "--json").stdout)]
    assert actions.count("encryption.rewrap") == 3


def test_interrupted_rewrap_is_not_guessed_at(tmp_path: Path) -> None:
    from vectorcache.security import rewrap as master

    (tmp_path / "master.key.next").write_bytes(b"left over")
    with pytest.raises(ConfigurationError, match="interrupted"):
        master.prepare(tmp_path, "key-file", None)
    with pytest.raises(ValidationFailed):
        master.prepare(tmp_path / "fresh", "nonsense", None)


def test_a_running_server_outlives_a_rewrap(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    from vectorcache.errors import ServiceUnavailable
    from vectorcache.security.encryption import rewrap

    first, second = Fernet.generate_key(), Fernet.generate_key()
    settings = Settings(data_dir=tmp_path)

    async def main() -> None:
        async with Runtime.open(settings, with_embedder=False, master_key=first) as server:
            await server.admin.create_project("p")
            project = await server.admin.project("p")
            await server.admin.set_provider(project, provider="openai", api_key="sk-LIVE-1",
                                            base_url=None)
            async with Runtime.open(settings, with_embedder=False, master_key=first) as cli:
                await rewrap(cli.store, second, target="master-key")
            await server.store.reload_keys()  # keys it holds are kept: still serving
            assert (await server.store.get_provider(project.id)).api_key == "sk-LIVE-1"
            async with Runtime.open(settings, with_embedder=False, master_key=second) as cli:
                await rotate(cli.store)  # a data key it cannot open: a clear 503, not a 500
            with pytest.raises(ServiceUnavailable, match="restart"):
                await server.store.reload_keys()

    asyncio.run(main())

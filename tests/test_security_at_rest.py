"""Nothing secret in plaintext on disk or in the logs: after a workload with distinctive
prompts, responses, contexts, metadata, user ids, API keys and a provider key, a grep of the
whole data dir (database, WAL, index snapshot, a DEBUG log file) finds none of them, and
neither do the DEBUG-level logs captured from every logger."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from conftest import make_tenant, settings_for
from fastapi.testclient import TestClient

from vectorcache.api.app import create_app
from vectorcache.testing import FakeProvider

PROVIDER_KEY = "sk-prov-QUETZAL-5512-secret"
#: the test's own HTTP client logs the URLs it requests; that is the client, not the server
CLIENT_LOGGERS = ("httpx2",)


def server_side(record: logging.LogRecord) -> bool:
    return not record.name.startswith(CLIENT_LOGGERS)


def workload(client: TestClient, provider: FakeProvider) -> list[str]:
    """Exercise every path that touches user data; return the strings that must never leak."""
    t = make_tenant(client, provider, decision_mode="static")
    secrets = [PROVIDER_KEY, t.key]
    prompt = "How do axolotls-ZEBRA-4471 regrow their limbs?"
    ctx, meta, user = "context-MARMOT-8812", "metadata-OCELOT-3390", "user-PANGOLIN-6023"
    miss = t.post("/v1/cache/query", {"prompt": prompt, "model": "gpt-4o", "context": ctx,
                                      "metadata": {"note": meta}, "user": user})
    assert miss.status_code == 200, miss.text
    secrets += [prompt, miss.json()["response"], ctx, meta, user]
    assert t.post("/v1/cache/query", {"prompt": prompt, "model": "gpt-4o",
                                      "context": ctx}).json()["cache_hit"]
    stored = "Stored answer WOMBAT-2290 about tapirs"
    assert t.post("/v1/cache/store", {"prompt": "Tell me about tapirs-NARWHAL-1180",
                                      "response": stored, "model": "gpt-4o", "user": user}
                  ).status_code == 201
    secrets += [stored, "tapirs-NARWHAL-1180"]
    earlier = "Earlier turn about QUOKKA-5521"  # kept (encrypted) as the entry's conversation
    chat = t.post("/v1/chat/completions", {"model": "gpt-4o", "temperature": 0.3, "messages": [
        {"role": "user", "content": earlier}, {"role": "assistant", "content": "Noted."},
        {"role": "user", "content": "And the follow-up GECKO-7734?"}]})
    assert chat.status_code == 200 and chat.headers["x-vectorcache-cache"] == "miss", chat.text
    secrets += [earlier, "GECKO-7734"]
    created = t.post("/v1/keys", {"name": "extra"}).json()
    secrets.append(created["key"])
    rotated = t.post(f"/v1/keys/{created['id']}/rotate").json()
    secrets.append(rotated["key"])
    bad = "vc_" + "ab12" * 8
    assert t.get("/v1/keys", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
    secrets.append(bad)
    assert t.get(f"/v1/cache/users/{user}/export").status_code == 200
    t.flush()
    return secrets


def test_no_plaintext_secret_anywhere_in_the_data_dir(tmp_path: Path, encoder) -> None:
    data_dir = tmp_path / "data"
    log_file = data_dir / "server.log"
    data_dir.mkdir()
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    handler.addFilter(server_side)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with FakeProvider(api_key=PROVIDER_KEY) as provider, \
                TestClient(create_app(settings_for(data_dir), encoder=encoder)) as client:
            secrets = workload(client, provider)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"vectorcache.db", "vectorcache.db.index", "server.log"} <= names, names
    assert log_file.stat().st_size > 0
    blob = b"".join(p.read_bytes() for p in files)
    for secret in secrets:
        assert secret.encode() not in blob, f"{secret!r} found in plaintext in the data dir"


def test_debug_logs_hold_no_key_prompt_response_or_provider_key(
        caplog: pytest.LogCaptureFixture, tmp_path: Path, encoder) -> None:
    caplog.set_level(logging.DEBUG)  # root logger: every library's DEBUG lines too
    with FakeProvider(api_key=PROVIDER_KEY) as provider, \
            TestClient(create_app(settings_for(tmp_path), encoder=encoder)) as client:
        secrets = workload(client, provider)
    records = [r for r in caplog.records if server_side(r)]
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert len(records) > 5  # the workload did log
    for secret in secrets:
        assert secret not in text, f"{secret!r} found in the logs"

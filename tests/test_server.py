"""Tier two: the real ``vectorcache serve`` as a subprocess, over HTTP, as a newcomer runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from vectorcache.apikeys import is_well_formed
from vectorcache.testing import FakeProvider


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path, provider: FakeProvider):
    port = _free_port()
    env = {**os.environ, "VECTORCACHE_DATA_DIR": str(tmp_path / "data"),
           "OPENAI_API_KEY": provider.api_key or "", "OPENAI_BASE_URL": provider.base_url,
           "VECTORCACHE_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "vectorcache", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    key = None
    assert proc.stdout is not None
    for line in proc.stdout:  # the key is printed once, before the server starts
        if is_well_formed(line.strip()):
            key = line.strip()
            break
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read() if proc.stderr else "server died")
            time.sleep(0.1)
    yield base, key, proc
    proc.terminate()
    proc.wait(30)


def test_first_start_prints_a_key_and_serves_hits(served, provider: FakeProvider) -> None:
    base, key, proc = served
    assert key is not None
    h = {"Authorization": f"Bearer {key}"}
    before = provider.calls
    miss = httpx.post(f"{base}/v1/cache/query", headers=h, timeout=30, json={
        "prompt": "What is the capital of France?", "model": "gpt-4o", "include_debug": True})
    assert miss.status_code == 200 and miss.json()["cache_hit"] is False
    hit = httpx.post(f"{base}/v1/cache/query", headers=h, timeout=30, json={
        "prompt": "What's the capital city of France?", "model": "gpt-4o",
        "include_debug": True}).json()
    assert hit["cache_hit"] is True and hit["similarity_score"] >= 0.85
    assert provider.calls == before + 1
    bad = httpx.post(f"{base}/v1/cache/query", headers=h, content=b"{oops", timeout=30)
    assert bad.status_code == 400 and bad.json()["detail"] == "Invalid JSON format"


def test_logs_hold_no_secrets(served, provider: FakeProvider) -> None:
    base, key, proc = served
    secret_prompt = "my distinctive prompt zebra-quartz-4411"
    httpx.post(f"{base}/v1/cache/query", headers={"X-API-Key": key}, timeout=30,
               json={"prompt": secret_prompt, "model": "gpt-4o"})
    httpx.get(f"{base}/v1/cache/projects/x/stats?q={secret_prompt}",
              headers={"X-API-Key": key}, timeout=30)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "POST /v1/cache/query 200" in err, err
    for secret in (key, "zebra-quartz", provider.api_key or "", "Answer to"):
        assert secret not in err

"""Tier two: the real ``vectorcache serve`` as a subprocess, over HTTP, as a newcomer runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from served import Served, serve

from vectorcache.testing import FakeProvider


@pytest.fixture
def served(tmp_path: Path, provider: FakeProvider) -> Iterator[Served]:
    with serve(tmp_path / "data", provider.api_key or "", provider.base_url, log_level="INFO",
               capture_stderr=True) as server:
        yield server


def test_first_start_prints_a_key_and_serves_hits(served: Served,
                                                   provider: FakeProvider) -> None:
    assert served.key
    h = {"Authorization": f"Bearer {served.key}"}
    before = provider.calls
    miss = httpx.post(f"{served.base}/v1/cache/query", headers=h, timeout=30, json={
        "prompt": "What is the capital of France?", "model": "gpt-4o", "include_debug": True})
    assert miss.status_code == 200 and miss.json()["cache_hit"] is False
    hit = httpx.post(f"{served.base}/v1/cache/query", headers=h, timeout=30, json={
        "prompt": "What's the capital city of France?", "model": "gpt-4o",
        "include_debug": True}).json()
    assert hit["cache_hit"] is True and hit["similarity_score"] >= 0.85
    assert provider.calls == before + 1
    # curl -d sends a form content type: the body is still read as JSON
    form = httpx.post(f"{served.base}/v1/cache/lookup", headers={
        **h, "Content-Type": "application/x-www-form-urlencoded"}, timeout=30,
        content=b'{"prompt":"What is the capital of France?","model":"gpt-4o"}')
    assert form.status_code == 200 and form.json()["cache_hit"] is True
    bad = httpx.post(f"{served.base}/v1/cache/query", headers=h, content=b"{oops", timeout=30)
    assert bad.status_code == 400 and bad.json()["detail"] == "Invalid JSON format"


def test_logs_hold_no_secrets(served: Served, provider: FakeProvider) -> None:
    secret_prompt = "my distinctive prompt zebra-quartz-4411"
    httpx.post(f"{served.base}/v1/cache/query", headers={"X-API-Key": served.key}, timeout=30,
               json={"prompt": secret_prompt, "model": "gpt-4o"})
    httpx.get(f"{served.base}/v1/cache/projects/x/stats?q={secret_prompt}",
              headers={"X-API-Key": served.key}, timeout=30)
    served.proc.terminate()
    _, err = served.proc.communicate(timeout=30)
    assert "POST /v1/cache/query 200" in err, err
    for secret in (served.key, "zebra-quartz", provider.api_key or "", "Answer to"):
        assert secret not in err

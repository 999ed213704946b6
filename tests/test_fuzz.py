"""Schemathesis over the OpenAPI document against the real ``vectorcache serve`` (issue 22,
item 7): every operation, up to 100 generated cases each (the long run: ``bench/fuzz.py``),
and not one server error or answer that differs from the document."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from served import serve

from vectorcache.testing import FakeProvider
from vectorcache.testing.fuzz import run_schemathesis

pytest.importorskip("schemathesis", reason="the test extra installs schemathesis")

CASES = int(os.environ.get("VECTORCACHE_FUZZ_CASES", "100"))


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
        tmp_path: Path, provider: FakeProvider) -> None:
    with serve(tmp_path / "data", provider.api_key or "", provider.base_url) as server:
        project_id = json.loads(server.cli("projects", "list", "--json"))[0]["id"]
        paths = httpx.get(f"{server.base}/openapi.json", timeout=30).json()["paths"]
        documented = sum(len(operations) for operations in paths.values())
        run = run_schemathesis(server.base, server.key, tmp_path / "schemathesis",
                               max_examples=CASES, project_id=project_id)
    assert run.operations == documented, run.output[-5000:]
    assert run.clean, f"{run.summary()}\n{run.output[-20000:]}"


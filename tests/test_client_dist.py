"""The Python client (``clients/python``, distribution ``vectorcache-client``) installs alone: it
declares httpx only, imports nothing else outside the standard library, and pip resolves
nothing of the server's for it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients" / "python"
PACKAGE = CLIENT / "src" / "vectorcache_client"
# httpx and what it pulls; nothing else may come with the client
HTTPX_AND_ITS_DEPS = {"httpx", "httpcore", "h11", "anyio", "idna", "certifi", "sniffio",
                      "typing-extensions", "exceptiongroup"}
SERVER_ONLY = ("vectorcache", "fastapi", "starlette", "pydantic", "uvicorn", "numpy",
               "onnxruntime", "faiss", "tokenizers", "torch", "cryptography", "redis")


def _name(requirement: str) -> str:
    for sep in "<>=!~[; ":
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower().replace("_", "-")


def test_the_client_declares_httpx_only() -> None:
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "vectorcache-client"
    assert {_name(r) for r in project["dependencies"]} == {"httpx"}


def test_the_client_imports_the_standard_library_and_httpx_only() -> None:
    allowed = set(sys.stdlib_module_names) | {"httpx", "vectorcache_client", "__future__"}
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], path.name)
    assert set(found) <= allowed, {k: v for k, v in found.items() if k not in allowed}


def test_importing_it_loads_no_server_module() -> None:
    """Imported from its own source folder in a fresh interpreter: nothing of the server loads."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import vectorcache_client as c; "
            "print(c.__file__); print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code, str(PACKAGE.parent)], check=True,
                         capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert out[0].startswith(str(PACKAGE))
    loaded = {m.split(".")[0] for m in out[1].split()}
    assert not loaded & set(SERVER_ONLY), sorted(loaded & set(SERVER_ONLY))


def test_pip_resolves_httpx_and_its_dependencies_only(tmp_path: Path) -> None:
    """What ``pip install clients/python`` would install into an empty environment (pip builds
    the client's metadata from its own folder; ~20 s, most of it asking the index)."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
         "--no-build-isolation", "--retries", "0", "--timeout", "15", "--report", str(report),
         str(CLIENT)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        if "No matching distribution" in done.stderr or "connection" in done.stderr.lower():
            pytest.skip(f"no package index reachable: {done.stderr.strip()[-200:]}")
        raise AssertionError(done.stderr)
    names = {_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]}
    assert "httpx" in names
    assert names - {"vectorcache-client"} <= HTTPX_AND_ITS_DEPS, sorted(names)

"""Issue 22, item 2: the client address comes from the socket peer unless the peer is one of
``trusted_proxies``, whatever command serves the app. Each test starts the real server command
as a subprocess and sends a forged ``X-Forwarded-For`` from loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from click.testing import CliRunner
from served import serve

from vectorcache.cli.main import cli
from vectorcache.security.client_ip import peer_of
from vectorcache.testing import FakeProvider
from vectorcache.testing.loopback import free_port

FORGED = {"X-Forwarded-For": "10.1.2.3"}


def _stats(base: str, key: str, project: str = "default", **headers: str) -> httpx.Response:
    return httpx.get(f"{base}/v1/cache/projects/{project}/stats",
                     headers={"Authorization": f"Bearer {key}", **headers}, timeout=30)


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {"detail": "API key is not allowed from this client IP",
                               "code": "ip_not_allowed"}


def test_peer_of_recognises_a_scope_client_rewritten_from_the_header() -> None:
    assert peer_of(("127.0.0.1", 51234), ["10.1.2.3"]) == "127.0.0.1"
    assert peer_of(("10.1.2.3", 0), ["10.1.2.3"]) is None  # uvicorn: no port in the hop
    assert peer_of(("10.1.2.3", 5555), ["6.6.6.6, 10.1.2.3:5555"]) is None
    assert peer_of(("2001:db8::1", 443), ["[2001:db8::1]:443"]) is None
    assert peer_of(("10.1.2.3", 40000), ["10.1.2.3"]) == "10.1.2.3"  # its own, real port
    assert peer_of(None, ["10.1.2.3"]) is None


def test_ip_allow_lists_cannot_be_bypassed_from_loopback(tmp_path: Path,
                                                     provider: FakeProvider) -> None:
    """``vectorcache serve``: a key limited to 10.0.0.0/8 is refused from 127.0.0.1 even with
    ``X-Forwarded-For: 10.1.2.3`` (trusted_proxies is empty); a key limited to loopback is
    served whatever the header says."""
    with serve(tmp_path / "data", provider.api_key or "", provider.base_url) as served:
        ten = served.new_key("--allow-ip", "10.0.0.0/8")
        _refused(_stats(served.base, ten, **FORGED))
        _refused(_stats(served.base, ten, **{"X-Forwarded-For": "10.1.2.3:5555"}))
        loopback = served.new_key("--allow-ip", "127.0.0.1/32")
        assert _stats(served.base, loopback, **FORGED).status_code == 200


def _start_factory(data_dir: Path) -> Iterator[str]:
    """``uvicorn --factory vectorcache.api.app:create_app`` with uvicorn's defaults: its
    proxy-headers middleware on, believing X-Forwarded-For from 127.0.0.1. Its base URL."""
    env = {**os.environ, "VECTORCACHE_DATA_DIR": str(data_dir), "VECTORCACHE_LOG_LEVEL": "WARNING"}
    env.pop("FORWARDED_ALLOW_IPS", None)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "vectorcache.api.app:create_app",
         "--port", str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    try:
        while True:
            try:
                if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn --factory did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def _cli(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False,
                                env={"VECTORCACHE_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_ip_allow_lists_hold_when_uvicorn_runs_the_factory_with_proxy_headers_on(
        tmp_path: Path) -> None:
    """The server rewrites the scope's client from the header; the app notices (the client is
    one of the header's hops) and counts the request as from an unknown address."""
    data_dir = tmp_path / "data"
    _cli(data_dir, "projects", "create", "default")
    ten = _cli(data_dir, "keys", "create", "--project", "default", "--allow-ip", "10.0.0.0/8")
    loopback = _cli(data_dir, "keys", "create", "--project", "default",
                    "--allow-ip", "127.0.0.1/32")
    for base in _start_factory(data_dir):
        _refused(_stats(base, ten, **FORGED))
        _refused(_stats(base, ten, **{"X-Forwarded-For": "10.1.2.3:5555"}))
        assert _stats(base, loopback).status_code == 200  # the socket peer
        _refused(_stats(base, loopback, **FORGED))  # unknown: refused, never taken as 10.1.2.3

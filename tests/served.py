"""Start the real ``vectorcache serve`` as a subprocess (tier two), and run the CLI against its
data dir. Shared by the gateway and SDK test modules (one server per module)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from click.testing import CliRunner

from vectorcache.apikeys import is_well_formed
from vectorcache.cli.main import cli
from vectorcache.testing.loopback import free_port


@dataclass
class Served:
    base: str
    key: str
    data_dir: Path
    proc: subprocess.Popen[str]
    env: dict[str, str] = field(default_factory=dict)  # the settings it was started with

    def cli(self, *args: str, input: str | None = None) -> str:
        """Run a ``vectorcache`` command on the server's data dir; its stdout."""
        result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False,
                                    env={"VECTORCACHE_DATA_DIR": str(self.data_dir),
                                         "VECTORCACHE_PROVIDER_KEY": None, **self.env})
        assert result.exit_code == 0, result.output
        return result.stdout

    def new_key(self, *args: str, project: str = "default") -> str:
        out = self.cli("keys", "create", "--project", project, *args)
        return out.strip().splitlines()[-1]


@contextmanager
def serve(data_dir: Path, provider_key: str, provider_url: str, *, log_level: str = "WARNING",
          capture_stderr: bool = False, env: dict[str, str] | None = None,
          first_start: bool = True) -> Iterator[Served]:
    """A started server, stopped on exit. On a ``first_start`` its bootstrap key is read from
    stdout; a replica joining a database that already has projects prints none."""
    port = free_port()
    environ = {**os.environ, "VECTORCACHE_DATA_DIR": str(data_dir),
               "OPENAI_API_KEY": provider_key, "OPENAI_BASE_URL": provider_url,
               "VECTORCACHE_LOG_LEVEL": log_level, **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "vectorcache", "serve", "--port", str(port)],
                            env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if capture_stderr else None, text=True)
    assert proc.stdout is not None
    key = ""
    for line in proc.stdout if first_start else ():
        if is_well_formed(line.strip()):
            key = line.strip()
            break
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("vectorcache serve did not start")
        time.sleep(0.1)
    try:
        yield Served(base=base, key=key, data_dir=data_dir, proc=proc, env=dict(env or {}))
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=30)

"""Schemathesis over the server's own OpenAPI document, against a running server.

Used by the CI test (``tests/test_fuzz.py``, ~100 cases per operation) and the long run
(``bench/fuzz.py``, 1,000+). Schemathesis runs as a subprocess (``python -m schemathesis.cli``,
the ``test`` extra installs it), so the package never imports it. The checks are the ones a
document that tells the truth must pass: no 5xx the document does not promise, every status,
content type, header and body as documented.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CHECKS", "FuzzRun", "run_schemathesis"]

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance",
          "allow_header_conformance")


_TOOL_BUG = "SystemError: AST constructor recursion depth mismatch"


@dataclass(frozen=True)
class FuzzRun:
    exit_code: int
    seconds: float
    operations: int
    test_cases: int
    failures: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    output: str

    @property
    def tool_errors(self) -> int:
        """Errors inside the fuzzer itself, not answers of the server: CPython 3.11's parser
        can fail in Hypothesis' description of a strategy (``SystemError: AST constructor
        recursion depth mismatch``); such a case is not run, and is reported, not failed."""
        return min(sum(int(e.get("count", 1)) for e in self.errors
                       if e.get("title") == "Runtime Error"),
                   self.output.count(_TOOL_BUG))

    @property
    def clean(self) -> bool:
        """No failure; no error but the fuzzer's own known one."""
        errors = sum(int(e.get("count", 1)) for e in self.errors)
        return not self.failures and errors == self.tool_errors and (
            self.exit_code == 0 or errors > 0)

    def summary(self) -> str:
        return (f"{self.operations} operations, {self.test_cases} cases, "
                f"{sum(f.get('count', 1) for f in self.failures)} failures, "
                f"{len(self.errors)} errors ({self.tool_errors} in the fuzzer itself), "
                f"{self.seconds:.0f} s")


def _config(path: Path, project_id: str | None) -> Path:
    """A schemathesis.toml naming the project the key belongs to, so the project routes are
    reached (a random id is only ever a 403)."""
    lines = ["[parameters]", f'"path.project_id" = "{project_id}"'] if project_id else []
    path.write_text("\n".join(lines) + "\n")
    return path


def run_schemathesis(base: str, key: str, report_dir: Path, *, max_examples: int,
                     project_id: str | None = None, seed: int = 22, workers: int = 2,
                     timeout: float = 1800, extra: tuple[str, ...] = ()) -> FuzzRun:
    """Fuzz every operation of ``{base}/openapi.json`` with ``key``; the run's findings."""
    report_dir.mkdir(parents=True, exist_ok=True)
    report = report_dir / "schemathesis.json"
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(_config(report_dir / "schemathesis.toml", project_id)),
        "--no-color", "run", f"{base}/openapi.json", "-H", f"Authorization: Bearer {key}",
        "--max-examples", str(max_examples), "--seed", str(seed), "--workers", str(workers),
        "--checks", ",".join(CHECKS), "--request-timeout", "60",
        "--suppress-health-check", "all", "--output-truncate", "true",
        "--report", "json", "--report-json-path", str(report), *extra,
    ]
    start = time.monotonic()
    # in the report folder: Schemathesis keeps its cache (.schemathesis/) in the working dir
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=report_dir)
    seconds = time.monotonic() - start
    data: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
    return FuzzRun(exit_code=done.returncode, seconds=seconds,
                   operations=int(data.get("operations", {}).get("tested", 0)),
                   test_cases=int(data.get("test_cases", {}).get("generated", 0)),
                   failures=list(data.get("failures", [])), errors=list(data.get("errors", [])),
                   output=done.stdout + done.stderr)

"""Schemathesis over the OpenAPI document, the long run (issue 22, item 7): every operation,
``--cases`` generated cases each (1,000 by default), against the real ``vectorcache serve``
with a loopback provider. The CI tier is ``tests/test_fuzz.py`` (100 cases each).

    python -m bench.fuzz [--cases 1000] [--seed 22] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from bench import _common as c
from vectorcache.testing.fuzz import CHECKS, run_schemathesis


def _cli(data_dir: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "VECTORCACHE_DATA_DIR": str(data_dir)}
    env.pop("VECTORCACHE_PROVIDER_KEY", None)
    done = subprocess.run([sys.executable, "-m", "vectorcache", *args], env=env, input=stdin,
                          capture_output=True, text=True, check=True)
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    provider = c.Provider()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp)
            project = json.loads(_cli(data_dir, "projects", "create", "fuzz", "--json"))
            _cli(data_dir, "providers", "set", "--project", "fuzz", "--base-url",
                 provider.base_url, stdin=c.PROVIDER_KEY)
            key = _cli(data_dir, "keys", "create", "--project", "fuzz").strip().splitlines()[-1]
            with c.Server(data_dir) as server:
                run = run_schemathesis(server.base, key, data_dir / "schemathesis",
                                       max_examples=args.cases, project_id=project["id"],
                                       seed=args.seed, workers=args.workers, timeout=6 * 3600)
            log = (data_dir / "server.log").read_text()
    finally:
        provider.stop()
    print(run.summary())
    by_code = Counter({f"{f.get('code')} {f.get('title')}": int(f.get("count", 1))
                       for f in run.failures})
    found = [f"| {name} | {count} |" for name, count in sorted(by_code.items())] or [
        "| none | 0 |"]
    c.write_section("bench/fuzz.py", "\n".join([
        c.header("fuzz.py", f"Schemathesis, seed {args.seed}, {args.workers} workers, all "
                            "phases (examples, coverage, fuzzing, stateful), both generation "
                            "modes (valid and invalid input)."),
        "",
        f"Operations tested: {run.operations}; cases generated: {run.test_cases:,}; "
        f"wall time {run.seconds:.0f} s; checks: {', '.join(CHECKS)}.",
        "",
        "| finding | count |",
        "|---|---|",
        *found,
        "",
        f"Tool errors: {len(run.errors)}. Unhandled errors in the server log: "
        f"{log.count('unhandled')}.",
    ]))
    if not run.clean:
        print(run.output[-20000:])
        sys.exit(1)


if __name__ == "__main__":
    main()

"""pip-audit as a CI gate: no known vulnerability in what Vectorcache installs (its runtime
dependencies and the postgres extra, as pinned in .venv), unless the advisory is explained in
scripts/pip-audit-accepted.txt (one "ID  why" a line).

pip-audit asks PyPI's JSON API per release. Where that service cannot be reached (offline CI,
or a mirror that serves only the project pages), nothing can be audited: the gate says so in
one clear line and passes, rather than failing every build for the network's sake.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED = ROOT / "scripts" / "pip-audit-accepted.txt"
#: a release with published advisories: if the service knows none, it cannot be asked
PROBE = "https://pypi.org/pypi/jinja2/2.4.1/json"


def service_reachable() -> str | None:
    """None when the per-release JSON API answers with advisories, else why not."""
    try:
        with urllib.request.urlopen(PROBE, timeout=10) as answer:
            if json.load(answer).get("vulnerabilities"):
                return None
            return "it lists no advisory for a release known to have some"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} for {PROBE}"
    except (OSError, ValueError) as exc:
        return f"{type(exc).__name__}: {exc}"


def _name(requirement: str) -> str:
    return re.split(r"[\s;\[<>=!~(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def shipped(root: str = "vectorcache", extras: tuple[str, ...] = ("postgres",)) -> dict[str, str]:
    """The installed versions of ``root``'s dependencies, transitively (with ``extras``)."""
    pins: dict[str, str] = {}
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for req in dist.requires or []:
            marker = req.split(";", 1)[1] if ";" in req else ""
            if "extra ==" in marker and not any(f'"{e}"' in marker for e in wanted):
                continue
            dep = _name(req)
            if dep not in pins and dep != root:
                try:
                    pins[dep] = metadata.version(dep)
                except metadata.PackageNotFoundError:
                    continue
                todo.append((dep, ()))
    return pins


def main() -> int:
    why = service_reachable()
    if why is not None:
        print(f"pip-audit: NOT RUN - the vulnerability service is unreachable ({why}); "
              "dependencies were not audited. Run scripts/audit.sh where PyPI is reachable.")
        return 0
    accepted = [line.split()[0] for line in ACCEPTED.read_text().splitlines()
                if line.strip() and not line.startswith("#")] if ACCEPTED.exists() else []
    pins = shipped()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as reqs:
        reqs.write("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    command = [sys.executable, "-m", "pip_audit", "-r", reqs.name, "--no-deps", "--disable-pip",
               "--progress-spinner", "off", "--timeout", "15",
               *[arg for vuln in accepted for arg in ("--ignore-vuln", vuln)]]
    done = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    print(done.stdout.strip() or done.stderr.strip()[-2000:])
    print(f"pip-audit: {len(pins)} shipped dependencies audited, "
          f"{len(accepted)} advisories accepted ({ACCEPTED.name}).")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Create or update .venv at the repository root with Vectorcache installed.
#   scripts/setup-env.sh          runtime only
#   scripts/setup-env.sh test     runtime + test tools
# Re-running is cheap: nothing is reinstalled unless pyproject.toml or constraints.txt changed.
# constraints.txt pins every package installed (scripts/lock-constraints.py writes it from a
# working .venv; run it after changing a dependency), so two installs a month apart match.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.vectorcache-installed${extras:+-$extras}"
want="$(cat pyproject.toml constraints.txt clients/python/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ -n "$extras" ]; then
  # the test and training extras bring torch (training/): the CPU build first, pinned, or
  # sentence-transformers would pull a CUDA one. The server itself never needs it.
  .venv/bin/python -m pip install -q -c constraints.txt torch
fi
target="."
[ -n "$extras" ] && target=".[${extras}]"
# the Python client is its own distribution (clients/python, httpx only); installed beside the
# server, whose `vectorcache.client` re-exports it
.venv/bin/python -m pip install -q -c constraints.txt -e clients/python
.venv/bin/python -m pip install -q -c constraints.txt -e "$target"
echo "$want" > "$stamp"

#!/usr/bin/env bash
# Create or update .venv at the repository root with Vectorcache installed.
#   scripts/setup-env.sh          runtime only
#   scripts/setup-env.sh test     runtime + test tools
# Re-running is cheap: nothing is reinstalled unless pyproject.toml or constraints.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.vectorcache-installed${extras:+-$extras}"
want="$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade pip
# torch first, pinned to the CPU build (sentence-transformers would otherwise pull a CUDA one)
.venv/bin/python -m pip install -q -c constraints.txt torch
target="."
[ -n "$extras" ] && target=".[${extras}]"
.venv/bin/python -m pip install -q -c constraints.txt -e "$target"
echo "$want" > "$stamp"

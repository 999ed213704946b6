#!/usr/bin/env bash
# The static gates CI runs before the tests; any finding fails the build.
#   ruff: the rules selected in pyproject.toml ([tool.ruff.lint])
#   mypy --strict on src/ and the Python client (clients/python/src)
#   lint-imports: the layers of ARCHITECTURE.md ([tool.importlinter] in pyproject.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh test
echo "lint: ruff" >&2
.venv/bin/ruff check src tests bench research training clients/python
echo "lint: mypy --strict src clients/python/src" >&2
.venv/bin/mypy --strict src clients/python/src
echo "lint: import layers" >&2
.venv/bin/lint-imports --no-cache

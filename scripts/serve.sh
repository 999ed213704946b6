#!/usr/bin/env bash
# Quick start: install into .venv (first run only) and serve on the embedded default
# (SQLite file in $VECTORCACHE_DATA_DIR, default ./.vectorcache; local embedding model).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh
exec .venv/bin/vectorcache serve "$@"

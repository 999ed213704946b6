#!/usr/bin/env bash
# Debian packages the tests need: redis-server (real Redis for the shared rate-limit tests)
# and chromium (the console's browser tests, driven by Playwright at /usr/bin/chromium).
# Installed with apt-get when missing; a no-op when present. Without root or apt-get it says so
# and those tests skip.
set -euo pipefail
MISSING=""
command -v redis-server >/dev/null 2>&1 || MISSING="redis-server"
command -v chromium >/dev/null 2>&1 || MISSING="$MISSING chromium"
if [ -z "$MISSING" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: no apt-get here; install redis-server yourself to run the Redis tests" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system-deps: not root and no sudo; install redis-server to run the Redis tests" >&2
    exit 0
  fi
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends $MISSING >/dev/null; }; then
  echo "system-deps: apt-get could not install$MISSING; their tests will skip" >&2
fi

#!/usr/bin/env bash
# The security gates CI runs before the tests:
#   bandit: no high-severity finding in src/ (lower ones are reviewed, and ruff's S rules run too)
#   pip-audit: no known vulnerability in the shipped dependencies, or each one explained in
#   scripts/pip-audit-accepted.txt; says plainly, and passes, when the service is unreachable
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-env.sh test
echo "audit: bandit (high severity fails)" >&2
.venv/bin/bandit -q -r src --severity-level high
echo "audit: pip-audit" >&2
.venv/bin/python scripts/pip_audit_gate.py

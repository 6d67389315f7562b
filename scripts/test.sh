#!/usr/bin/env bash
# Everything CI checks: lint (ruff), types (mypy), then the test suite (pytest) against real
# PostgreSQL scratch instances. Extra arguments go to pytest (e.g. -k store -x; -m "not postgres"
# leaves out every test that needs PostgreSQL server binaries).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check src tests bench scripts devsupport
.venv/bin/ruff format --check src tests bench scripts devsupport
.venv/bin/mypy
.venv/bin/pytest "$@"

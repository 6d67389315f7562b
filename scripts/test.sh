#!/usr/bin/env bash
# Everything CI checks: lint (ruff), types (mypy), then the test suite (pytest) against real
# PostgreSQL scratch instances. Extra arguments go to pytest (e.g. -k store -x).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check src tests bench scripts
.venv/bin/ruff format --check src tests bench scripts
.venv/bin/mypy
.venv/bin/pytest "$@"

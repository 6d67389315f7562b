#!/usr/bin/env bash
# The Reprise demo on the embedded defaults: a plan for the AKIG application written by
# `reprise init`, validated, shown as a recovery strategy and a recovery order, the state
# database it creates (SQLite), then an encrypted, signed backup of a scratch PostgreSQL
# with sample data, listed and verified, restored and drilled, then the same jobs run on
# their schedules by `reprise serve`; then services on loopback
# watched, one stopped, and its alert e-mail received; then a power failure: one incident,
# its recovery order, the services back one by one, the French report. Everything lives in
# a temporary directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"

demo=$(mktemp -d "${TMPDIR:-/tmp}/reprise-demo.XXXXXX")
export REPRISE_STATE_DIR="$demo/state" REPRISE_REPOSITORY="$demo/repository"

if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
say() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }
run() { say "$*"; "$@"; }

run reprise --version
run reprise init "$demo/akig" --example akig-app
run reprise plan validate "$demo/akig"
run reprise plan show "$demo/akig"
run reprise plan order "$demo/akig"
run reprise --plan "$demo/akig" state info
run reprise --plan "$demo/akig" events list

say "Two mistakes in a copy of the plan: a misspelt key, then a misspelt dependency"
sed -e '0,/^    criticality: critical$/s//    criticalty: critical/' \
    "$demo/akig/reprise.yaml" > "$demo/broken.yaml"
reprise plan validate "$demo/broken.yaml" || echo "(exit code $?: 2 means bad input)"
sed -e 's/^    depends_on: \[akig-db\]$/    depends_on: [akig-dbb]/' \
    "$demo/akig/reprise.yaml" > "$demo/broken.yaml"
status=0
reprise plan validate "$demo/broken.yaml" || status=$?
echo "(exit code $status: 2 means bad input)"
[ "$status" -eq 2 ]

say "Backups: a scratch PostgreSQL with sample data, backed up, verified, restored and drilled; then reprise serve runs them on schedule"
python scripts/demo_backup.py "$demo/akig"

say "Monitoring: services on loopback, one stopped, the alert received by e-mail"
python scripts/demo_monitor.py "$demo"

say "Incident: a power failure takes six services down; one incident, the recovery order, the French report"
python scripts/demo_incident.py "$demo"

say "Compliance: the SLA dashboard of a month, a runbook rehearsed on paper, a quick audit"
python scripts/demo_compliance.py "$demo"

printf '\nDemo files: %s\n' "$demo"

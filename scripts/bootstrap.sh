#!/usr/bin/env bash
# Prepare this checkout on a fresh Debian machine: a .venv with Reprise and its development
# tools, and Debian's PostgreSQL server binaries (scratch instances for tests and drills).
# Idempotent: re-running only reinstalls the venv when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian's own interpreter (3.11.2 on Debian 12) is what our users run: build the venv from it
# when it exists, so the suite catches any call that needs a later point release.
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
if [ "$PYTHON" = /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null \
   && [ "$(id -u)" -eq 0 ]; then
  echo "bootstrap: installing Debian's python3-venv…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi

have_pg_server() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null
}
if ! have_pg_server; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: PostgreSQL server binaries are missing; run: sudo apt-get install postgresql" >&2
    exit 1
  fi
  echo "bootstrap: installing Debian's postgresql package (server binaries for scratch instances)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

# Stock tools that docs/restore-without-reprise.md and docs/incidents.md (checking an evidence
# bundle) use; their tests run them.
missing_tools=""
for tool in age zstd jq openssl; do command -v "$tool" >/dev/null || missing_tools="$missing_tools $tool"; done
if [ -n "$missing_tools" ] && [ "$(id -u)" -eq 0 ]; then
  echo "bootstrap: installing Debian's$missing_tools (stock tools the docs use)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing_tools >/dev/null
fi

# The web's tests drive Debian's Chromium through Playwright (Playwright's own browser
# download is not reachable from every machine, and Debian's is what gets security updates).
if ! command -v chromium >/dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "bootstrap: installing Debian's chromium (the web's browser tests)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

stamp=.venv/.bootstrap-stamp
want=$( (cat pyproject.toml; "$PYTHON" --version; command -v "$PYTHON") | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: creating .venv and installing Reprise with its development tools…"
  rm -rf .venv
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 \
    | grep -v "is ignored: it is neither a file nor a directory" || true
  .venv/bin/python -c 'import reprise' # fail here, not later, if the install did not work
  echo "$want" > "$stamp"
fi

# pip and Debian compile an installed package's modules; an editable checkout on a machine
# with PYTHONDONTWRITEBYTECODE=1 would compile ~110 of them from source at every command
# the tests start (0.17 s each). Only changed modules are compiled again.
.venv/bin/python -m compileall -q src >/dev/null

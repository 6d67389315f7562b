"""The ``reprise`` console script: the lean door for PostgreSQL's plain `wal push` and
`wal fetch`, the full CLI for everything else (:mod:`reprise.cli.lean` says why)."""

from __future__ import annotations

import os
import sys


def run() -> None:
    """Console-script entry point. REPRISE_NO_LEAN=1 sends everything through the full CLI
    (to compare the two)."""
    from reprise.cli.lean import main

    try:
        code = None if os.environ.get("REPRISE_NO_LEAN") else main(sys.argv[1:])
    except Exception:  # noqa: BLE001 - the lean door only ever hands over, never fails
        code = None
    if code is None:
        from reprise.cli.main import run as full

        full()
        return
    sys.exit(code)

"""The ``reprise`` console script: the lean door for PostgreSQL's plain `wal push` and
`wal fetch`, the full CLI for everything else (:mod:`reprise.cli.lean` says why)."""

from __future__ import annotations

import os
import sys


def run() -> None:
    """Console-script entry point. REPRISE_NO_LEAN=1 sends everything through the full CLI
    (to compare the two); so does a shell's completion request (``_REPRISE_COMPLETE`` set,
    the words to complete in the environment: :mod:`reprise.cli.shell`)."""
    from reprise.cli.lean import main

    try:
        full_only = os.environ.get("REPRISE_NO_LEAN") or os.environ.get("_REPRISE_COMPLETE")
        code = None if full_only else main(sys.argv[1:])
    except Exception:  # noqa: BLE001 - the lean door only ever hands over, never fails
        code = None
    if code is None:
        from reprise.cli import collector

        collector.console()
        with collector.building():  # the full CLI's modules live until the command ends
            from reprise.cli.main import run as full

        full()
        return
    sys.exit(code)

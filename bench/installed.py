"""Run Reprise as an installed copy runs: with its bytecode.

pip and Debian packages compile a package's modules when they install it; an editable
checkout under ``PYTHONDONTWRITEBYTECODE=1`` (set on some machines) compiles about 110 of
Reprise's modules from source at every start instead, 0.17 s per command on the 2-core
machine: a cost no user pays, which a benchmark of whole processes must not count.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SOURCES = Path(__file__).resolve().parent.parent / "src"


def as_installed() -> None:
    """Compile Reprise's modules (only those changed since) and let the commands this
    benchmark starts keep bytecode as an installed copy does."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(SOURCES)], check=False)

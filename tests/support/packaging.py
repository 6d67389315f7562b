"""The project's own wheel and source distribution, built once per test session from this
checkout.

Built the way a user or a packager builds it (pip, in an isolated build environment with
the build backend pyproject.toml names), so a test installs what would be shipped.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import reprise

CHECKOUT = Path(reprise.__file__).resolve().parents[2]


@functools.cache
def built_wheel() -> Path:
    """The path of the wheel built from the checkout (built on the first call only)."""
    out = Path(tempfile.mkdtemp(prefix="reprise-wheel-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(out),
            str(CHECKOUT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


@functools.cache
def built_sdist() -> Path:
    """The path of the source distribution built from the checkout (first call only), with
    `python -m build --sdist` as a packager runs it: from this interpreter when it has
    `build` (the dev extra), else from a throwaway venv that gets it from the index."""
    out = Path(tempfile.mkdtemp(prefix="reprise-sdist-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    python = Path(sys.executable)
    if importlib.util.find_spec("build") is None:
        venv = out / "venv"
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, timeout=300)
        python = venv / "bin" / "python"
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "build"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        )
    subprocess.run(
        [python, "-m", "build", "--sdist", "--outdir", out / "dist", CHECKOUT],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (sdist,) = (out / "dist").glob("*.tar.gz")
    return sdist

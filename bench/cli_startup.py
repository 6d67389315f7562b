"""How long the CLI takes to answer before doing any work.

Runs each command many times as a fresh process and prints the median and the ratio to
baselines measured in the same run: the bare interpreter (``python -c pass``) and the CLI
framework alone (``import typer``). Target: ``reprise --help`` median under 0.3 s.

    .venv/bin/python bench/cli_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "akig-app" / "reprise.yaml"
TARGET_SECONDS = 0.3


def timed(command: list[str], runs: int) -> list[float]:
    """Wall-clock seconds of ``runs`` executions (after one warm-up run)."""
    subprocess.run(command, capture_output=True, check=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    python = sys.executable
    reprise = [python, "-m", "reprise"]
    cases = {
        "python -c pass (baseline)": [python, "-c", "pass"],
        "import typer (baseline)": [python, "-c", "import typer"],
        "reprise --version": [*reprise, "--version"],
        "reprise --help": [*reprise, "--help"],
        "reprise plan --help": [*reprise, "plan", "--help"],
        "reprise plan validate (akig-app)": [*reprise, "plan", "validate", str(EXAMPLE)],
    }
    medians: dict[str, float] = {}
    p90s: dict[str, float] = {}
    for name, command in cases.items():
        samples = timed(command, runs)
        medians[name] = statistics.median(samples)
        p90s[name] = statistics.quantiles(samples, n=10)[-1]
    base = medians["python -c pass (baseline)"]
    print(f"{'command':<36} {'median':>9} {'× python':>9} {'p90':>9}")
    for name, median in medians.items():
        print(
            f"{name:<36} {median * 1000:>7.0f}ms {median / base:>8.1f}× {p90s[name] * 1000:>7.0f}ms"
        )
    help_median = medians["reprise --help"]
    verdict = "OK" if help_median < TARGET_SECONDS else "OVER TARGET"
    print(
        f"\nreprise --help: median {help_median * 1000:.0f} ms over {runs} runs "
        f"(target < {TARGET_SECONDS * 1000:.0f} ms): {verdict}"
    )
    return 0 if help_median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())

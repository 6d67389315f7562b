"""The compliance part of the demo: the SLA dashboard of a month (a synthetic November of
a database and a mail server: outages, a maintenance window, two hours without data, a
3-hour hole in the backups, two drills, a power cut) in French, then written as HTML with
its 12-month chart; a dry run of the akig "data loss" runbook, and a quick audit of the
demo's akig plan (its example hosts do not exist here: it says so, item by item).

    python scripts/demo_compliance.py DEMO_DIR
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devsupport import sla_month
from reprise.plan.loader import load_plan
from reprise.usecases.state import open_state

BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def reprise(plan: Path, *args: str) -> int:
    """Run and show a reprise command; return its exit code."""
    print(f"\n{BOLD}$ reprise --plan {plan.parent.name} {' '.join(args)}{PLAIN}", flush=True)
    return subprocess.run(["reprise", "--plan", str(plan), *args], check=False).returncode


def main() -> None:
    demo = Path(sys.argv[1])
    folder = demo / "sla"
    subprocess.run(
        ["reprise", "init", str(folder), "--example", "minimal"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    plan = sla_month.write_plan(folder)
    with open_state(load_plan(plan)) as store:
        sla_month.write_month(store)
    assert reprise(plan, "sla", "--period", "2026-11", "--format", "md") == 0
    page = folder / "sla-2026-11.html"
    assert reprise(plan, "sla", "--period", "2026-11", "-o", str(page)) == 0

    akig = demo / "akig" / "reprise.yaml"
    assert reprise(akig, "runbook", "run", "data-loss", "--dry-run", "--exercise") == 0
    status = reprise(akig, "audit", "--quick", "--service", "akig-db")
    print(f"(exit code {status}: 3 means not compliant; the example's hosts are made up)")
    assert status == 3, status


if __name__ == "__main__":
    main()

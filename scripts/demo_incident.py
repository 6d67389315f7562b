"""The incident part of the demo: the seed's six elements as services on loopback, watched by
`reprise monitor`; the power goes out (every service stops at once), the monitor opens one
incident with all of them; `incident plan` and `incident next` give the recovery order and
who does what; the services come back one by one in that order; the incident is closed and
its French report printed.

    python scripts/demo_incident.py DEMO_DIR
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devsupport.peers import SwitchableListener, smtp_server
from devsupport.seed import SEED, wait_until, write_seed_plan

BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def reprise(plan: Path, *args: str) -> int:
    """Run and show a reprise command; return its exit code."""
    print(f"\n{BOLD}$ reprise --plan {plan.parent.name} {' '.join(args)}{PLAIN}", flush=True)
    return subprocess.run(["reprise", "--plan", str(plan), *args], check=False).returncode


def quietly(plan: Path, *args: str) -> object:
    """A reprise command's JSON output, not shown."""
    result = subprocess.run(
        ["reprise", "--plan", str(plan), *args], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def main() -> None:
    """Run the incident demo in DEMO_DIR."""
    demo = Path(sys.argv[1])
    plan = demo / "incident" / "reprise.yaml"
    plan.parent.mkdir(parents=True, exist_ok=True)
    listeners = {service_id: SwitchableListener() for service_id in SEED}
    for listener in listeners.values():
        listener.start()
    with smtp_server() as (smtp, _mailbox):
        contact = f"mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=equipe@infra.test"
        write_seed_plan(plan, {s: listener.port for s, listener in listeners.items()}, contact)
        print(
            f"\n{BOLD}$ reprise --plan incident monitor --quiet{PLAIN}   (in the background)",
            flush=True,
        )
        monitor = subprocess.Popen(
            ["reprise", "--plan", str(plan), "monitor", "--quiet"], env={**os.environ}
        )
        try:
            time.sleep(3)
            print(f"\n{BOLD}Power failure: the six machines stop at once.{PLAIN}", flush=True)
            for listener in listeners.values():
                listener.stop()

            def grouped() -> bool:
                found = quietly(plan, "incident", "list", "--json")["incidents"]  # type: ignore[index]
                return bool(found) and len(found[0]["services"]) == 6

            wait_until(grouped, 30, "one incident with the six services")
            reprise(plan, "incident", "list")
            reprise(plan, "incident", "plan", "1")
            reprise(plan, "incident", "next", "1")
            entries = quietly(plan, "incident", "plan", "1", "--json")["order"]  # type: ignore[index]
            order = [entry["service"] for entry in entries]
            manual = {
                entry["service"]: [t["id"] for t in entry["tasks"] if t["kind"] == "manual"]
                for entry in entries
            }
            for service_id in order:
                print(f"\n{BOLD}{service_id} is repaired and starts again.{PLAIN}", flush=True)
                for task in manual[service_id]:  # the responder records what was done
                    reprise(plan, "incident", "task", "1", str(task), "done", "--by", "Mohamed")
                listeners[service_id].start()

                def back(service: str = service_id) -> bool:
                    shown = quietly(plan, "incident", "show", "1", "--json")
                    return any(
                        s["service"] == service and s["state"] == "up" for s in shown["services"]
                    )  # type: ignore[index]

                wait_until(back, 20, f"{service_id} back up")
                if service_id == order[0]:
                    reprise(plan, "incident", "next", "1")
            reprise(
                plan,
                "incident",
                "note",
                "1",
                "Onduleur du local technique remplacé",
                "--by",
                "Mohamed",
            )
        except TimeoutError as error:
            raise SystemExit(f"demo: {error}") from None
        finally:
            monitor.send_signal(signal.SIGTERM)
            monitor.wait(timeout=30)
            for listener in listeners.values():
                listener.stop()
        if monitor.returncode != 0:
            raise SystemExit(f"the monitor exited with {monitor.returncode}")
        if (
            reprise(
                plan,
                "incident",
                "close",
                "1",
                "--by",
                "Mohamed",
                "--note",
                "Courant rétabli, tous les éléments fonctionnent",
            )
            != 0
        ):
            raise SystemExit("demo: closing the incident failed")
    reprise(plan, "incident", "report", "1")


if __name__ == "__main__":
    main()

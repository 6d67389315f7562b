"""The backup part of the demo: a scratch PostgreSQL with AKIG-like data, then the real
`reprise` commands on it (repo init, backup run, list, verify, restore into a new
database, a drill with its RTO), shown as typed.

    python scripts/demo_backup.py PLAN_DIR
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from reprise.pg.scratch import ScratchPostgres

SAMPLE = """
CREATE TABLE customers (id serial PRIMARY KEY, name text, email text UNIQUE);
CREATE TABLE invoices (id bigserial PRIMARY KEY, customer int REFERENCES customers,
                       amount numeric(12,2), created_at timestamptz DEFAULT now(), note text);
INSERT INTO customers (name, email)
  SELECT 'Client ' || i, 'client' || i || '@exemple.fr' FROM generate_series(1, 5000) i;
INSERT INTO invoices (customer, amount, created_at, note)
  SELECT 1 + i % 5000, round((random() * 2000)::numeric, 2),
         now() - (i || ' minutes')::interval, 'Facture n° ' || i || ' réglée'
  FROM generate_series(1, 200000) i;
CREATE ROLE akig_app LOGIN;
"""


def show(*args: str, env: dict[str, str]) -> None:
    """Print the command as typed, then run it (its output goes to the terminal)."""
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}$ reprise {' '.join(args)}{plain}", flush=True)
    subprocess.run([sys.executable, "-m", "reprise", *args], env=env, check=True)


def main() -> None:
    """Start the scratch server, load the sample, back it up, list and verify."""
    plan = Path(sys.argv[1])
    base = Path(tempfile.mkdtemp(prefix="reprise-demo-pg-"))
    base.chmod(0o711)
    try:
        run_demo(plan, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_demo(plan: Path, base: Path) -> None:
    """The demo proper, inside the scratch server's lifetime."""
    import psycopg

    with ScratchPostgres(base_dir=base) as server:
        with psycopg.connect(server.dsn(), autocommit=True) as connection:
            connection.execute("CREATE DATABASE akig")
        with psycopg.connect(server.dsn("akig"), autocommit=True) as connection:
            connection.execute(SAMPLE)  # type: ignore[arg-type]
        print(
            f"\nA scratch PostgreSQL on port {server.port} with the database akig "
            "(5,000 customers, 200,000 invoices).",
            flush=True,
        )
        env = {**os.environ, "AKIG_DB_DSN": server.dsn()}
        show("--plan", str(plan), "keys", "show", env=env)
        show("--plan", str(plan), "repo", "init", "local", env=env)
        show(
            "--plan", str(plan), "backup", "run", "akig-db", "--source", "akig-db-postgres", env=env
        )
        show("--plan", str(plan), "backup", "list", env=env)
        show(
            "--plan",
            str(plan),
            "backup",
            "verify",
            "--all",
            "--deep",
            "--repository",
            "local",
            env=env,
        )
        show("--plan", str(plan), "events", "list", "--kind", "backup", env=env)
        target = server.dsn()
        show(
            "--plan",
            str(plan),
            "restore",
            "akig-db",
            "--target",
            target,
            "--database",
            "akig",
            "--as",
            "akig_restored",
            "--dry-run",
            env=env,
        )
        show(
            "--plan",
            str(plan),
            "restore",
            "akig-db",
            "--target",
            target,
            "--database",
            "akig",
            "--as",
            "akig_restored",
            env=env,
        )
        with psycopg.connect(server.dsn("akig_restored")) as connection:
            row = connection.execute("SELECT count(*) FROM invoices").fetchone()
        print(f"akig_restored holds {row[0] if row else 0} invoices, as akig does.")
        show("--plan", str(plan), "drill", "akig-db", env=env)
        show("--plan", str(plan), "drill", "list", env=env)
        run_service(plan, env)


SERVICE_PLAN = """\
# The same database under `reprise serve`, on schedules of seconds for the demo.
version: 1
organisation: {name: AKIG, language: fr, timezone: Europe/Paris}
objectives: {rpo: 1h, rto: 30m, uptime: 99.9%}
repositories:
  local: {kind: local, path: "${REPRISE_REPOSITORY}"}
keys: {recipients_file: keys/recipients.txt, identity: keys/identity.txt,
       signing_key: keys/signing.key}
verification: {schedule: "* * * * * */15", budget: 100%}
pruning: {schedule: "* * * * * */30"}
services:
  - id: akig-db
    name: Base PostgreSQL AKIG
    category: base de données
    criticality: critical
    backups:
      - {kind: postgres, dsn: "${AKIG_DB_DSN}", databases: [akig], repository: local,
         schedule: "* * * * * */20", retention: {keep_last: 5}}
    drill: {schedule: "* * * * * */30"}
"""
"""Every 20 s a backup, every 30 s a drill and a pruning, every 15 s a verification."""


def run_service(plan: Path, env: dict[str, str]) -> None:
    """`reprise serve` running the scheduled backup, drill, verification and pruning, with
    `reprise schedule` before and after."""
    import json
    import signal
    import time

    service_plan = plan / "service.yaml"
    service_plan.write_text(SERVICE_PLAN)
    service_plan.chmod(0o600)
    print(f"\nThe service: {service_plan}, schedules of seconds.", flush=True)
    show("--plan", str(service_plan), "schedule", env=env)
    bold, plain = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")
    print(f"\n{bold}$ reprise --plan {service_plan} serve &{plain}", flush=True)
    service = subprocess.Popen(
        [sys.executable, "-m", "reprise", "--plan", str(service_plan), "serve"], env=env
    )
    wanted = {"backup:akig-db-postgres", "drill:akig-db", "verify:local"}
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            time.sleep(2)
            command = ["jobs", "list", "--json"]
            listed = subprocess.run(
                [sys.executable, "-m", "reprise", "--plan", str(service_plan), *command],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            done = {run["job"] for run in json.loads(listed.stdout) if run["status"] == "ok"}
            if wanted <= done:
                break
        else:
            raise SystemExit(f"demo: the service did not run {sorted(wanted)} in 5 minutes")
        show("--plan", str(service_plan), "serve", "status", env=env)
    finally:
        print(f"\n{bold}$ kill -TERM {service.pid}{plain}", flush=True)
        service.send_signal(signal.SIGTERM)
        service.wait(120)
    show("--plan", str(service_plan), "schedule", env=env)
    show("--plan", str(service_plan), "jobs", "list", env=env)


if __name__ == "__main__":
    main()

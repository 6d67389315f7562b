"""What people see of the CLI: times in the plan's zone and language, labelled (JSON in UTC),
`--quiet` and `--verbose`, and `alert test` contact by contact within its bound."""

from __future__ import annotations

import json
import os
import pty
import re
import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from reprise.pg.scratch import ConnectionInfo
from tests.conftest import run_reprise
from tests.support.backups import ECHO_SOURCE, World, sample_database
from tests.support.peers import free_port, smtp_server

ENGLISH_TIME = re.compile(r"\b(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (CET|CEST)\b")
FRENCH_TIME = re.compile(r"\b(\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}) (CET|CEST)\b")


def backed_up(world: World, cli: Any) -> dict[str, Any]:
    """A plan in Europe/Paris with one completed backup; that backup as `--json` lists it."""
    world.write_plan(ECHO_SOURCE)
    assert cli("--plan", world.plan, "repo", "init").exit_code == 0
    assert cli("--plan", world.plan, "backup", "run", "app").exit_code == 0
    listed = cli("--plan", world.plan, "backup", "list", "--json")
    (entry,) = json.loads(listed.stdout)
    return dict(entry)


def in_paris(utc_text: str) -> datetime:
    moment = datetime.fromisoformat(utc_text)
    assert moment.utcoffset() is not None and moment.utcoffset().total_seconds() == 0
    return moment.astimezone(ZoneInfo("Europe/Paris"))


def test_lists_show_the_plans_zone_labelled_and_json_stays_in_utc(world: World, cli: Any) -> None:
    entry = backed_up(world, cli)
    finished = in_paris(entry["finished_at"])  # JSON: UTC ISO 8601 with its offset

    listing = cli("--plan", world.plan, "backup", "list").stdout
    assert f"{finished:%Y-%m-%d %H:%M:%S} {finished:%Z}" in listing
    assert "UTC" not in listing
    events = cli("--plan", world.plan, "events", "list").stdout
    assert ENGLISH_TIME.search(events), events
    (event, *_) = json.loads(cli("--plan", world.plan, "events", "list", "--json").stdout)
    assert in_paris(event["time"])  # UTC with "+00:00"

    french = world.plan.read_text().replace("{name: Test,", "{name: Test, language: fr,")
    world.plan.write_text(french)
    listing = cli("--plan", world.plan, "backup", "list").stdout
    assert f"{finished:%d/%m/%Y %H:%M:%S} {finished:%Z}" in listing
    shown = cli("--plan", world.plan, "backup", "show", entry["id"]).stdout
    assert len(FRENCH_TIME.findall(shown)) == 2, shown  # started → finished, both labelled


def test_quiet_says_nothing_on_success_and_verbose_shows_info_logs(world: World, cli: Any) -> None:
    world.write_plan(ECHO_SOURCE)
    assert cli("--plan", world.plan, "repo", "init").exit_code == 0
    normal = cli("--plan", world.plan, "backup", "run", "app")
    assert normal.exit_code == 0 and "✓" in normal.stdout

    quiet = cli("--quiet", "--plan", world.plan, "backup", "run", "app")
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (0, "", "")
    listed = cli("-q", "--plan", world.plan, "backup", "list")
    assert listed.stdout.count("app-command") == 2  # the result itself is still shown

    verbose = cli("-v", "--plan", world.plan, "backup", "run", "app")
    assert verbose.exit_code == 0 and "✓" in verbose.stdout
    assert "INFO reprise.backup: backup " in verbose.stderr
    assert "  output.txt.zst.age: " in verbose.stderr and "sha256 " in verbose.stderr  # parts
    assert "sha256 " not in normal.stdout + normal.stderr
    # an explicit --log-level wins over what --verbose implies
    pinned = cli("-v", "--log-level", "warning", "--plan", world.plan, "backup", "run", "app")
    assert pinned.exit_code == 0 and "INFO" not in pinned.stderr

    both = cli("-q", "-v", "--plan", world.plan, "backup", "list")
    assert both.exit_code == 2 and "cannot go together" in both.stderr


def write_contacts_plan(path: Path, contacts: list[str]) -> Path:
    quoted = ", ".join(json.dumps(contact) for contact in contacts)
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: fr, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        roles:
          - id: oncall
            title: Astreinte
            permission: admin
            members: [{{name: Ops, contacts: [{quoted}]}}]
        alerting:
          delivery: {{attempts: 4, backoff: 5s, timeout: 30s}}
        services:
          - {{id: app, name: App, category: application, criticality: minor}}
        """)
    )
    return path


def test_alert_test_shows_each_contact_and_ends_within_its_bound(tmp_path: Path) -> None:
    silent = socket.socket()  # accepts connections (the kernel does) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        with smtp_server() as (smtp, mailbox):
            plan = write_contacts_plan(
                tmp_path / "reprise.yaml",
                [
                    f"mailto://127.0.0.1:{smtp}?from=reprise@akig.test&to=oncall@akig.test",
                    f"mailto://127.0.0.1:{free_port()}?from=reprise@akig.test&to=closed@akig.test",
                    f"mailto://127.0.0.1:{silent.getsockname()[1]}"
                    "?from=reprise@akig.test&to=silent@akig.test",
                    "mailtos://reprise:secret@smtp.example.org?to=technicien1@example.org",
                    "json://hooks.example.org/reprise",
                ],
            )
            started = time.monotonic()
            result = run_reprise("--plan", plan, "alert", "test", "--timeout", "2s", timeout=60)
            took = time.monotonic() - started
            assert mailbox.wait_for(1, timeout=5)
    finally:
        silent.close()
    # the plan says 4 tries of 30 s with backoff; the test tries each contact once, 2 s at most
    assert took < 30, took
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 6, result.stdout  # a line per contact, then the summary
    reached, closed, silent_line, placeholder, webhook, summary = lines
    # the plan is French: so are the verdicts, the seconds and the summary
    assert "Ops <oncall@akig.test> (mailto)" in reached and "envoyé" in reached
    assert "closed@akig.test" in closed and "ÉCHEC\u202f: Connection error" in closed
    assert "silent@akig.test" in silent_line and "no answer within 2 s" in silent_line
    assert "smtp.example.org is a placeholder" in placeholder and "(0,0 s)" in placeholder
    assert "(json)" in webhook and "hooks.example.org is a placeholder" in webhook
    assert "secret" not in result.stdout
    assert summary.startswith("Contacts joints\u202f: 1 sur 5, 4 en échec (")

    as_json = run_reprise("--plan", plan, "alert", "test", "oncall", "--timeout", "1s", "--json")
    rows = json.loads(as_json.stdout)
    assert [row["ok"] for row in rows] == [False] * 5  # the SMTP server is gone now
    assert all(row["at"].endswith("+00:00") and "seconds" in row for row in rows)


def test_alert_test_speaks_the_plans_language_quiet_or_not(tmp_path: Path) -> None:
    with smtp_server() as (smtp, mailbox):
        contacts = [
            f"mailto://127.0.0.1:{smtp}?from=reprise@akig.test&to=oncall@akig.test",
            f"mailto://127.0.0.1:{free_port()}?from=reprise@akig.test&to=closed@akig.test",
        ]
        plan = write_contacts_plan(tmp_path / "reprise.yaml", contacts)
        french = run_reprise("--plan", plan, "alert", "test", "--timeout", "5s", timeout=60)
        quiet = run_reprise("-q", "--plan", plan, "alert", "test", "--timeout", "5s", timeout=60)
        plan.write_text(plan.read_text().replace("language: fr", "language: en"))
        english = run_reprise("--plan", plan, "alert", "test", "--timeout", "5s", timeout=60)
        assert mailbox.wait_for(3, timeout=5)
    assert (french.returncode, quiet.returncode, english.returncode) == (1, 1, 1)

    reached, closed, summary = french.stdout.splitlines()
    assert re.search(r"<oncall@akig\.test> \(mailto\) … envoyé \(\d+,\d s\)$", reached)
    assert "<closed@akig.test> (mailto) … ÉCHEC\u202f: " in closed
    assert re.fullmatch(r"Contacts joints\u202f: 1 sur 2, 1 en échec \(\d+,\d s\)\.", summary)
    # --quiet: the failures and the summary only, in French too
    failure, summary = quiet.stdout.splitlines()
    assert failure.startswith("oncall Ops <closed@akig.test>\u202f: ÉCHEC\u202f: ")
    assert re.search(r" \(\d+,\d s\)$", failure)
    assert summary.startswith("Contacts joints\u202f: 1 sur 2, 1 en échec")

    reached, closed, summary = english.stdout.splitlines()
    assert re.search(r"<oncall@akig\.test> \(mailto\) … sent \(\d+\.\d s\)$", reached)
    assert "<closed@akig.test> (mailto) … FAILED: " in closed
    assert re.fullmatch(r"1 of 2 contacts reached, 1 failed \(\d+\.\d s\)\.", summary)


def test_a_dump_on_a_terminal_shows_the_database_size_as_its_estimated_total(
    world: World, postgres: ConnectionInfo
) -> None:
    database = sample_database(postgres, "ux_progress")
    world.write_plan(f"""\
        - kind: postgres
          dsn: "{postgres.dsn()}"
          databases: [{database}]
          globals: false
          repository: local
          schedule: "@hourly"
          retention: {{keep_last: 2}}
        """)
    assert world.reprise("repo", "init").returncode == 0
    main_fd, terminal = pty.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "reprise", "--plan", str(world.plan), "backup", "run", "app"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, **world.env, "COLUMNS": "200", "TERM": "xterm"},
    )
    os.close(terminal)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert child.wait(timeout=120) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert f"db-{database}.pgdump" in text
    assert re.search(r"/ ~\d+(\.\d)? [kM]B", text), text  # done / ~the database's size
    assert "✓" in text

"""Runbooks as the real program runs them: a failing step stops the run and the next run
resumes there; people confirm manual steps; commands are timed out; parameters cannot
inject shell; wait_check follows a real listener; notify reaches a real SMTP server; the
evidence bundle is signed and checkable with stock tools."""

from __future__ import annotations

import json
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import psycopg

from reprise.incidents.evidence import verify_evidence
from reprise.incidents.records import get_incident
from reprise.incidents.runs import runs_of
from reprise.pg.scratch import ConnectionInfo
from reprise.repository.keys import generate_signing_key
from reprise.store import open_store
from tests.conftest import run_reprise
from tests.support.backups import World, sample_database
from tests.support.peers import SwitchableListener, body_of, smtp_server, subject_of


def write_plan(
    tmp_path: Path,
    steps: str,
    *,
    port: int = 9,
    contact: str = "json://127.0.0.1:9/x",
    parameters: str = "[]",
) -> Path:
    key = generate_signing_key()
    (tmp_path / "signing.key").write_bytes(key.private_pem)
    (tmp_path / "signing.key").chmod(0o600)
    plan = tmp_path / "reprise.yaml"
    plan.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: fr, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        roles:
          - id: lead
            title: Responsable
            permission: admin
            members: [{{name: Ops, contacts: ["{contact}"]}}]
        alerting: {{delivery: {{attempts: 1, timeout: 5s}}}}
        keys: {{signing_key: signing.key}}
        state: {{dir: {tmp_path / "state"}}}
        services:
          - id: app
            name: Application
            category: application
            criticality: critical
            owner: lead
            checks: [{{kind: tcp, host: 127.0.0.1, port: {port}, interval: 1s,
                      timeout: 500ms, retries: 0}}]
        scenarios:
          - id: recover
            title: Reprise de l'application
            parameters: {parameters}
            steps:
        """)
        + textwrap.indent(textwrap.dedent(steps), "      ")
    )
    return plan


def reprise(plan: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_reprise("--plan", plan, *args, timeout=timeout)


def test_a_failed_step_stops_the_run_and_the_next_run_resumes_there(tmp_path: Path) -> None:
    flag, counter = tmp_path / "fixed", tmp_path / "counter"
    plan = write_plan(
        tmp_path,
        f"""\
        - {{kind: command, title: Compter, command: "echo run >> {counter}"}}
        - {{kind: command, title: "Réparé ?",
           command: "test -f {flag} || (echo 'pas encore'; exit 3)"}}
        - {{kind: command, title: Fin, command: "echo terminé"}}
        """,
    )
    assert (
        reprise(plan, "incident", "open", "Panne application", "--services", "app").returncode == 0
    )
    first = reprise(plan, "runbook", "run", "recover", "--incident", "1")
    assert first.returncode == 1, first.stderr
    assert "step 2 failed" in first.stdout and "exit 3 (expected 0): pas encore" in first.stdout
    assert "runbook run recover --incident 1" in first.stdout

    flag.touch()
    second = reprise(plan, "runbook", "run", "recover", "--incident", "1", "--json")
    assert second.returncode == 0, second.stderr
    run = json.loads(second.stdout)
    assert run["status"] == "done"
    assert [(s["step"], s["status"]) for s in run["steps"]] == [
        (1, "done"),
        (2, "failed"),
        (2, "done"),
        (3, "done"),
    ]
    assert counter.read_text().count("run") == 1  # step 1 was not run again
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'reprise.db'}")
    incident = get_incident(store, 1)
    runbook_lines = [e.text for e in incident.timeline if e.kind == "runbook"]
    assert runbook_lines[0] == "runbook recover started (Reprise de l'application)"
    assert any("step 2/3 (Réparé ?): failed in" in line for line in runbook_lines)
    assert runbook_lines[-1] == "runbook recover finished"
    failed = next(e for e in incident.timeline if "failed in" in e.text)
    assert "pas encore" in failed.details["output"]
    report = reprise(plan, "incident", "report", "1", "--kind", "final")
    assert "Runbooks exécutés" in report.stdout and "Réparé ?" in report.stdout


def test_manual_steps_wait_for_a_person_and_yes_confirms(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        """\
        - {kind: manual, text: "Vérifier l'alimentation"}
        - {kind: command, command: "true"}
        """,
    )
    waiting = reprise(plan, "runbook", "run", "recover")
    assert waiting.returncode == 4
    assert "waits for a person" in waiting.stdout
    done = reprise(plan, "runbook", "run", "recover", "--yes", "--by", "Mohamed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "confirmed by Mohamed" in done.stdout


def test_commands_are_killed_at_their_timeout(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        """\
        - {kind: command, command: "sleep 60 & sleep 60", timeout: 1s}
        """,
    )
    started = time.monotonic()
    result = reprise(plan, "runbook", "run", "recover")
    assert result.returncode == 1
    assert "still running after 1 s" in result.stdout
    assert time.monotonic() - started < 20


def test_parameters_cannot_inject_shell_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    plan = write_plan(
        tmp_path,
        """\
        - {kind: command, command: "echo {{ host }}"}
        """,
        parameters="[{name: host, description: Hôte à redémarrer}]",
    )
    missing = reprise(plan, "runbook", "run", "recover")
    assert missing.returncode == 2 and "needs --param host=" in missing.stderr
    unknown = reprise(plan, "runbook", "run", "recover", "--param", "port=1")
    assert unknown.returncode == 2 and "has no parameter 'port'" in unknown.stderr
    hostile = reprise(plan, "runbook", "run", "recover", "--param", f"host=x; touch {marker}")
    assert hostile.returncode == 2
    assert "cannot go into a shell command; nothing was run" in hostile.stderr
    assert not marker.exists()
    needs_incident = write_plan(
        tmp_path,
        """\
        - {kind: command, command: "echo {{ incident }}"}
        """,
    )
    result = reprise(needs_incident, "runbook", "run", "recover")
    assert result.returncode == 2 and "give --incident N" in result.stderr
    assert reprise(plan, "runbook", "run", "nope").returncode == 2


def test_wait_check_follows_the_service_and_marks_it_up_in_the_incident(tmp_path: Path) -> None:
    service = SwitchableListener()
    plan = write_plan(
        tmp_path,
        """\
        - {kind: wait_check, service: app, timeout: 3s}
        """,
        port=service.port,
    )
    assert reprise(plan, "incident", "open", "Panne", "--services", "app").returncode == 0
    down = reprise(plan, "runbook", "run", "recover", "--incident", "1")
    assert down.returncode == 1 and "app still down after 3 s" in down.stdout
    service.start()
    try:
        up = reprise(plan, "runbook", "run", "recover", "--incident", "1")
    finally:
        service.stop()
    assert up.returncode == 0, up.stdout
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'reprise.db'}")
    entry = get_incident(store, 1).affected("app")
    assert entry is not None and entry.state == "up" and entry.resolved_at is not None


def test_notify_reaches_the_roles_by_email(tmp_path: Path) -> None:
    with smtp_server() as (port, mailbox):
        plan = write_plan(
            tmp_path,
            """\
            - {kind: notify, roles: [lead], text: "Reprise en cours (incident {{ incident }})"}
            """,
            contact=f"mailto://127.0.0.1:{port}?from=reprise@akig.test&to=ops@akig.test",
        )
        assert reprise(plan, "incident", "open", "Panne").returncode == 0
        result = reprise(plan, "runbook", "run", "recover", "--incident", "1")
        assert result.returncode == 0, result.stdout + result.stderr
        message = mailbox.wait_for(1, 10)[0]
    assert "Reprise en cours (incident 1)" in subject_of(message)
    assert "Incident 1\u202f: Panne" in body_of(message)


def test_notify_fails_the_step_when_nobody_gets_it(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        """\
        - {kind: notify, roles: [lead], text: "Reprise en cours"}
        """,
        contact="json://127.0.0.1:9/hook",
    )
    result = reprise(plan, "runbook", "run", "recover")
    assert result.returncode == 1
    assert "no notification delivered" in result.stdout


def test_evidence_bundle_is_signed_and_checkable_with_stock_tools(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "nginx").mkdir(parents=True)
    (logs / "auth.log").write_text("Failed password for root from 203.0.113.9\n")
    (logs / "nginx" / "access.log").write_text("GET /admin 403\n")
    (logs / "nginx" / "error.log").write_text("denied\n")
    plan = write_plan(
        tmp_path,
        f"""\
        - kind: evidence
          paths: [{logs / "auth.log"}, "{logs / "nginx"}/*.log", {logs / "absent.log"}]
        """,
    )
    assert reprise(plan, "incident", "open", "Intrusion").returncode == 0
    result = reprise(plan, "runbook", "run", "recover", "--incident", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 file(s) preserved" in result.stdout and "not found:" in result.stdout
    [bundle] = list((tmp_path / "state" / "evidence").iterdir())
    manifest: dict[str, Any] = verify_evidence(bundle)
    assert manifest["incident"] == 1 and len(manifest["files"]) == 3
    assert manifest["missing"] == [str(logs / "absent.log")]
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=bundle, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout
    signature = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "signing-key.pub.pem",
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.json.sig",
        ],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=False,
    )
    assert signature.returncode == 0, signature.stdout + signature.stderr
    assert reprise(plan, "runbook", "verify-evidence", str(bundle)).returncode == 0

    stored = next(bundle.joinpath("files").rglob("auth.log"))
    stored.write_text("nothing to see\n")
    tampered = reprise(plan, "runbook", "verify-evidence", str(bundle))
    assert tampered.returncode == 3 and "SHA-256 differs" in tampered.stderr
    stored.write_text("Failed password for root from 203.0.113.9\n")
    manifest_path = bundle / "manifest.json"
    manifest_path.write_text(manifest_path.read_text().replace('"incident": 1', '"incident": 2'))
    forged = reprise(plan, "runbook", "verify-evidence", str(bundle))
    assert forged.returncode == 3 and "signature does not match" in forged.stderr


def test_runbook_list_shows_scenarios(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path,
        """\
        - {kind: manual, text: "Vérifier"}
        """,
    )
    listed = json.loads(reprise(plan, "runbook", "list", "--json").stdout)
    assert listed["scenarios"][0]["id"] == "recover"
    assert listed["scenarios"][0]["steps"] == [{"kind": "manual", "title": "Vérifier"}]
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'reprise.db'}")
    assert runs_of(store) == []


def test_a_restore_step_waits_for_confirmation_then_restores_beside_the_live_data(
    world: World, postgres: ConnectionInfo
) -> None:
    sample_database(postgres, "rb_live", rows=300)
    world.write_plan(f"""\
        - kind: postgres
          dsn: "{postgres.dsn()}"
          databases: [rb_live]
          repository: local
          schedule: "@hourly"
          retention: {{keep_last: 2}}
        """)
    with world.plan.open("a", encoding="utf-8") as plan:
        plan.write(
            textwrap.dedent(f"""\
            scenarios:
              - id: data-loss
                title: Perte de données
                steps:
                  - {{kind: restore, service: app, backup: latest, target: "{postgres.dsn()}",
                     only: rb_live, as: rb_restored}}
            """)
        )
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('DROP DATABASE IF EXISTS "rb_restored"')
    waiting = world.reprise("runbook", "run", "data-loss")
    assert waiting.returncode == 4, waiting.stdout + waiting.stderr
    with psycopg.connect(postgres.dsn()) as connection:
        assert (
            connection.execute("SELECT 1 FROM pg_database WHERE datname = 'rb_restored'").fetchone()
            is None
        )  # nothing before confirmation
    done = world.reprise("runbook", "run", "data-loss", "--yes", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    steps = json.loads(done.stdout)["steps"]
    assert [s["status"] for s in steps] == ["waiting", "done"]
    assert "restore of app" in steps[-1]["message"] and "report" in steps[-1]["message"]
    counts = []
    for database in ("rb_live", "rb_restored"):
        with psycopg.connect(postgres.dsn(database)) as connection:
            counts.append(
                connection.execute("SELECT count(*), sum(amount) FROM invoices").fetchone()
            )
    assert counts[0] == counts[1]

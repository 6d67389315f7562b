"""Exercises that page nobody, on real components: the akig "data loss" runbook rehearsed
with a real backup restored into a scratch PostgreSQL (the real database left as it was),
unsafe commands skipped, and every mail caught by a real SMTP server going to the test
contact only, marked [EXERCICE]; `incident open --exercise`; real failures kept apart from
an exercise; `runbook run --dry-run` touching nothing."""

from __future__ import annotations

import json
import socket
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from reprise.incidents.exercise import open_exercise
from reprise.incidents.records import get_incident, list_incidents
from reprise.incidents.runs import runs_of
from reprise.incidents.watcher import IncidentWatcher
from reprise.pg.scratch import ConnectionInfo
from reprise.plan.loader import load_plan
from reprise.store import Store, open_store
from reprise.store.tables import incidents, runbook_runs
from tests.support.backups import World, sample_database
from tests.support.peers import Mailbox, body_of, smtp_server, subject_of

UNSAFE = "ssh app.akig.local sudo systemctl restart akig-api"
"""The akig runbook's command: not safe in an exercise, so shown and never run."""


def _mail(port: int, to: str) -> str:
    return f"mailto://127.0.0.1:{port}?from=reprise@akig.test&to={to}"


def write_plan(
    world: World,
    postgres: ConnectionInfo,
    smtp_port: int,
    api_port: int,
    *,
    test_contacts: bool = True,
) -> Path:
    """The akig data-loss scenario on real servers: the real roles' contacts and the test
    contact are different addresses of one SMTP server."""
    tests = f'test_contacts: ["{_mail(smtp_port, "exercice@akig.test")}"]' if test_contacts else ""
    safe_marker = world.root / "safe-command-ran"
    world.plan.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: fr, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        roles:
          - id: recovery-lead
            title: Responsable des actions de reprise
            permission: admin
            members: [{{name: Astreinte, contacts: ["{_mail(smtp_port, "oncall@akig.test")}"]}}]
          - id: dba
            title: Administrateur de bases
            permission: responder
            members: [{{name: DBA, contacts: ["{_mail(smtp_port, "dba@akig.test")}"]}}]
          - id: management
            title: Direction
            members: [{{name: Direction, contacts: ["{_mail(smtp_port, "direction@akig.test")}"]}}]
        communication:
          audiences: [management]
          {tests}
        alerting: {{delivery: {{attempts: 1, timeout: 10s}}}}
        repositories:
          local: {{kind: local, path: {world.repository}}}
        keys:
          recipients_file: keys/recipients.txt
          identity: keys/identity.txt
          signing_key: keys/signing.key
        state: {{dir: {world.root / "state"}}}
        services:
          - id: akig-db
            name: Base PostgreSQL AKIG
            category: base de données
            criticality: critical
            drill: {{enabled: false}}
            checks: [{{kind: postgres, dsn: "{postgres.dsn("akig")}", interval: 30s}}]
            backups:
              - {{kind: postgres, dsn: "{postgres.dsn()}", databases: [akig],
                 repository: local, schedule: "@hourly", retention: {{keep_last: 2}}}}
          - id: akig-api
            name: API AKIG
            category: application
            criticality: critical
            depends_on: [akig-db]
            checks: [{{kind: tcp, host: 127.0.0.1, port: {api_port}, interval: 30s}}]
        scenarios:
          - id: data-loss
            title: Perte de données
            services: [akig-db]
            steps:
              - {{kind: notify, roles: [recovery-lead, dba],
                 text: "Perte de données AKIG : restauration de la dernière sauvegarde vérifiée"}}
              - {{kind: manual, role: recovery-lead,
                 text: "Confirmer la perte et l'arrêt des écritures"}}
              - {{kind: restore, service: akig-db, backup: latest,
                 target: "{postgres.dsn()}", clean: true}}
              - {{kind: wait_check, service: akig-db, timeout: 10m}}
              - {{kind: command, command: "{UNSAFE}"}}
              - {{kind: command, command: "echo prêt > {safe_marker}", safe_in_exercise: true}}
              - {{kind: wait_check, service: akig-api, timeout: 5m}}
              - {{kind: notify, roles: [recovery-lead, management],
                 text: "AKIG restaurée (incident {{{{ incident }}}})"}}
          - id: restart-api
            title: Redémarrage de l'API
            parameters:
              - {{name: host, description: "Serveur de l'API", default: app.akig.local}}
              - {{name: reason, description: "Pourquoi"}}
            steps:
              - {{kind: command, command: "ssh {{{{ host }}}} sudo systemctl restart akig-api"}}
              - {{kind: notify, roles: [dba],
                 text: "API redémarrée sur {{{{ host }}}} : {{{{ reason }}}}"}}
        """)
    )
    return world.plan


@pytest.fixture
def api_port() -> Iterator[int]:
    """A TCP listener standing for the akig API (its check passes)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    with smtp_server() as server:
        yield server


def store_of(world: World) -> Store:
    return open_store(f"sqlite:///{world.root / 'state' / 'reprise.db'}")


def rows(store: Store, table: object) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def mails(mailbox: Mailbox) -> list[Message]:
    with mailbox.lock:
        return [message for _, message in mailbox.messages]


def test_the_data_loss_exercise_restores_into_a_scratch_instance_and_mails_only_the_test_contact(
    world: World, postgres: ConnectionInfo, smtp: tuple[int, Mailbox], api_port: int
) -> None:
    port, mailbox = smtp
    sample_database(postgres, "akig", rows=500)
    write_plan(world, postgres, port, api_port)
    assert world.reprise("repo", "init").returncode == 0
    backup = world.reprise("backup", "run", "akig-db", "--json")
    assert backup.returncode == 0, backup.stderr
    with psycopg.connect(postgres.dsn("akig"), autocommit=True) as connection:
        connection.execute(  # written after the backup: a real restore would remove it
            "INSERT INTO customers (email, created_at, note) "
            "VALUES ('marqueur@akig.test', now(), 'après la sauvegarde')"
        )

    result = world.reprise("runbook", "run", "data-loss", "--exercise", "--yes", "--by", "Awa")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Exercice\u202f: incident 1 ouvert" in result.stdout
    assert "reprise incident close 1" in result.stdout

    store = store_of(world)
    [run] = runs_of(store)
    assert run.exercise and run.incident_id == 1 and run.status == "done"
    assert [s.status for s in run.steps] == [
        "done",
        "done",
        "done",
        "done",
        "skipped",
        "done",
        "done",
        "done",
    ]
    restore = run.steps[2]
    assert "scratch PostgreSQL instance" in restore.message
    assert f"instead of 127.0.0.1:{postgres.port}" in restore.message
    assert "instance stopped and removed afterwards" in restore.message
    assert restore.output is not None
    assert "akig.public.customers: 500 rows" in restore.output  # the backup, without the marker
    assert "akig.public.invoices: 1500 rows" in restore.output
    assert run.steps[4].message == f"command shown, not run (not safe_in_exercise): $ {UNSAFE}"
    assert (world.root / "safe-command-ran").read_text() == "prêt\n"
    assert "run once (exercise, no waiting)" in run.steps[3].message
    assert all(step.finished_at >= step.started_at for step in run.steps)
    with psycopg.connect(postgres.dsn("akig")) as connection:  # the real database untouched
        found = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE email = 'marqueur@akig.test') FROM customers"
        ).fetchone()
    assert found == (501, 1)

    incident = get_incident(store, 1)
    assert incident.exercise and incident.title == "Exercice — Perte de données"
    assert [(s.service, s.state) for s in incident.services] == [("akig-db", "up")]
    listed = json.loads(world.reprise("incident", "list", "--json").stdout)
    assert listed["incidents"][0]["exercise"] is True
    shown = world.reprise("incident", "show", "1")
    assert shown.stdout.startswith("Incident 1\u202f: [EXERCICE] ")

    closed = world.reprise("incident", "close", "1", "--note", "Exercice terminé")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    report = world.root / "state" / "reports" / "incidents" / "incident-1" / "report-fr.md"
    text = report.read_text()
    assert text.splitlines()[0].endswith("[EXERCICE] Exercice — Perte de données")
    assert "**Exercice\u202f: rien de réel n'a été touché" in text
    html = report.with_suffix(".html").read_text()
    assert "<h1>" in html and "[EXERCICE]" in html and 'class="exercise"' in html

    received = mailbox.wait_for(4, 30)
    subjects = [subject_of(message) for message in received]
    assert len(received) == 4, subjects  # opened, two notify steps, the final report
    assert {message["To"] for message in received} == {"exercice@akig.test"}, subjects
    assert all(subject.startswith("[EXERCICE] ") for subject in subjects), subjects
    assert "Exercice ouvert" in subjects[0]
    assert "AKIG restaurée (incident 1)" in subjects[2]
    assert "Rapport d'incident" in subjects[3]
    assert "personne d'astreinte n'est prévenu" in body_of(received[0])


def test_an_exercise_without_test_contacts_is_refused_before_anything_happens(
    world: World, postgres: ConnectionInfo, smtp: tuple[int, Mailbox], api_port: int
) -> None:
    port, mailbox = smtp
    write_plan(world, postgres, port, api_port, test_contacts=False)
    opened = world.reprise("incident", "open", "Exercice annuel", "--exercise")
    assert opened.returncode == 2, opened.stdout + opened.stderr
    assert "communication.test_contacts" in opened.stderr
    ran = world.reprise("runbook", "run", "data-loss", "--exercise", "--yes")
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "communication.test_contacts" in ran.stderr
    store = store_of(world)
    assert rows(store, incidents) == 0 and rows(store, runbook_runs) == 0
    assert mails(mailbox) == []


def test_an_exercise_incident_mails_the_test_contact_when_it_opens_and_closes(
    world: World, postgres: ConnectionInfo, smtp: tuple[int, Mailbox], api_port: int
) -> None:
    port, mailbox = smtp
    write_plan(world, postgres, port, api_port)
    opened = world.reprise(
        "incident", "open", "Exercice annuel", "--services", "akig-api", "--exercise", "--json"
    )
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["exercise"] is True
    real = world.reprise("runbook", "run", "data-loss", "--incident", "1")
    assert real.returncode == 2 and "is an exercise" in real.stderr
    assert world.reprise("incident", "update", "1", "--state", "akig-api=up").returncode == 0
    closed = world.reprise("incident", "close", "1")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    received = mailbox.wait_for(2, 30)
    assert len(received) == 2
    assert {message["To"] for message in received} == {"exercice@akig.test"}
    subjects = [subject_of(message) for message in received]
    assert subjects[0].startswith("[EXERCICE] [AKIG] Exercice ouvert")
    assert subjects[1].startswith("[EXERCICE] [AKIG] Rapport d'incident")
    assert body_of(received[1]).startswith(
        "# Rapport d'incident — Incident 1\u202f: [EXERCICE] Exercice annuel"
    )
    listed = world.reprise("incident", "list", "--all")
    assert "[EXERCICE] Exercice annuel" in listed.stdout


def test_a_real_failure_during_an_exercise_opens_its_own_incident_and_pages_as_usual(
    world: World, postgres: ConnectionInfo, smtp: tuple[int, Mailbox], api_port: int
) -> None:
    port, mailbox = smtp
    write_plan(world, postgres, port, api_port)
    plan = load_plan(world.plan).plan
    store = store_of(world)
    now = datetime.now(UTC)
    exercise, _ = open_exercise(plan, store, "Exercice annuel", ["akig-db"], by="Awa", at=now)
    sent: list[object] = []
    watcher = IncidentWatcher(plan, store, sent.append)
    assert watcher.incident_of("akig-db") is None  # the exercise silences no alert
    watcher.on_change("akig-db", "down", now, "postgres: connexion refusée")
    found = list_incidents(store)
    assert len(found) == 2
    real = next(incident for incident in found if not incident.exercise)
    assert real.id != exercise.id and [s.service for s in real.services] == ["akig-db"]
    covering = watcher.incident_of("akig-db")
    assert covering is not None and covering.id == real.id
    watcher.on_change("akig-db", "up", now, "checks pass")
    assert get_incident(store, real.id).services[0].state == "up"
    kept = get_incident(store, exercise.id)
    assert kept.services[0].state == "down" and kept.exercise  # the checks stay out of it
    watcher.report_progress(exercise.id, now)  # the exercise's progress report
    received = mailbox.wait_for(2, 30)
    assert [m["To"] for m in received] == ["exercice@akig.test"] * 2
    assert subject_of(received[1]).startswith("[EXERCICE] [AKIG] Point de situation")
    assert all(getattr(n, "kind", None) != "progress" for n in sent)  # not to the audiences


def test_a_dry_run_shows_every_step_resolved_and_writes_nothing(
    world: World, postgres: ConnectionInfo, smtp: tuple[int, Mailbox], api_port: int
) -> None:
    port, mailbox = smtp
    sample_database(postgres, "akig", rows=50)
    write_plan(world, postgres, port, api_port)
    assert world.reprise("repo", "init").returncode == 0
    backup_id = json.loads(world.reprise("backup", "run", "akig-db", "--json").stdout)[0]["id"]
    store = store_of(world)
    before = (rows(store, incidents), rows(store, runbook_runs))

    shown = world.reprise(
        "runbook", "run", "restart-api", "--dry-run", "--param", "reason=mise à jour"
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Paramètres\u202f: host=app.akig.local, reason=mise à jour" in shown.stdout
    assert "exécute\u202f: $ ssh app.akig.local sudo systemctl restart akig-api" in shown.stdout
    assert "API redémarrée sur app.akig.local : mise à jour" in shown.stdout
    assert "dba@akig.test" in shown.stdout and "exercice@akig.test" not in shown.stdout

    missing = world.reprise("runbook", "run", "data-loss", "--dry-run")
    # A real run would need --incident; its dry run shows N for the incident's number.
    assert missing.returncode == 0, missing.stderr
    assert "AKIG restaurée (incident N)" in missing.stdout
    assert "le numéro de l'incident que l'exécution réelle demande" in missing.stdout

    told = world.reprise("runbook", "run", "data-loss", "--dry-run", "--exercise")
    assert "instance PostgreSQL jetable" in told.stdout and "(pas safe_in_exercise)" in told.stdout
    exercise = world.reprise("runbook", "run", "data-loss", "--dry-run", "--exercise", "--json")
    assert exercise.returncode == 0, exercise.stdout + exercise.stderr
    preview = json.loads(exercise.stdout)
    assert preview["dry_run"] and preview["exercise"] and preview["incident"] == "new"
    steps = preview["steps"]
    assert [s["kind"] for s in steps] == [
        "notify",
        "manual",
        "restore",
        "wait_check",
        "command",
        "command",
        "wait_check",
        "notify",
    ]
    assert steps[0]["contacts"] == ["exercice@akig.test"]
    assert steps[0]["subject"].startswith("[EXERCICE] [AKIG] Perte de données")
    assert steps[2]["restore"]["backup_id"] == backup_id
    assert steps[2]["exercise"] == "scratch instance"
    assert "instance PostgreSQL jetable" in steps[2]["does"]
    assert steps[4]["runs"] is False and steps[4]["command"] == UNSAFE
    assert steps[5]["runs"] is True
    assert steps[7]["subject"].endswith("AKIG restaurée (incident N)")
    assert (rows(store, incidents), rows(store, runbook_runs)) == before == (0, 0)

    real = world.reprise("incident", "open", "Perte de données", "--json")
    assert real.returncode == 0
    before = (rows(store, incidents), rows(store, runbook_runs))
    plain = world.reprise("runbook", "run", "data-loss", "--dry-run", "--incident", "1", "--json")
    assert plain.returncode == 0, plain.stderr
    steps = json.loads(plain.stdout)["steps"]
    assert steps[0]["contacts"] == ["oncall@akig.test", "dba@akig.test"]
    assert steps[4]["runs"] is True and steps[7]["subject"].endswith("(incident 1)")
    assert steps[2]["target"] == f"127.0.0.1:{postgres.port}" and steps[2]["exercise"] is None
    assert (rows(store, incidents), rows(store, runbook_runs)) == before
    assert mails(mailbox) == []


def test_an_exercise_run_records_into_an_exercise_incident_never_into_a_real_one(
    world: World, postgres: ConnectionInfo, smtp: tuple[int, Mailbox], api_port: int
) -> None:
    port, mailbox = smtp
    write_plan(world, postgres, port, api_port)
    assert world.reprise("incident", "open", "Exercice API", "--exercise").returncode == 0
    assert world.reprise("incident", "open", "Panne réelle").returncode == 0
    refused = world.reprise(
        "runbook", "run", "restart-api", "--exercise", "--incident", "2", "--param", "reason=x"
    )
    assert refused.returncode == 2 and "is a real incident" in refused.stderr
    ran = world.reprise(
        "runbook",
        "run",
        "restart-api",
        "--exercise",
        "--incident",
        "1",
        "--param",
        "reason=essai",
        "--json",
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    run = json.loads(ran.stdout)
    assert run["exercise"] is True and run["incident"] == 1
    assert [s["status"] for s in run["steps"]] == ["skipped", "done"]
    received = mailbox.wait_for(2, 30)
    assert [m["To"] for m in received] == ["exercice@akig.test"] * 2
    assert subject_of(received[1]) == (
        "[EXERCICE] [AKIG] Redémarrage de l'API\u202f: API redémarrée sur app.akig.local : essai"
    )
    assert len(runs_of(store_of(world), incident_id=2)) == 0

"""The monitoring commands end to end, as the real program, against real loopback peers:
`status`, `check`, `monitor` (a PostgreSQL stopped under it, the alert received by e-mail
and by a JSON webhook, SIGTERM), `alert test|list|ack`, `silence add|list|remove`."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from reprise.alerts.records import DeliveryRecord, open_alert, record_delivery
from reprise.pg.scratch import ScratchPostgres
from reprise.store import open_store
from tests.conftest import run_reprise
from tests.support.peers import (
    body_of,
    free_port,
    http_server,
    imap_server,
    smtp_server,
    subject_of,
    tcp_listener,
)


def write_plan(path: Path, services: str, contacts: list[str], language: str = "en") -> Path:
    quoted = ", ".join(json.dumps(contact) for contact in contacts)
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: {language}, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        roles:
          - id: oncall
            title: Astreinte
            permission: admin
            members: [{{name: Ops, contacts: [{quoted}]}}]
        alerting:
          delivery: {{attempts: 2, backoff: 200ms, timeout: 5s}}
        services:
        """)
        + textwrap.indent(textwrap.dedent(services), "  ")
    )
    return path


def test_status_shows_every_service_and_exits_1_when_one_is_down(tmp_path: Path) -> None:
    with http_server() as (web, _), tcp_listener() as ssh, imap_server(starttls=False) as imap:
        plan = write_plan(
            tmp_path / "reprise.yaml",
            f"""\
            - id: router
              name: Routeur
              category: réseau
              criticality: critical
              checks: [{{kind: tcp, host: 127.0.0.1, port: {ssh}}}]
            - id: web
              name: Site
              category: application
              criticality: major
              depends_on: [router]
              checks:
                - {{kind: http, url: "http://127.0.0.1:{web}/", body_regex: AKIG}}
            - id: mail
              name: Messagerie
              category: messagerie
              criticality: major
              checks: [{{kind: imap, host: 127.0.0.1, port: {imap}, tls: none}}]
            - id: zabbix
              name: Zabbix
              category: supervision
              criticality: minor
              checks: [{{kind: tcp, host: 127.0.0.1, port: {free_port()}}}]
            """,
            [],
        )
        result = run_reprise("--plan", plan, "status")
        assert result.returncode == 1, result.stderr
        lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
        assert "up" in lines["router"] and "P1" in lines["router"]
        assert "down" in lines["zabbix"] and "connection refused" in lines["zabbix"]
        assert "3 of 4 checked services up." in result.stdout
        as_json = json.loads(run_reprise("--plan", plan, "status", "--json").stdout)
        states = {row["service"]: row["state"] for row in as_json}
        assert states == {"router": "up", "web": "up", "mail": "up", "zabbix": "down"}
        assert all(row["latency_ms"] is not None for row in as_json)
        detail = run_reprise("--plan", plan, "check", "mail")
        assert detail.returncode == 0 and "capabilities" in detail.stdout
        assert run_reprise("--plan", plan, "status", "-s", "web").returncode == 0
        # The router goes away: web is impacted, its cause named.
    impacted = json.loads(run_reprise("--plan", plan, "status", "--json").stdout)
    web_row = next(row for row in impacted if row["service"] == "web")
    assert web_row["state"] == "down" and web_row["impacted_by"] == ["router"]
    unknown = run_reprise("--plan", plan, "check", "nope")
    assert unknown.returncode == 2 and "unknown service 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.mark.postgres
def test_the_monitor_alerts_by_mail_and_webhook_when_postgres_stops(tmp_path: Path) -> None:
    scratch = ScratchPostgres()
    pg = scratch.start()
    with (
        smtp_server() as (smtp, mailbox),
        http_server() as (hook, posts),
        http_server() as (web, _),
    ):
        contacts = [
            f"mailto://127.0.0.1:{smtp}?from=reprise@akig.test&to=oncall@akig.test",
            f"json://127.0.0.1:{hook}/alerts",
        ]
        plan = write_plan(
            tmp_path / "reprise.yaml",
            f"""\
            - id: akig-db
              name: Base AKIG
              category: base de données
              criticality: critical
              owner: oncall
              checks:
                - {{kind: postgres, dsn: "{pg.dsn()}", interval: 1s, timeout: 1s, retries: 1}}
              procedure:
                - {{kind: manual, text: Vérifier le serveur et ses disques}}
            - id: web
              name: Site
              category: application
              criticality: major
              checks: [{{kind: http, url: "http://127.0.0.1:{web}/", interval: 1s,
                         timeout: 1s, retries: 1}}]
            """,
            contacts,
            language="fr",
        )
        monitor = subprocess.Popen(
            [sys.executable, "-m", "reprise", "--plan", str(plan), "monitor"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_rows(tmp_path / "state" / "reprise.db", 4, timeout=20)
            stopped_at = time.time()
            scratch.stop()
            (message,) = mailbox.wait_for(1, timeout=20)
            received = mailbox.messages[0][0]
            subject, body = subject_of(message), body_of(message)
            assert subject == "[P1] EN PANNE — Base AKIG (akig-db)"
            assert "Ce qui a échoué" in body and "connexion impossible" in body
            assert (
                "Première étape de la procédure\u202f: Vérifier le serveur et ses disques"
                in body.splitlines()
            ), "one fact per line, as written"
            assert "reprise alert ack" in body
            # Interval 1 s × (retries 1 + 1) + 2 s of slack.
            assert received - stopped_at < 1 * 2 + 2 + 2, received - stopped_at
            deadline = time.monotonic() + 10
            while not posts and time.monotonic() < deadline:
                time.sleep(0.1)
            payload = json.loads(posts[0]["body"])
            assert payload["title"] == subject and "Vérifier le serveur" in payload["message"]
            assert "postgres 127.0.0.1" in body and "/postgres: 127.0.0.1" not in body
            ack = run_reprise("--plan", plan, "alert", "ack", "akig-db", "--by", "alice")
            assert ack.returncode == 0 and "prise en compte par alice" in ack.stdout
        finally:
            monitor.send_signal(signal.SIGTERM)
            out, err = monitor.communicate(timeout=30)
            scratch.stop()
        assert monitor.returncode == 0, err
        # the plan is French: so is every line the monitor prints
        lines = out.splitlines()
        assert lines[0].startswith("Surveillance de 2 service(s) (2 contrôle(s))\u202f; ")
        assert "akig-db\u202f: fonctionnel → en panne" in out
        assert any(
            " alerte à oncall (oncall@akig.test)\u202f: envoyé — [P1] EN PANNE — Base AKIG" in line
            for line in lines
        ), out
        assert lines[-1] == "Surveillance arrêtée."
        assert "Traceback" not in err
    listed = json.loads(run_reprise("--plan", plan, "alert", "list", "--json").stdout)
    (alert,) = listed["alerts"]
    assert alert["service"] == "akig-db" and alert["acked_by"] == "alice"
    with sqlite3.connect(tmp_path / "state" / "reprise.db") as db:
        states = {
            row[0]
            for row in db.execute("select state from check_results where service = 'akig-db'")
        }
        kinds = {row[0] for row in db.execute("select kind from events")}
    assert states == {"up", "down"}
    assert {"service.state", "alert.opened", "alert.notified", "alert.acked"} <= kinds


def _wait_for_rows(database: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if database.exists():
            try:
                with sqlite3.connect(database) as db:
                    rows = db.execute(
                        "select count(*) from check_results where state = 'up'"
                    ).fetchone()[0]
                if rows >= count:
                    return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.2)
    raise AssertionError("the monitor recorded no healthy results")


def test_alert_test_reports_each_contact(tmp_path: Path) -> None:
    with smtp_server() as (smtp, mailbox):
        plan = write_plan(
            tmp_path / "reprise.yaml",
            """\
            - {id: app, name: App, category: application, criticality: minor}
            """,
            [
                f"mailto://127.0.0.1:{smtp}?from=reprise@akig.test&to=oncall@akig.test",
                f"json://127.0.0.1:{free_port()}/down",
            ],
        )
        result = run_reprise("--plan", plan, "alert", "test", "--json")
        assert result.returncode == 1
        outcome = {row["contact"].split(":")[0]: row for row in json.loads(result.stdout)}
        # the e-mail contact is named by its recipient, the webhook by its URL
        assert outcome["oncall@akig.test"]["ok"] and not outcome["json"]["ok"]
        # one try per contact: a test shows what fails instead of retrying it away
        assert outcome["json"]["attempts"] == 1 and outcome["json"]["error"]
        assert outcome["json"]["channel"] == "json" and outcome["json"]["member"] == "Ops"
        (message,) = mailbox.wait_for(1, timeout=5)
        assert subject_of(message) == "Reprise test message"
        assert "role oncall" in body_of(message)
    unknown = run_reprise("--plan", plan, "alert", "test", "nobody")
    assert unknown.returncode == 2 and "unknown role 'nobody'" in unknown.stderr


def test_silences_are_added_listed_and_removed(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path / "reprise.yaml",
        """\
        - {id: app, name: App, category: application, criticality: minor}
        """,
        [],
    )
    added = run_reprise(
        "--plan",
        plan,
        "silence",
        "add",
        "app",
        "--for",
        "2h",
        "--reason",
        "remplacement disque",
        "--by",
        "bob",
    )
    assert added.returncode == 0 and "held back for 2 h" in added.stdout
    listed: list[dict[str, Any]] = json.loads(
        run_reprise("--plan", plan, "silence", "list", "--json").stdout
    )
    assert [(s["service"], s["reason"], s["created_by"]) for s in listed] == [
        ("app", "remplacement disque", "bob")
    ]
    assert run_reprise("--plan", plan, "silence", "remove", str(listed[0]["id"])).returncode == 0
    assert json.loads(run_reprise("--plan", plan, "silence", "list", "--json").stdout) == []
    for args, expected in (
        (["add", "app", "--for", "soon", "--reason", "x"], "--for 'soon'"),
        (["add", "nope", "--for", "1h", "--reason", "x"], "unknown service"),
        (["add", "app", "--for", "1h", "--reason", " "], "--reason is empty"),
        (["remove", "99"], "no active silence"),
    ):
        bad = run_reprise("--plan", plan, "silence", *args)
        assert bad.returncode == 2 and expected in bad.stderr, bad.stderr
        assert "Traceback" not in bad.stderr
    no_alert = run_reprise("--plan", plan, "alert", "ack", "app")
    assert no_alert.returncode == 2 and "no open alert" in no_alert.stderr


WIDE = {"COLUMNS": "200"}
"""A wide terminal: table cells are not folded over several lines."""


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "fr",
            {
                "none": "Aucune alerte ouverte.",
                "headers": ["N°", "Ouverte", "Notifiée", "Prise en compte", "Résolue"],
                "kind": "en panne",
                "failed": "Envois en échec",
                "delivery": " alerte à oncall (ops@akig.test) après 2 essai(s)\u202f: refusé",
                "acked": "Alerte 1 (app, en panne) prise en compte par alice le ",
            },
        ),
        (
            "en",
            {
                "none": "No open alerts.",
                "headers": ["Id", "Opened", "Notified", "Acked", "Resolved"],
                "kind": "down",
                "failed": "Failed deliveries",
                "delivery": " problem to oncall (ops@akig.test) after 2 tries: refusé",
                "acked": "Alert 1 (app, down) acknowledged by alice at ",
            },
        ),
    ],
)
def test_alert_list_and_ack_speak_the_plans_language(
    tmp_path: Path, language: str, expected: dict[str, Any]
) -> None:
    plan = write_plan(
        tmp_path / "reprise.yaml",
        """\
        - {id: app, name: App, category: application, criticality: minor}
        """,
        [],
        language=language,
    )
    empty = run_reprise("--plan", plan, "alert", "list", env=WIDE)
    assert empty.returncode == 0 and empty.stdout.strip() == expected["none"], empty.stderr
    store = open_store(f"sqlite:///{tmp_path / 'state' / 'reprise.db'}")
    try:
        now = datetime.now(UTC)
        alert = open_alert(
            store,
            service="app",
            kind="down",
            priority="P3",
            opened_at=now,
            message="connexion refusée",
            roles=["oncall"],
        )
        record_delivery(
            store,
            DeliveryRecord(
                alert.id, "problem", "oncall", "ops@akig.test", "[P3]", now, 2, False, "refusé"
            ),
        )
    finally:
        store.close()
    listed = run_reprise("--plan", plan, "alert", "list", env=WIDE)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert all(column in header for column in expected["headers"]), header
    assert row.split()[:2] == ["1", "app"] and f" {expected['kind']} " in row, row
    assert expected["failed"] in listed.stdout
    assert expected["delivery"] in listed.stdout, listed.stdout
    as_json = json.loads(run_reprise("--plan", plan, "alert", "list", "--json").stdout)
    assert as_json["alerts"][0]["kind"] == "down"
    assert as_json["failed_deliveries"][0]["kind"] == "problem"
    ack = run_reprise("--plan", plan, "alert", "ack", "app", "--by", "alice")
    assert ack.returncode == 0 and ack.stdout.startswith(expected["acked"]), ack.stdout


def test_silences_speak_french_with_a_french_plan(tmp_path: Path) -> None:
    plan = write_plan(
        tmp_path / "reprise.yaml",
        """\
        - {id: app, name: App, category: application, criticality: minor}
        """,
        [],
        language="fr",
    )
    none = run_reprise("--plan", plan, "silence", "list", env=WIDE)
    assert none.returncode == 0 and none.stdout.strip() == "Aucun silence en cours."
    added = run_reprise(
        "--plan", plan, "silence", "add", "app", "--for", "90m", "--reason", "disque", "--by", "bob"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith(
        "Silence 1\u202f: alertes de app retenues pendant 1 h 30 min, jusqu'au "
    ), added.stdout
    listed = run_reprise("--plan", plan, "silence", "list", env=WIDE)
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["N°", "Service", "Début", "Fin", "Par", "Motif"]
    assert row.split()[:2] == ["1", "app"] and row.split()[-2:] == ["bob", "disque"]
    # The service's status says so too, in the plan's words and time zone.
    status = run_reprise("--plan", plan, "status", env=WIDE)
    assert re.search(
        r"\(silence jusqu'au \d\d/\d\d/\d{4} \d\d:\d\d \S+\u202f: disque\)", status.stdout
    ), status.stdout
    assert "aucun contrôle dans le plan" in status.stdout and "no checks" not in status.stdout
    checked = run_reprise("--plan", plan, "check", "app")
    assert "silence jusqu'au" in checked.stdout, checked.stdout
    removed = run_reprise("--plan", plan, "silence", "remove", "1")
    assert removed.returncode == 0 and removed.stdout.strip() == "Silence 1 levé."
    ended = run_reprise("--plan", plan, "silence", "list", "--all", env=WIDE)
    assert "Aucun silence" not in ended.stdout and " disque" in ended.stdout
    assert run_reprise("--plan", plan, "silence", "list").stdout.strip() == (
        "Aucun silence en cours."
    )


def test_status_and_check_speak_french_with_a_french_plan(tmp_path: Path) -> None:
    with tcp_listener() as ssh:
        plan = write_plan(
            tmp_path / "reprise.yaml",
            f"""\
            - id: router
              name: Routeur
              category: réseau
              criticality: critical
              checks: [{{kind: tcp, host: 127.0.0.1, port: {ssh}}}]
            - id: web
              name: Site
              category: application
              criticality: major
              depends_on: [router]
              checks: [{{kind: tcp, host: 127.0.0.1, port: {free_port()}}}]
            - id: empty
              name: Vide
              category: application
              criticality: minor
            """,
            [],
            language="fr",
        )
        result = run_reprise("--plan", plan, "status", env=WIDE)
        detail = run_reprise("--plan", plan, "check", "router", env=WIDE)
        down = run_reprise("--plan", plan, "check", "web", env=WIDE)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Service", "Priorité", "État", "Latence", "Message"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    assert " fonctionnel " in rows["router"] and " en panne " in rows["web"], result.stdout
    assert "1 service(s) fonctionnel(s) sur 2 contrôlé(s)." in result.stdout
    assert "Service\u202f: arrêté\u202f: aucune tâche planifiée" in result.stdout
    assert detail.returncode == 0, detail.stderr
    heading, first = detail.stdout.splitlines()[:2]
    assert heading == "Routeur (router) — P1, réseau\u202f: fonctionnel"
    assert first.startswith("  fonctionnel tcp 127.0.0.1:"), first
    # the check's message and details line up under the check's name
    assert detail.stdout.splitlines()[2].startswith(" " * len("  fonctionnel ") + "127.0.0.1:")
    assert down.returncode == 1 and "en panne" in down.stdout.splitlines()[0]
    empty = run_reprise("--plan", plan, "check", "empty")
    assert empty.returncode == 0 and "  aucun contrôle dans le plan" in empty.stdout
    in_english = write_plan(
        tmp_path / "en.yaml",
        "- {id: empty, name: Vide, category: application, criticality: minor}",
        [],
    )
    english = run_reprise("--plan", in_english, "check", "empty")
    assert english.returncode == 0 and "  no checks in the plan" in english.stdout

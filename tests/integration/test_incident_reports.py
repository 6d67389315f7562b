"""Incident reports: a fixed incident rendered in French and English, Markdown and HTML,
compared with reviewed expected files; hostile text escaped; both languages complete.

After a deliberate change of the templates, regenerate the expected files with
``REPRISE_UPDATE_EXPECTED=1 pytest tests/integration/test_incident_reports.py`` and review
the diff before committing it."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reprise.incidents.lifecycle import (
    add_note,
    close_incident,
    open_incident,
    set_state,
    set_task,
    update_incident,
)
from reprise.incidents.records import get_incident
from reprise.incidents.report_view import render_report
from reprise.incidents.runs import StepRecord, create_run, finish_run, runs_of, save_step
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.reports.incident import markdown_text
from reprise.store import Store, open_store
from reprise.words import CATALOG as LABELS

EXPECTED = Path(__file__).parent.parent / "data" / "reports"
PLAN = Path(__file__).parent.parent.parent / "examples" / "pcra-infra" / "reprise.yaml"
START = datetime(2024, 9, 22, 6, 40, tzinfo=UTC)  # 08:40 in Paris


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
def plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Plan:
    monkeypatch.setenv("REPRISE_REPOSITORY", str(tmp_path / "repo"))
    return load_plan(PLAN, contacts=False).plan


def the_power_failure(
    plan: Plan,
    store: Store,
    title: str = "Coupure électrique",
    note: str = "Onduleur du local technique remplacé",
) -> int:
    """The seed's incident, with fixed times: six elements down, recovered over the day."""
    incident = open_incident(
        store,
        plan,
        title,
        ["router", "openvpn", "zabbix", "mail", "storage", "windows"],
        by="monitor",
        at=START,
        source="check: SSH VyOS: refused",
    )
    update_incident(store, incident, by="Mohamed", at=at(5), cause="Coupure EDF du site")
    tasks = get_incident(store, incident).tasks
    set_task(store, incident, tasks[0].id, "doing", by="Mohamed", at=at(6))
    set_task(store, incident, tasks[0].id, "done", by="Mohamed", at=at(20))
    set_task(
        store,
        incident,
        tasks[1].id,
        "skipped",
        by="Mohamed",
        at=at(21),
        note="configuration intacte",
    )
    add_note(store, incident, note, by="Joris", at=at(25))
    for service, minutes in (
        ("router", 30),
        ("openvpn", 95),
        ("zabbix", 120),
        ("mail", 150),
        ("storage", 310),
    ):
        set_state(
            store,
            incident,
            service,
            "up",
            source="check: checks pass",
            at=at(minutes),
            author="monitor",
        )
    set_state(
        store,
        incident,
        "windows",
        "degraded",
        source="check: WinRM: refused",
        at=at(200),
        author="monitor",
    )
    run = create_run(store, "power-failure", incident, {}, by="Mohamed", at=at(7))
    for position, (title_, status, begin, end, message) in enumerate(
        [
            ("notify reprise, assistance, communication", "done", 7, 7.1, "sent to 5 contacts"),
            (
                "Vérifier l'alimentation, les onduleurs et les disjoncteurs",
                "done",
                7.1,
                18,
                "confirmed by Mohamed",
            ),
            ("router: checks pass (at most 15 min)", "done", 18, 30, "router up"),
        ]
    ):
        save_step(
            store,
            run,
            StepRecord(
                position, "manual", title_, status, at(begin), at(end), message, None, "Mohamed"
            ),
        )
    finish_run(store, run, at(30))
    close_incident(
        store, incident, by="Mohamed", at=at(400), force=True, note="Windows en observation"
    )
    return incident


@pytest.mark.parametrize(
    ("language", "fmt"), [("fr", "md"), ("en", "md"), ("fr", "html"), ("en", "html")]
)
def test_final_report_matches_the_reviewed_file(
    plan: Plan, tmp_path: Path, language: str, fmt: str
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    incident_id = the_power_failure(plan, store)
    text = render_report(
        plan,
        get_incident(store, incident_id),
        runs_of(store, incident_id=incident_id),
        now=at(401),
        fmt=fmt,
        language=language,
    )
    expected = EXPECTED / f"incident-{language}.{fmt}"
    if os.environ.get("REPRISE_UPDATE_EXPECTED"):
        expected.parent.mkdir(parents=True, exist_ok=True)
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


def test_progress_report_matches_the_reviewed_file(plan: Plan, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    incident_id = open_incident(
        store,
        plan,
        "Coupure électrique",
        ["router", "openvpn", "windows"],
        by="monitor",
        at=START,
        source="check: refused",
    )
    set_state(
        store, incident_id, "router", "up", source="check: checks pass", at=at(30), author="monitor"
    )
    text = render_report(plan, get_incident(store, incident_id), [], now=at(240), since=at(10))
    expected = EXPECTED / "progress-fr.md"
    if os.environ.get("REPRISE_UPDATE_EXPECTED"):
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


HOSTILE = "<script>alert(1)</script> | **gras** [lien](javascript:alert(1)) {{ 7*7 }} # x"


def test_hostile_text_is_escaped_in_html_and_inert_in_markdown(plan: Plan, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    incident_id = the_power_failure(plan, store, title=HOSTILE, note=HOSTILE)
    incident = get_incident(store, incident_id)
    runs = runs_of(store, incident_id=incident_id)
    html = render_report(plan, incident, runs, now=at(401), fmt="html")
    assert "<script>" not in html and "javascript:alert" not in html.replace(
        "[lien](javascript:alert(1))", ""
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and "49" not in html
    markdown = render_report(plan, incident, runs, now=at(401), fmt="md")
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<script" not in rendered and "<strong>gras" not in rendered
    assert 'href="javascript' not in rendered
    assert "{{ 7*7 }}" in rendered
    timeline = markdown.split("## 8.")[1].split("## 9.")[0]
    rows = [line for line in timeline.splitlines() if line.startswith("| ")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 4 for row in rows)  # 3 cells each


def test_markdown_text_keeps_one_line_and_escapes_layout() -> None:
    assert markdown_text("a | b\nc") == "a \\| b c"
    assert markdown_text("<b>*x*</b>") == "\\<b\\>\\*x\\*\\</b\\>"


def test_both_languages_have_every_label() -> None:
    assert set(LABELS["fr"]) == set(LABELS["en"])
    for language, labels in LABELS.items():
        assert all(value.strip() for value in labels.values()), language


FRENCH_PLAN = """\
version: 1
organisation: {{name: AKIG, language: fr, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
roles:
  - id: lead
    title: Responsable
    permission: admin
    members: [{{name: Ops, contacts: ["json://127.0.0.1:9/x"]}}]
communication: {{progress_report_every: 4h, audiences: [lead]}}
alerting: {{delivery: {{attempts: 1, timeout: 5s}}}}
state: {{dir: {state}}}
services:
  - id: app
    name: Application
    category: application
    criticality: critical
    owner: lead
    checks: [{{kind: tcp, host: 127.0.0.1, port: 9, interval: 1s, timeout: 500ms,
              retries: 0}}]
    procedure:
      - {{kind: manual, text: "Redémarrer l'application"}}
      - {{kind: wait_check, service: app, timeout: 10m}}
scenarios:
  - id: recover
    title: Reprise de l'application
    steps:
      - {{kind: notify, roles: [lead], text: "Reprise en cours"}}
      - {{kind: manual, text: "Vérifier les disques"}}
      - {{kind: command, command: "echo bonjour"}}
  - id: confirm
    title: Confirmation
    steps:
      - {{kind: manual, text: "Confirmer le retour"}}
"""

ENGLISH = re.compile(
    r"notification to|: sent:|\bfailed\b|report sent|report written|sent to|confirmed by"
    r"|waiting for|\bstarted\b|\bfinished\b|\bstep\b|\bexit \d|check:|checks pass|person:"
    r"|title:|commander:|expected back|\bclosed\b|\bnotify\b|at most|\bnobody\b"
)


def test_a_french_plan_s_report_words_reprise_s_own_entries_in_french(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import insert

    from reprise.alerts.records import DeliveryRecord
    from reprise.incidents.closing import close_and_report
    from reprise.incidents.lifecycle import set_target
    from reprise.incidents.watcher import IncidentWatcher
    from reprise.orchestrators.runbook import RunbookOptions, run_runbook
    from reprise.store.tables import alerts

    monkeypatch.setenv("REPRISE_REPOSITORY", str(tmp_path / "repo"))
    path = tmp_path / "reprise.yaml"
    path.write_text(FRENCH_PLAN.format(state=tmp_path / "state"), encoding="utf-8")
    plan = load_plan(path, contacts=False).plan
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    watcher = IncidentWatcher(plan, store, lambda _notification: None)
    incident_id = open_incident(
        store, plan, "Panne", ["app"], by="monitor", at=START, source="check: tcp: refused"
    )
    update_incident(store, incident_id, by="Ops", at=at(1), title="Panne de l'application")
    update_incident(store, incident_id, by="Ops", at=at(1), commander="lead")
    set_target(store, incident_id, "app", at(60), by="Ops", at=at(2))
    with store.engine.begin() as connection:
        alert = connection.execute(
            insert(alerts).values(
                service="app",
                kind="down",
                priority="P1",
                opened_at=START,
                message="tcp: refused",
                level=0,
                roles=["lead"],
            )
        ).inserted_primary_key
    assert alert is not None
    for ok in (True, False):
        watcher.on_delivery(
            DeliveryRecord(
                alert[0], "problem", "lead", "json://…", "[P1] EN PANNE : Application", at(3), 1,
                ok, None if ok else "refused",
            )
        )  # fmt: skip
    watcher.report_progress(incident_id, at(4))
    clock = iter(at(5 + n / 60) for n in range(100))
    options = RunbookOptions(
        by="Ops", incident_id=incident_id, confirm=lambda _q: True, sender=lambda *_: None
    )
    assert run_runbook(plan, store, "recover", options, clock=lambda: next(clock)).status == "done"
    waiting = RunbookOptions(by="Ops", incident_id=incident_id)
    assert run_runbook(plan, store, "confirm", waiting, clock=lambda: next(clock)).status == (
        "waiting"
    )
    set_state(store, incident_id, "app", "up", source="person: Ops", at=at(20), author="Ops")
    closed = close_and_report(plan, store, incident_id, by="Ops", at=at(30), sender=lambda *_: None)
    incident = get_incident(store, incident_id)
    stored = [entry.text for entry in incident.timeline]
    assert any("notification to lead" in text and ": sent:" in text for text in stored)
    assert "closed" in stored and "runbook recover finished" in stored  # stored as before
    final = closed.paths[0].read_text(encoding="utf-8")
    again = render_report(
        plan, incident, runs_of(store, incident_id=incident_id), now=at(31), fmt="md"
    )  # with the final report's own entry
    for text in (final, again):
        own = text.split("## 4.")[1].split("## 6.")[0] + text.split("## 8.")[1]
        assert ENGLISH.findall(own) == [], own
    timeline = again.split("## 8.")[1].split("## 9.")[0]
    for french in (
        "titre\u202f: Panne de l'application",
        "pilote\u202f: lead",
        "app\u202f: retour prévu le 22/09/2024 09:40",
        "notification (problème) à lead (json://…)\u202f: envoyée\u202f: "
        "[P1] EN PANNE : Application",
        "notification (problème) à lead (json://…)\u202f: échec (refused)\u202f:",
        "rapport de progrès envoyé à lead",
        "runbook recover lancé (Reprise de l'application)",
        "runbook recover, étape 1/3 (prévenir lead\u202f: Reprise en cours)\u202f: réussie en "
        "1,0 s — envoyé à 1 contact(s) de lead",
        "étape 2/3 (Vérifier les disques)\u202f: réussie en 1,0 s — confirmé par Ops",
        "étape 3/3 ($ echo bonjour)\u202f: réussie en 1,0 s — code de sortie 0\u202f: bonjour",
        "runbook recover terminé",
        "runbook confirm, étape 1/1 (Confirmer le retour)\u202f: en attente en 1,0 s — en attente "
        "de la confirmation d'une personne",
        "app\u202f: Défaillant → Fonctionnel (saisi par Ops)",
        "incident clos",
        "rapport final écrit (report-fr.md, report-fr.html) et envoyé à 1 contact(s) sur 1",
    ):
        assert french in timeline, (french, timeline)
    assert "app\u202f: contrôles réussis (au plus 10 min)" in again.split("## 4.")[1]
    assert "Runbook confirm arrêté à l'étape 1\u202f: en attente de la confirmation" in again
    english = render_report(
        plan, incident, runs_of(store, incident_id=incident_id), now=at(31), language="en"
    )
    entries = english.split("## 8.")[1].split("## 9.")[0]
    for entry in incident.timeline:  # in English, these entries read as they were stored
        if entry.kind not in ("service", "state", "task"):  # worded in every language before
            assert markdown_text(entry.text) in entries, entry.text

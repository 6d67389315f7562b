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
from typing import Any

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


def test_a_task_kept_under_the_former_wait_check_title_is_still_worded(plan: Plan) -> None:
    from reprise.incidents.records import Task
    from reprise.incidents.report_view import task_words
    from reprise.reports.wording import word_parts

    former = "router: checks pass (at most 10 min)"  # as incidents opened before kept it
    task = Task(3, "router", 2, "wait_check", former, "reprise", "todo", None, None, None, None)
    assert word_parts("fr", task_words(plan, task)) == (
        "Attendre que les contrôles de router passent (au plus 10 min)"
    )


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


def _french_plan_and_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """The small French plan and a fresh state database for it."""
    monkeypatch.setenv("REPRISE_REPOSITORY", str(tmp_path / "repo"))
    path = tmp_path / "reprise.yaml"
    path.write_text(FRENCH_PLAN.format(state=tmp_path / "state"), encoding="utf-8")
    plan = load_plan(path, contacts=False).plan
    return plan, open_store(f"sqlite:///{tmp_path / 'state.db'}")


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

    plan, store = _french_plan_and_state(tmp_path, monkeypatch)
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
        "Application\u202f: retour prévu le 22/09/2024 09:40",
        "notification (problème) à lead (json://…)\u202f: envoyée\u202f: "
        "[P1] EN PANNE : Application",
        "notification (problème) à lead (json://…)\u202f: échec (refused)\u202f:",
        "point de situation envoyé à lead",
        "runbook recover lancé (Reprise de l'application)",
        "runbook recover, étape 1/3 (prévenir lead\u202f: Reprise en cours)\u202f: réussie en "
        "1,0 s — envoyé à 1 contact(s) de lead",
        "étape 2/3 (Vérifier les disques)\u202f: réussie en 1,0 s — confirmé par Ops",
        "étape 3/3 ($ echo bonjour)\u202f: réussie en 1,0 s — code de sortie 0\u202f: bonjour",
        "runbook recover terminé",
        "runbook confirm, étape 1/1 (Confirmer le retour)\u202f: en attente en 1,0 s — en attente "
        "de la confirmation d'une personne",
        "Application\u202f: Défaillant → Fonctionnel (saisi par Ops)",
        "incident clos",
        "rapport final écrit (report-fr.md, report-fr.html) et envoyé à 1 contact(s) sur 1",
    ):
        assert french in timeline, (french, timeline)
    assert (
        "Attendre que les contrôles de Application passent (au plus 10 min)"
        in again.split("## 4.")[1]
    )
    assert "Runbook confirm arrêté à l'étape 1\u202f: en attente de la confirmation" in again
    english = render_report(
        plan, incident, runs_of(store, incident_id=incident_id), now=at(31), language="en"
    )
    entries = english.split("## 8.")[1].split("## 9.")[0]
    for entry in incident.timeline:  # in English, these entries read as they were stored
        # worded in every language before; a target names the service by its name now
        if entry.kind not in ("service", "state", "task", "target"):
            assert markdown_text(entry.text) in entries, entry.text


def test_the_timeline_opens_with_the_failure_detected_root_cause_first(
    plan: Plan, tmp_path: Path
) -> None:
    """As the monitor opens it: the first failing element it confirms opens the incident
    (titled after it), the others seen failing a moment earlier join afterwards."""
    from reprise.incidents.lifecycle import add_services

    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    incident_id = open_incident(
        store,
        plan,
        "Serveur iRedMail en panne",
        ["mail"],
        by="monitor",
        at=at(1),
        source="check: SMTP iRedMail: refused",
    )
    for service in ("openvpn", "router"):  # written openvpn first, router (its root) after
        add_services(
            store,
            plan,
            incident_id,
            [service],
            by="monitor",
            at=START,
            source="check: SSH VyOS: refused",
        )
    incident = get_incident(store, incident_id)
    for language, monitor, first in (
        (
            "fr",
            "surveillance",
            "Panne détectée\u202f: Routeur VyOS (contrôle\u202f: SSH VyOS: refused)",
        ),
        ("en", "monitor", "Failure detected: Routeur VyOS (check: SSH VyOS: refused)"),
    ):
        text = render_report(plan, incident, [], now=at(2), kind="final", language=language)
        timeline = text.split("## 8.")[1].split("## 9.")[0]
        rows = [line for line in timeline.splitlines() if line.startswith("| 2")]
        assert rows[0].endswith(f"| {monitor} | {first} |"), rows
        assert "Routeur VyOS" in rows[1] and "OpenVPN" in rows[2], rows
        assert "Serveur iRedMail" in rows[3], rows
        assert "Serveur iRedMail en panne |" not in timeline  # not a bare title
        moments = [row.split(" | ")[0] for row in rows]
        assert moments == sorted(moments)


def test_manual_tasks_left_open_are_follow_ups_and_closing_needs_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reprise.errors import InputError
    from reprise.usecases.incidents import CloseRequest
    from reprise.usecases.incidents import close_incident as close_use_case

    plan, store = _french_plan_and_state(tmp_path, monkeypatch)
    incident_id = open_incident(
        store, plan, "Panne", ["app"], by="monitor", at=START, source="check: tcp: refused"
    )
    set_state(store, incident_id, "app", "up", source="check: checks pass", at=at(20), author="m")
    task = get_incident(store, incident_id).tasks[0]
    assert (task.kind, task.status) == ("manual", "todo")

    def clock() -> datetime:
        return at(30)

    with pytest.raises(InputError) as refused:
        close_use_case(plan, store, CloseRequest(incident_id, "Ops"), clock)
    message, hint = refused.value.render()
    assert f"task {task.id} (app: Redémarrer l'application) todo" in message
    assert hint is not None and "--force" in hint
    assert get_incident(store, incident_id).status == "open"
    closed = close_use_case(plan, store, CloseRequest(incident_id, "Ops", force=True), clock)
    final = closed.paths[0].read_text(encoding="utf-8")
    followups = final.split("## 10.")[1]
    assert f"Tâche {task.id} (Application)\u202f: Redémarrer l'application — à faire, lead" in (
        followups
    )
    assert "Aucune action de suivi ouverte" not in followups
    english = render_report(
        plan,
        get_incident(store, incident_id),
        runs_of(store, incident_id=incident_id),
        now=at(31),
        language="en",
    )
    assert f"Task {task.id} (Application): Redémarrer l'application — to do, lead" in english


def test_closing_through_the_cli_lists_the_open_tasks(tmp_path: Path, cli: object) -> None:
    from tests.support.seed import SEED, write_seed_plan

    path = write_seed_plan(
        tmp_path / "reprise.yaml", dict.fromkeys(SEED, 9), "json://127.0.0.1:9/hook"
    )
    run: Any = cli
    assert run("--plan", path, "incident", "open", "Coupure", "--services", "router").exit_code == 0
    assert run("--plan", path, "incident", "update", "1", "--state", "router=up").exit_code == 0
    refused = run("--plan", path, "incident", "close", "1")
    assert refused.exit_code == 2, refused.stderr
    assert "manual task(s) still open" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert run("--plan", path, "incident", "close", "1", "--force").exit_code == 0


ROLES_PLAN = FRENCH_PLAN.replace(
    "communication:",
    "  - id: support\n    title: Assistance\n    responsibilities: [Aider]\ncommunication:",
)


def test_every_role_the_lead_by_name_the_final_report_sent_and_a_recovered_title(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reprise.incidents.lifecycle import retitle
    from reprise.incidents.records import record_report

    monkeypatch.setenv("REPRISE_REPOSITORY", str(tmp_path / "repo"))
    path = tmp_path / "reprise.yaml"
    path.write_text(ROLES_PLAN.format(state=tmp_path / "state"), encoding="utf-8")
    plan = load_plan(path, contacts=False).plan
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    incident_id = open_incident(
        store, plan, "Application en panne", ["app"], by="monitor", at=START, source="check: x"
    )
    record_report(store, incident_id, "progress", at(10), "fr", "…")
    set_state(store, incident_id, "app", "up", source="check: checks pass", at=at(20), author="m")
    close_incident(store, incident_id, by="Ops", at=at(30))
    incident = get_incident(store, incident_id)
    for language, words_ in (
        (
            "fr",
            ("sans contact", "Ops (Responsable)", "Coupure\u202f: 1 élément rétabli (Application)"),
        ),
        ("en", ("no contact", "Ops (Responsable)", "Outage: 1 element recovered (Application)")),
    ):
        for fmt in ("md", "html"):
            text = render_report(plan, incident, [], now=at(31), fmt=fmt, language=language)
            no_contact, lead, title = words_
            assert "Assistance" in text and no_contact in text, text
            assert lead in text
            assert title in text and "Application en panne" not in text.split("\n\n")[0]
        markdown = render_report(plan, incident, [], now=at(31), language=language)
        communication = markdown.split("## 7.")[1].split("## 8.")[0]
        assert "08:50 — " in communication and "09:10 — " in communication  # progress, final
    retitle(store, incident_id, "Coupure du site")  # a title a person would give is kept
    kept = render_report(plan, get_incident(store, incident_id), [], now=at(31))
    assert kept.startswith("# Rapport d'incident — Incident 1\u202f: Coupure du site")


def test_several_recovered_elements_are_counted_in_the_title(plan: Plan, tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    services = ["router", "openvpn", "zabbix", "mail", "storage", "windows"]
    incident_id = open_incident(
        store,
        plan,
        "Routeur VyOS et 5 autre(s) élément(s) en panne",
        services,
        by="monitor",
        at=START,
        source="check: SSH VyOS: refused",
    )
    for minutes, service in enumerate(services, start=1):
        set_state(
            store, incident_id, service, "up", source="checks pass", at=at(minutes), author="m"
        )
    incident = get_incident(store, incident_id)
    french = render_report(plan, incident, [], now=at(10), fmt="html")
    assert "Coupure\u202f: 6 éléments rétablis" in french and "autre(s)" not in french
    english = render_report(plan, incident, [], now=at(10), language="en")
    assert english.startswith("# Progress report — Incident 1: Outage: 6 elements recovered")


def test_an_incident_a_person_opens_keeps_its_title_first_in_the_timeline(
    plan: Plan, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    incident_id = open_incident(store, plan, "Coupure annoncée", ["router"], by="Joris", at=START)
    text = render_report(plan, get_incident(store, incident_id), [], now=at(1), kind="final")
    rows = [line for line in text.split("## 8.")[1].splitlines() if line.startswith("| 2")]
    assert rows[0].endswith("| Joris | Coupure annoncée |"), rows
    assert "Panne détectée" not in text

"""What a responder reads on the terminal during an incident comes in the plan's language:
``incident show``, ``plan``, ``next``, ``list`` and the messages of ``open``, ``update``,
``note``, ``task``, ``close`` and ``report``, worded from the catalog as the reports word
them (task titles Reprise gave, states, task statuses, times); ``--json`` stays stable."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_french_output import english_words, typography_faults

NNBSP = "\u202f"
FRENCH_TIME = re.compile(r"\b\d\d/\d\d/\d{4} \d\d:\d\d\b")
ISO_TIME = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d\b")
LABEL = r" CES?T\b"
"""The plan's zone (Europe/Paris) after every time: the same spelling as every door."""
REPORT_FILE = re.compile(r"report-[a-z]+\.(?:md|html)")

PLAN = """\
version: 1
organisation: {{name: AKIG, language: {language}, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 4h, uptime: 99.9%}}
roles:
  - id: lead
    title: Responsable
    permission: admin
    members: [{{name: Ops, contacts: ["json://127.0.0.1:9/x"]}}]
communication: {{progress_report_every: 4h, audiences: [lead]}}
alerting: {{delivery: {{attempts: 1, timeout: 5s}}}}
services:
  - id: routeur
    name: Routeur
    category: network
    criticality: critical
    owner: lead
    checks: [{{kind: tcp, host: 127.0.0.1, port: 9, interval: 1s, timeout: 500ms,
              retries: 0}}]
    procedure:
      - {{kind: manual, text: "Rebrancher le routeur"}}
      - {{kind: wait_check, service: routeur, timeout: 30m}}
  - id: appli
    name: Application
    category: application
    criticality: major
    owner: lead
    depends_on: [routeur]
    checks: [{{kind: tcp, host: 127.0.0.1, port: 9, interval: 1s, timeout: 500ms,
              retries: 0}}]
    procedure:
      - {{kind: manual, text: "Redémarrer l'application"}}
"""


def _opened(tmp_path: Path, cli: Any, language: str) -> tuple[Any, Path]:
    """A plan in ``language`` with incident 1 open on both services; the CLI and the plan."""
    path = tmp_path / "reprise.yaml"
    path.write_text(PLAN.format(language=language), encoding="utf-8")
    run = cli
    opened = run("--plan", path, "incident", "open", "Coupure", "--services", "routeur,appli")
    assert opened.exit_code == 0, opened.stderr
    return run, path


def _output(run: Any, path: Path, *args: str) -> str:
    result = run("--plan", path, "incident", *args)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return str(result.stdout)


def _french(text: str) -> None:
    """No English word and no French punctuation fault (the plan's data is French)."""
    assert english_words(text) == [], text
    assert typography_faults(text) == [], text


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables on one line each, whatever the terminal running the tests."""
    monkeypatch.setenv("COLUMNS", "160")


def test_a_french_plan_s_incident_reads_in_french_on_the_terminal(
    tmp_path: Path, cli: object
) -> None:
    run, path = _opened(tmp_path, cli, "fr")

    listed = _output(run, path, "list")
    assert "sévérité" in listed and "en cours" in listed and "Coupure" in listed
    assert "éléments (en panne/rétablis)" in listed
    _french(listed)

    shown = _output(run, path, "show", "1")
    assert f"Incident 1{NNBSP}: Coupure" in shown
    assert f"en cours{NNBSP}; ouvert le " in shown and f"{NNBSP}; pilote lead" in shown
    assert "cible" in shown and "Défaillant" in shown and "à faire" in shown
    assert "Attendre que les contrôles de routeur passent (au plus 30 min)" in shown
    assert f"routeur rejoint l'incident{NNBSP}: Défaillant" in shown  # the timeline
    assert "Rebrancher le routeur" in shown  # the plan's own text, as written
    _french(shown)

    planned = _output(run, path, "plan", "1")
    assert "1. routeur (Routeur, P1) défaillant, cible " in planned
    assert ", après routeur" in planned
    assert "[à faire] 2. Attendre que les contrôles de routeur passent (au plus 30 min) (lead)" in (
        planned
    )
    _french(planned)

    nexts = _output(run, path, "next", "1")
    assert (
        f"Maintenant{NNBSP}: routeur{NNBSP}: commencer la tâche 1{NNBSP}: "
        "Rebrancher le routeur — lead (Ops)"
    ) in nexts
    assert f"En attente{NNBSP}: appli attend routeur" in nexts
    _french(nexts)

    for text in (listed, shown, planned):  # times as French readers write them
        assert FRENCH_TIME.search(text) and not ISO_TIME.search(text), text
        assert re.search(FRENCH_TIME.pattern + LABEL, text), text


def test_the_json_of_the_incident_commands_stays_as_it_was(tmp_path: Path, cli: object) -> None:
    run, path = _opened(tmp_path, cli, "fr")
    shown = json.loads(_output(run, path, "show", "1", "--json"))
    tasks = {task["id"]: task for task in shown["tasks"]}
    assert tasks[2]["title"] == "Wait until routeur's checks pass (at most 30 min)"
    assert tasks[2]["status"] == "todo"
    planned = json.loads(_output(run, path, "plan", "1", "--json"))
    assert planned["order"][0]["state"] == "down"
    assert planned["order"][1]["waits_for"] == ["routeur"]
    nexts = json.loads(_output(run, path, "next", "1", "--json"))
    assert nexts["actions"][0]["text"] == "start task 1: Rebrancher le routeur"
    listed = json.loads(_output(run, path, "list", "--json"))
    assert listed["incidents"][0]["status"] == "open"


def test_an_english_plan_s_incident_still_reads_in_english(tmp_path: Path, cli: object) -> None:
    run, path = _opened(tmp_path, cli, "en")
    shown = _output(run, path, "show", "1")
    assert "Incident 1: Coupure" in shown and "target" in shown and "to do" in shown
    assert "Wait until routeur's checks pass (at most 30 min)" in shown
    assert ISO_TIME.search(shown) and not FRENCH_TIME.search(shown)
    assert re.search(ISO_TIME.pattern + LABEL, shown), shown
    planned = _output(run, path, "plan", "1")
    assert "1. routeur (Routeur, P1) down, target " in planned and ", after routeur" in planned
    nexts = _output(run, path, "next", "1")
    assert "Now: routeur: start task 1: Rebrancher le routeur — lead (Ops)" in nexts
    assert "Waiting: appli waits for routeur" in nexts
    assert "severity" in _output(run, path, "list")
    moved = _output(run, path, "task", "1", "1", "doing")
    assert moved.strip() == "Task 1 of incident 1: in progress."


def test_the_incident_commands_messages_come_in_french_too(tmp_path: Path, cli: object) -> None:
    run, path = _opened(tmp_path, cli, "fr")
    messages = [
        _output(run, path, "task", "1", "1", "doing"),
        _output(run, path, "update", "1", "--state", "routeur=up", "--cause", "orage"),
        _output(run, path, "note", "1", "courant revenu"),
        _output(run, path, "next", "1"),
        _output(run, path, "update", "1", "--state", "appli=up"),
        _output(run, path, "next", "1"),
    ]
    assert messages[0].strip() == f"Tâche 1 de l'incident 1{NNBSP}: en cours."
    assert messages[1].strip() == f"Incident 1 modifié{NNBSP}; état changé pour routeur."
    assert messages[2].strip() == "Note ajoutée à l'incident 1."
    assert f"Maintenant{NNBSP}: appli{NNBSP}: commencer la tâche 3" in messages[3]
    assert messages[5].strip() == (
        f"Tous les éléments de l'incident 1 sont rétablis{NNBSP}: le clore avec "
        "`reprise incident close 1`."
    )
    for message in messages:
        _french(message)
    written = _output(run, path, "report", "1", "--output", str(tmp_path / "rapport.md"))
    assert written.startswith("Rapport écrit dans ")
    closed = _output(run, path, "close", "1", "--force")
    lines = closed.splitlines()
    assert lines[0] == "Incident 1 clos."
    assert lines[1].startswith(f"Rapport final{NNBSP}: ")
    # The delivery line: our words, then the channel's own error message (data).
    assert f"rapport à lead (json://127.0.0.1:9/x){NNBSP}: ÉCHEC{NNBSP}: " in closed
    shown = _output(run, path, "show", "1")
    assert f"clos{NNBSP}; ouvert le " in shown and "Fonctionnel" in shown and "fait" in shown
    assert "en cours" in shown  # task 1, still in progress when closed by force
    _french(REPORT_FILE.sub("", shown))  # the final report's file names are data

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

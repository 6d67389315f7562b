"""The public status page on a real SQLite state: states recorded by the monitor's alert
engine, incidents opened and annotated through the use cases and the CLI; the page shows
public names, states, day bars and public updates only, never anything internal."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reprise.alerts.engine import AlertEngine
from reprise.alerts.messages import Notification
from reprise.errors import PlanError
from reprise.monitor.board import Board
from reprise.plan.loader import LoadedPlan, load_plan
from reprise.probes.result import ProbeResult
from reprise.statuspage.render import render_status_page
from reprise.store import open_state
from reprise.store.database import Store, open_store
from reprise.usecases.incidents import (
    CloseRequest,
    NoteRequest,
    OpenRequest,
    ReportRequest,
    add_note,
    close_incident,
    incident_report,
    open_incident,
)
from reprise.usecases.status_page import public_status
from tests.conftest import EXAMPLES

NNBSP = "\u202f"

# 12:00 in Paris on a Friday; the mail server went down at 10:00 and came back at 10:30.
NOW = datetime(2026, 11, 20, 11, 0, tzinfo=UTC)
FIRST_SEEN = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
DOWN_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BACK_AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

CHECK_MESSAGE = "connect to mx1.interne.example:25 refused (errno 111)"
INTERNAL_NOTE = "Relancer postfix sur mx1.interne.example, voir avec Jeanne Martin"
INCIDENT_TITLE = "Panne postfix mx1 — disque plein sur srv-mail-07"
PUBLIC_NOTE = "La messagerie est de nouveau joignable ; nous surveillons son fonctionnement."
HOSTILE = "<script>alert(1)</script>"
DSN = "postgresql://monitor@db.interne.example:5432/akig"

STATUS_PAGE = """\
status_page:
  title: État des services AKIG
  services:
    - {service: edge-router, name: Accès Internet, group: Réseau}
    - {service: mx-postfix, name: Messagerie}
"""


def plan_text(status_page: str = STATUS_PAGE, language: str = "fr") -> str:
    return (
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG interne, language: {language}, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        roles:
          - id: lead
            title: Responsable des actions de reprise
            permission: admin
            members:
              - {{name: Jeanne Martin, contacts: ["json://127.0.0.1:9/jeanne"]}}
              - {{name: Paul Durand, contacts: ["json://127.0.0.1:9/paul"]}}
        services:
          - id: edge-router
            name: Routeur VyOS interne
            category: réseau
            criticality: critical
            owner: lead
            host: gw1.interne.example
            checks: [{{kind: tcp, host: 10.20.30.1, port: 22, retries: 0}}]
          - id: mx-postfix
            name: Serveur iRedMail interne
            category: messagerie
            criticality: major
            owner: lead
            host: mx1.interne.example
            checks: [{{kind: tcp, host: mx1.interne.example, port: 25, retries: 0}}]
          - id: akig-db
            name: Base PostgreSQL AKIG
            category: base de données
            criticality: critical
            owner: lead
            checks: [{{kind: postgres, dsn: "{DSN}", query: "select 1"}}]
        """)
        + status_page
    )


@dataclass
class Site:
    """A plan, its state, and the monitor's alert engine fed with check results."""

    loaded: LoadedPlan
    path: Path
    store: Store
    engine: AlertEngine
    board: Board

    def observe(self, service: str, state: str, at: datetime, message: str = "ok") -> None:
        """A check result, as the monitor feeds it: a change is recorded by the engine."""
        for name in self.board.checks[service]:
            change = self.board.observe(
                service,
                name,
                ProbeResult(state, message, 0.01),  # type: ignore[arg-type]
                at,
            )
            if change:
                self.engine.on_change(service, *change, at)


def _site(tmp_path: Path, text: str) -> Iterator[Site]:
    path = tmp_path / "reprise.yaml"
    path.write_text(text)
    loaded = load_plan(path, environ={})
    sent: list[Notification] = []
    with open_state(loaded) as store:
        board = Board(loaded.plan)
        yield Site(loaded, path, store, AlertEngine(loaded.plan, store, board, sent.append), board)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path, plan_text())


def _outage(site: Site) -> None:
    for service in ("edge-router", "mx-postfix", "akig-db"):
        site.observe(service, "up", FIRST_SEEN)
    site.observe("mx-postfix", "down", DOWN_AT, CHECK_MESSAGE)
    site.observe("akig-db", "down", DOWN_AT, f"could not connect to {DSN}")
    site.observe("mx-postfix", "up", BACK_AT)


def test_the_page_follows_a_service_going_down_and_back(site: Site) -> None:
    for service in ("edge-router", "mx-postfix"):
        site.observe(service, "up", FIRST_SEEN)
    site.observe("mx-postfix", "down", DOWN_AT, CHECK_MESSAGE)
    during = public_status(site.loaded.plan, site.store, DOWN_AT + timedelta(minutes=10))
    assert during is not None
    assert [(s.name, s.state) for s in during.services] == [
        ("Accès Internet", "up"),
        ("Messagerie", "down"),
    ]
    assert during.overall == "partial"
    html = render_status_page(site.loaded.plan, during)
    assert "banner-partial" in html and "Perturbation en cours" in html

    site.observe("mx-postfix", "up", BACK_AT)
    page = public_status(site.loaded.plan, site.store, NOW)
    assert page is not None
    assert page.overall == "operational"
    assert page.title == "État des services AKIG"
    router, mail = page.services
    assert (mail.state, len(mail.days)) == ("up", 90)
    today = mail.days[-1]
    assert today.day.isoformat() == "2026-11-20"
    # Seen from 09:00 to 12:00 Paris time, down for 30 minutes of it.
    assert (today.state, today.observed, today.down) == ("down", 3 * 3600, 1800)
    assert today.down_share == pytest.approx(1 / 6)
    assert router.days[-1].state == "up" and router.days[-1].down_share == 0
    assert {bar.state for bar in mail.days[:-1]} == {"no_data"}
    html = render_status_page(site.loaded.plan, page)
    assert f'title="20/11/2026{NNBSP}: indisponible 16,67{NNBSP}% du temps"' in html
    assert f'title="19/11/2026{NNBSP}: pas de données"' in html
    assert html.count('class="day day-down"') == 1
    assert html.count('class="day day-no_data"') == 2 * 89
    assert "banner-operational" in html and "Tous les services fonctionnent normalement" in html
    assert f"83,33{NNBSP}% de disponibilité" in html
    assert f"100{NNBSP}% de disponibilité" in html
    data = page.to_dict()
    assert data["services"][1]["days"][-1] == {
        "date": "2026-11-20",
        "state": "down",
        "down_share": pytest.approx(1 / 6, abs=1e-6),
    }
    assert json.loads(json.dumps(data))["overall"] == "operational"


def _incidents(site: Site, cli: object) -> int:
    """A real incident with an internal and public notes; an exercise and a closed incident
    with public notes that must not show; an incident of an unlisted service."""
    plan, store = site.loaded.plan, site.store
    at = DOWN_AT + timedelta(minutes=1)

    def clock() -> datetime:
        return at

    real = open_incident(
        plan, store, OpenRequest(INCIDENT_TITLE, "Jeanne Martin", ("mx-postfix",)), clock
    )
    add_note(store, NoteRequest(real.id, INTERNAL_NOTE, "Jeanne Martin"), clock)
    result = cli(  # type: ignore[operator]
        "--plan", site.path, "incident", "note", real.id, "--public", PUBLIC_NOTE, "--by", "Paul"
    )
    assert result.exit_code == 0, result.stderr
    add_note(store, NoteRequest(real.id, HOSTILE, "Paul Durand", public=True), clock)
    closed = open_incident(plan, store, OpenRequest("Ancien incident", "x", ("mx-postfix",)), clock)
    add_note(store, NoteRequest(closed.id, "Résolu hier", "x", public=True), clock)
    close_incident(plan, store, CloseRequest(closed.id, "x", "fini", force=True))
    other = open_incident(plan, store, OpenRequest("Base lente", "x", ("akig-db",)), clock)
    add_note(store, NoteRequest(other.id, "Base en cours de reprise", "x", public=True), clock)
    return real.id


def test_only_the_public_updates_of_open_incidents_show(site: Site, cli: object) -> None:
    _outage(site)
    _incidents(site, cli)
    page = public_status(site.loaded.plan, site.store, NOW)
    assert page is not None
    (incident,) = page.incidents
    assert incident.title == "Incident en cours — Messagerie"
    assert incident.services == ["Messagerie"]
    assert [u.text for u in incident.updates] == [PUBLIC_NOTE, HOSTILE]  # newest first
    html = render_status_page(site.loaded.plan, page)
    assert PUBLIC_NOTE.replace("'", "&#39;") in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "Incident en cours — Messagerie" in html
    assert "Début de l&#39;incident" in html and "20/11/2026 10:01" in html
    english = public_status(site.loaded.plan, site.store, NOW, language="en")
    assert english is not None and english.incidents[0].title == "Ongoing incident — Messagerie"
    page_en = render_status_page(site.loaded.plan, english)
    assert '<html lang="en">' in page_en and "Ongoing incidents" in page_en


def test_public_updates_stay_in_the_incident_timeline_and_report(site: Site, cli: object) -> None:
    _outage(site)
    incident_id = _incidents(site, cli)
    report = incident_report(site.loaded.plan, site.store, ReportRequest(incident_id))
    assert INTERNAL_NOTE in report and PUBLIC_NOTE in report
    shown = cli("--plan", site.path, "incident", "show", incident_id)  # type: ignore[operator]
    assert shown.exit_code == 0 and "nous surveillons" in shown.stdout


def test_the_page_and_its_json_show_nothing_internal(site: Site, cli: object) -> None:
    _outage(site)
    incident_id = _incidents(site, cli)
    plan = site.loaded.plan
    page = public_status(plan, site.store, NOW)
    assert page is not None
    html = render_status_page(plan, page)
    document = json.dumps(page.to_dict(), ensure_ascii=False)
    internal = [
        "mx1.interne.example",
        "gw1.interne.example",
        "10.20.30.1",
        "db.interne.example",
        DSN,
        CHECK_MESSAGE,
        "errno",
        "refused",
        "Jeanne",
        "Martin",
        "Paul",
        "Durand",
        INTERNAL_NOTE,
        INCIDENT_TITLE,
        "srv-mail-07",
        "Routeur VyOS interne",
        "Serveur iRedMail interne",
        "Base PostgreSQL AKIG",
        "Base lente",
        "Base en cours de reprise",
        "Résolu hier",
        "edge-router",
        "mx-postfix",
        "akig-db",
        "AKIG interne",
        "json://",
    ]
    for text in internal:
        assert text not in html, text
        assert text not in document, text
    assert f"/incidents/{incident_id}" not in html


def test_the_page_is_standalone_and_needs_nothing_inline(site: Site) -> None:
    _outage(site)
    page = public_status(site.loaded.plan, site.store, NOW)
    assert page is not None
    html = render_status_page(site.loaded.plan, page)
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in html
    assert '<link rel="stylesheet" href="/static/status.css">' in html
    assert '<meta http-equiv="refresh" content="60">' in html
    assert 'name="viewport"' in html
    for inline in ("<script", "<style", " style=", "onclick", "javascript:"):
        assert inline not in html, inline
    assert '<h3 class="group">Réseau</h3>' in html
    assert '<h3 class="group">Autres services</h3>' in html
    assert "Dernière mise à jour" in html and "20/11/2026 12:00" in html
    assert "Heures exprimées dans le fuseau Europe/Paris." in html
    css = Path(__file__).resolve().parents[2] / "src/reprise/web/static/status.css"
    assert "@import" not in css.read_text() and "url(" not in css.read_text()


def test_a_plan_without_a_status_page_has_no_public_page(tmp_path: Path) -> None:
    for loaded_site in _site(tmp_path, plan_text(status_page="")):
        assert public_status(loaded_site.loaded.plan, loaded_site.store, NOW) is None


def test_a_status_page_entry_naming_an_unknown_service_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "reprise.yaml"
    path.write_text(
        plan_text(
            status_page="status_page:\n  services:\n    - {service: mx-postfx, name: Messagerie}\n"
        )
    )
    with pytest.raises(PlanError) as caught:
        load_plan(path, environ={})
    text = " ".join(part for part in caught.value.render() if part)
    assert "status_page.services[0].service" in text
    assert "status page entry 'Messagerie': unknown service 'mx-postfx'" in text
    assert "did you mean 'mx-postfix'?" in text


def test_history_days_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "reprise.yaml"
    path.write_text(plan_text(status_page=STATUS_PAGE + "  history_days: 400\n"))
    with pytest.raises(PlanError, match="history_days"):
        load_plan(path, environ={})


@pytest.mark.parametrize(
    ("example", "names"),
    [
        ("pcra-infra", ["Accès Internet et réseau", "Accès à distance (VPN)", "Messagerie"]),
        ("akig-app", ["Application AKIG", "API AKIG"]),
    ],
)
def test_the_example_plans_have_a_public_page_naming_no_host(
    example: str, names: list[str], tmp_path: Path
) -> None:
    plan = load_plan(EXAMPLES / example / "reprise.yaml", environ={}).plan
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        page = public_status(plan, store, NOW)
    finally:
        store.close()
    assert page is not None and [s.name for s in page.services] == names
    assert page.overall == "unknown"  # nothing checked yet
    html = render_status_page(plan, page)
    assert "État inconnu" in html
    for service in plan.services:
        for text in (service.host, service.name if service.name not in names else None):
            assert not text or text not in html, text
        for check in service.checks:
            for field in ("host", "url", "dsn", "path", "command"):
                value = getattr(check, field, None)
                assert not value or str(value) not in html, value
    for role in plan.roles:
        for member in role.members:
            assert member.name not in html

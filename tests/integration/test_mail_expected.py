"""The mails people receive, in French and English, compared with reviewed expected files:
the router's root-cause alert naming the five services behind it, an escalation, the
router's recovery, a progress report and the final report of a closed incident, each sent
through a real SMTP server on a fixed clock and read back (subject, text/plain, text/html).

After a deliberate change of the wording or the rendering, regenerate the expected files
with ``REPRISE_UPDATE_EXPECTED=1 pytest tests/integration/test_mail_expected.py`` and
review the diff before committing it. No wall-clock time nor port reaches these files:
every moment is given, and the checks' port is the fixed 9 of the seed plan."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest

from reprise.alerts.delivery import send_to_roles
from reprise.alerts.messages import Notification, Writer
from reprise.incidents.closing import close_and_report
from reprise.incidents.lifecycle import add_note, open_incident, set_state, update_incident
from reprise.incidents.watcher import IncidentWatcher
from reprise.plan.checks import TcpCheck
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.probes.run import check_line, service_checks
from reprise.store import Store, open_store
from reprise.words import say
from tests.support.peers import Mailbox, smtp_server, subject_of
from tests.support.seed import SEED, write_seed_plan

EXPECTED = Path(__file__).parent.parent / "data" / "mails"
LANGUAGES = ("fr", "en")
CUT = datetime(2026, 11, 20, 6, 40, 12, tzinfo=UTC)  # 07:40:12 in Paris
"""When the router was seen down."""
DEPENDENT_STATES = {  # as the board tells them: confirmed, not confirmed yet, still up
    "openvpn": "down",
    "zabbix": "down",
    "mail": "pending",
    "storage": "degraded",
    "windows": "up",
}
STILL_DOWN = ("openvpn", "zabbix")
"""Still down when the router recovers."""


def at(seconds: float) -> datetime:
    return CUT + timedelta(seconds=seconds)


def seed_plan(tmp_path: Path, smtp: int, language: str) -> Plan:
    """The seed plan (checks on the fixed port 9) in ``language``, reaching the SMTP server."""
    contact = f"mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=team@infra.test"
    path = write_seed_plan(tmp_path / "reprise.yaml", dict.fromkeys(SEED, 9), contact)
    text = path.read_text(encoding="utf-8")
    assert "language: fr" in text
    path.write_text(text.replace("language: fr", f"language: {language}"), encoding="utf-8")
    return load_plan(path).plan


def send(plan: Plan, notification: Notification, mailbox: Mailbox) -> Message:
    """Deliver through the plan's contacts (one mailbox) and return the mail received."""
    (record,) = asyncio.run(send_to_roles(plan, None, notification))
    assert record.ok, record.error
    (message,) = mailbox.wait_for(1, 10)
    return message


def parts(message: Message) -> dict[str, str]:
    """Decoded text parts by content type (the first of each, attachments left out), with
    the line ends of the files."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_filename() is None:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            text = payload.decode(part.get_content_charset() or "utf-8")
            found.setdefault(part.get_content_type(), text.replace("\r\n", "\n"))
    return found


def failures(plan: Plan, service_id: str) -> list[str]:
    """What the board would say of a service whose TCP checks are refused."""
    language = plan.organisation.language
    lines = []
    for name, check in service_checks(plan.service(service_id)):
        assert isinstance(check, TcpCheck)
        target = f"{check.host}:{check.port}"
        lines.append(check_line(name, say(language, "probe.refused", target=target)))
    return lines


def root_cause_problem(plan: Plan) -> tuple[str, str]:
    """The router's alert as the engine writes it: its failures and every service behind
    it with its state."""
    router = plan.service("router")
    dependents = [
        (service, DEPENDENT_STATES[service.id])
        for service in plan.services
        if "router" in service.depends_on
    ]
    assert {service.id for service, _ in dependents} == set(DEPENDENT_STATES)
    return Writer(plan).problem(router, "down", CUT, failures(plan, "router"), dependents, 12)


def problem(plan: Plan) -> Notification:
    subject, body = root_cause_problem(plan)
    return Notification("problem", ("reprise",), subject, body, 12, "router")


def escalation(plan: Plan) -> Notification:
    subject, body = root_cause_problem(plan)
    subject, body = Writer(plan).escalation(
        subject,
        body,
        1,
        timedelta(minutes=15, seconds=8),
        ["reprise", "communication"],
        told=["reprise"],  # as the engine tells it: the roles that had the alert already
    )
    return Notification("escalation", ("reprise",), subject, body, 12, "router")


def recovery(plan: Plan) -> Notification:
    still_down = [plan.service(service_id) for service_id in STILL_DOWN]
    subject, body = Writer(plan).recovery(
        plan.service("router"), CUT, at(72 * 60 + 12), None, still_down
    )
    return Notification("recovery", ("reprise",), subject, body, 12, "router")


def the_incident(plan: Plan, store: Store) -> int:
    """The power failure as the monitor opens it, the router back, a note, some still down."""
    incident = open_incident(
        store,
        plan,
        "Coupure électrique",
        ["router", "openvpn", "zabbix", "mail", "storage"],
        by="monitor",
        at=CUT,
        source=f"check: {failures(plan, 'router')[0]}",
    )
    update_incident(store, incident, by="Mohamed", at=at(300), cause="Coupure EDF du site")
    add_note(store, incident, "Onduleur du local technique remplacé", by="Mina", at=at(1500))
    for service_id, seconds in (("router", 1812), ("openvpn", 5700), ("mail", 7272)):
        set_state(
            store,
            incident,
            service_id,
            "up",
            source="check: checks pass",
            at=at(seconds),
            author="monitor",
        )
    set_state(
        store,
        incident,
        "storage",
        "degraded",
        source="check: disques lents",
        at=at(6000),
        author="monitor",
    )
    return incident


def progress(plan: Plan, store: Store) -> Notification:
    """The progress report the incident watcher sends, 2 h 30 after the cut."""
    incident = the_incident(plan, store)
    sent: list[Notification] = []
    IncidentWatcher(plan, store, sent.append).report_progress(incident, at(9000))
    (notification,) = sent
    return notification


Build = Callable[[Plan], Notification]
ALERTS: dict[str, Build] = {"problem": problem, "escalation": escalation, "recovery": recovery}


def check_expected(kind: str, language: str, message: Message) -> None:
    """Subject, text and HTML of ``message`` equal the files ``<kind>-<language>.*``."""
    text = parts(message)
    got = {
        "subject": subject_of(message) + "\n",
        "txt": text["text/plain"],
        "html": text["text/html"],
    }
    if os.environ.get("REPRISE_UPDATE_EXPECTED"):
        EXPECTED.mkdir(parents=True, exist_ok=True)
        for suffix, content in got.items():
            (EXPECTED / f"{kind}-{language}.{suffix}").write_text(content, encoding="utf-8")
    for suffix, content in got.items():
        expected = (EXPECTED / f"{kind}-{language}.{suffix}").read_text(encoding="utf-8")
        assert content == expected, f"{kind}-{language}.{suffix}"


@pytest.fixture(autouse=True)
def _state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REPRISE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("REPRISE_REPOSITORY", str(tmp_path / "repo"))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(ALERTS))
def test_an_alert_mail_matches_the_reviewed_files(tmp_path: Path, kind: str, language: str) -> None:
    with smtp_server() as (smtp, mailbox):
        plan = seed_plan(tmp_path, smtp, language)
        notification = ALERTS[kind](plan)
        message = send(plan, notification, mailbox)
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message)["text/plain"] == notification.body
    check_expected(kind, language, message)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_progress_report_mail_matches_the_reviewed_files(tmp_path: Path, language: str) -> None:
    with smtp_server() as (smtp, mailbox):
        plan = seed_plan(tmp_path, smtp, language)
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        notification = progress(plan, store)
        message = send(plan, notification, mailbox)
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message)["text/plain"] == notification.body
    check_expected("progress", language, message)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_final_report_mail_matches_the_reviewed_files(tmp_path: Path, language: str) -> None:
    with smtp_server() as (smtp, mailbox):
        plan = seed_plan(tmp_path, smtp, language)
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        incident = the_incident(plan, store)
        closed = close_and_report(plan, store, incident, by="Mohamed", at=at(4 * 3600), force=True)
        assert len(closed.deliveries) == 1 and closed.deliveries[0].ok
        (message,) = mailbox.wait_for(1, 10)
    assert message.get_content_type() == "multipart/mixed"
    (attached,) = [part for part in message.walk() if part.get_filename()]
    assert attached.get_filename() == f"report-{language}.html"
    assert attached.get_content_type() == "text/html"
    html_path = next(path for path in closed.paths if path.suffix == ".html")
    page = attached.get_payload(decode=True)
    assert page == html_path.read_bytes() and page.startswith(b"<!DOCTYPE html>")
    markdown_path = next(path for path in closed.paths if path.suffix == ".md")
    assert parts(message)["text/plain"] == markdown_path.read_text(encoding="utf-8")
    check_expected("final", language, message)

"""Mails as people read them, through a real SMTP server: text and HTML alternatives of the
same message (Markdown tables rendered, hostile text escaped), and the final report mail
with the HTML report attached. Chat and webhook contacts keep the text alone."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest

from reprise.alerts.delivery import apprise_send, mail_html, send_to_roles
from reprise.alerts.messages import Notification, Writer
from reprise.incidents.closing import close_and_report
from reprise.incidents.lifecycle import open_incident
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.store import open_store
from tests.support.peers import Mailbox, http_server, smtp_server, subject_of
from tests.support.seed import SEED, write_seed_plan

HOSTILE = "<script>alert('x')</script>"
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)


def seed_plan(tmp_path: Path, smtp: int) -> Plan:
    contact = f"mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=team@infra.test"
    path = write_seed_plan(tmp_path / "reprise.yaml", dict.fromkeys(SEED, 9), contact)
    return load_plan(path).plan


def parts(message: Message) -> dict[str, str]:
    """Decoded text parts by content type (the first of each)."""
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_filename() is None:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            text = payload.decode(part.get_content_charset() or "utf-8")
            found.setdefault(part.get_content_type(), text)
    return found


def send(plan: Plan, notification: Notification, mailbox: Mailbox) -> Message:
    (record,) = asyncio.run(send_to_roles(plan, None, notification))
    assert record.ok, record.error
    (message,) = mailbox.wait_for(1, 10)
    return message


def test_an_alert_mail_is_its_text_and_the_same_text_in_escaped_html(tmp_path: Path) -> None:
    with smtp_server() as (smtp, mailbox):
        plan = seed_plan(tmp_path, smtp)
        router = plan.service("router")
        hostile = router.model_copy(update={"name": f"Routeur {HOSTILE}"})
        subject, body = Writer(plan).problem(
            hostile, "down", NOW, [f"http: 500 {HOSTILE}"], [], alert_id=7
        )
        roles = tuple(role.id for role in plan.roles)
        message = send(plan, Notification("problem", roles, subject, body, 7, "router"), mailbox)
    assert message.get_content_type() == "multipart/alternative"
    assert subject_of(message) == subject and "\\[" not in subject_of(message)
    text = parts(message)
    assert text["text/plain"].replace("\r\n", "\n") == body
    page = text["text/html"]
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert "reprise alert ack 7" in page
    assert page.count("<br>") == body.count("\n")  # one line of text, one line of HTML


def test_a_markdown_report_mail_shows_a_real_table(tmp_path: Path) -> None:
    body = (
        "# Point d'avancement\n\n"
        "| Service | État |\n|---|---|\n"
        f"| Routeur {HOSTILE} | En panne |\n| Messagerie | Fonctionnel |\n\n"
        "\\[P1\\] priorité <b>haute</b>\n"
    )
    with smtp_server() as (smtp, mailbox):
        plan = seed_plan(tmp_path, smtp)
        audiences = tuple(plan.communication.audiences)
        message = send(plan, Notification("progress", audiences, "Point 1", body), mailbox)
    assert message.get_content_type() == "multipart/alternative"
    text = parts(message)
    assert text["text/plain"].replace("\r\n", "\n") == body
    page = text["text/html"]
    assert "<table>" in page and "<th>Service</th>" in page and "<td>Fonctionnel</td>" in page
    assert "[P1]" in page and "\\[" not in page
    assert HOSTILE not in page and "<b>" not in page and "&lt;b&gt;haute" in page


def test_the_final_report_mail_carries_the_html_report(tmp_path: Path) -> None:
    with smtp_server() as (smtp, mailbox):
        plan = seed_plan(tmp_path, smtp)
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        incident_id = open_incident(
            store, plan, f"Coupure {HOSTILE}", ["router"], by="Ops", at=NOW, source="person: Ops"
        )
        closed = close_and_report(
            plan, store, incident_id, by="Ops", at=NOW + timedelta(hours=1), force=True
        )
        assert closed.deliveries and all(record.ok for record in closed.deliveries)
        messages = mailbox.wait_for(len(closed.deliveries), 10)
    language = plan.organisation.language
    html_path = next(path for path in closed.paths if path.suffix == ".html")
    markdown_path = next(path for path in closed.paths if path.suffix == ".md")
    assert html_path.name == f"report-{language}.html"
    message = messages[0]
    assert message.get_content_type() == "multipart/mixed"
    assert HOSTILE in subject_of(message) and "\\" not in subject_of(message)
    attached = [part for part in message.walk() if part.get_filename()]
    assert [part.get_filename() for part in attached] == [f"report-{language}.html"]
    assert attached[0].get_content_type() == "text/html"
    assert attached[0].get_payload(decode=True) == html_path.read_bytes()
    text = parts(message)
    report = markdown_path.read_text(encoding="utf-8")
    assert text["text/plain"].replace("\r\n", "\n") == report
    assert "<table>" in text["text/html"] and HOSTILE not in text["text/html"]


@pytest.mark.parametrize("markdown", [False, True])
def test_mail_html_never_passes_raw_html_through(markdown: bool) -> None:
    page = mail_html(f"a {HOSTILE}\n<img src=x onerror=alert(1)>", markdown)
    assert "<script>" not in page and "<img" not in page
    assert page.startswith("<!DOCTYPE html>")


def test_webhook_contacts_get_the_text_alone(tmp_path: Path) -> None:
    report = tmp_path / "report-fr.html"
    report.write_text("<html>rapport</html>", encoding="utf-8")
    body = "| a | b |\n|---|---|\n| 1 | 2 |"
    with http_server() as (port, posts):
        error = apprise_send(
            f"json://127.0.0.1:{port}/hook",
            "[P1] EN PANNE",
            body,
            markdown=True,
            attachments=[report],
        )
    assert error is None
    (post,) = posts
    sent = json.loads(post["body"])
    assert sent["title"] == "[P1] EN PANNE" and sent["message"] == body
    assert not sent.get("attachments")

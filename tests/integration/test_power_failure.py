"""The seed's power failure replayed on real servers on loopback with the monitor running:
what on-call people receive (one alert naming the services behind the router, no per-service
alerts), how fast, and a French final report free of Reprise's own English words.

The elements run what they would run: the router greets like its SSH daemon, the mail server
is a real SMTP server offering STARTTLS, Zabbix is an HTTP server and its PostgreSQL database
(cut as ``pg_ctl stop -m immediate`` does, crash recovery when it comes back), the others are
TCP listeners. Reprise's own alert mails go to another SMTP server, which stays up throughout."""

from __future__ import annotations

import functools
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Protocol

import psycopg
import pytest

from devsupport.peers import (
    SwitchableHttp,
    SwitchableListener,
    SwitchablePostgres,
    SwitchableSmtp,
    body_of,
    self_signed,
    server_context,
    smtp_server,
    subject_of,
)
from devsupport.seed import NAMES, SEED, wait_until, write_seed_plan
from reprise.incidents.records import get_incident, list_incidents
from reprise.plan.loader import load_plan
from reprise.store import Store, open_store
from reprise.usecases.incidents import (
    CloseRequest,
    ReportRequest,
    close_incident,
    incident_report,
)
from tests.integration.test_incidents import RunningMonitor

pytestmark = pytest.mark.postgres  # Zabbix's database is a scratch PostgreSQL server

SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
HISTORY = "select count(*) from history"
"""The Zabbix database's check: a table of Zabbix's there, with its row."""
BEHIND = [s for s in SEED if s != "router"]
RECOVERY = ["router", *BEHIND]
ENGLISH = ["checks pass", "sent to", "progress report", "notification to", "failed", "waiting for"]
THIRD_PARTY = ["errno", "connection refused", "connect call failed", "timed out"]
"""Texts of the OS or libraries quoted in a report (error messages), not Reprise's own."""


@dataclass
class Outcome:
    incidents: int = 0
    down_mails: list[str] = field(default_factory=list)
    router_alerts: list[str] = field(default_factory=list)
    per_service_alerts: list[str] = field(default_factory=list)
    dependents_named: list[str] = field(default_factory=list)
    english_lines: list[str] = field(default_factory=list)
    third_party_lines: list[str] = field(default_factory=list)
    to_incident: float | None = None
    to_first_mail: float | None = None
    first_body: str = ""
    cut_spread: float = 0.0
    """Seconds from the first server cut to the last: a check of the router run in between
    would rightly see it up after a service behind it failed."""
    mail_log: list[str] = field(default_factory=list)
    """Every mail received, as seconds after the failure and subject: shown when a check
    of the mails fails."""


def _dependents_section(body: str) -> str:
    """The part of an alert from its first line mentioning the dependents on."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if "dépendent" in line), None)
    return "" if start is None else "\n".join(lines[start:])


class Switchable(Protocol):
    """A server that the power failure cuts and the recovery starts again."""

    def start(self) -> None: ...
    def cut(self) -> None: ...
    def stop(self) -> None: ...


def _checks(elements: dict[str, list[Switchable]], database: SwitchablePostgres) -> dict[str, str]:
    """Each element checked by the probe of what it runs, every second (the database
    every two)."""
    router, mail, web = elements["router"][0], elements["mail"][0], elements["zabbix"][0]
    assert isinstance(router, SwitchableListener) and isinstance(mail, SwitchableSmtp)
    assert isinstance(web, SwitchableHttp)
    return {
        "router": f"""[{{kind: tcp, host: 127.0.0.1, port: {router.port},
            expect_banner: '^SSH-2\\.0-OpenSSH', interval: 1s, timeout: 500ms, retries: 1}}]""",
        # The certificate is self-signed and valid ten days: trusted here, and not yet
        # expiring soon (which would make the service degraded, not up).
        "mail": f"""[{{kind: smtp, host: 127.0.0.1, port: {mail.port}, tls: starttls,
            verify_tls: false, cert_expiry_days: 5, interval: 1s, timeout: 1s, retries: 1}}]""",
        "zabbix": f"""[{{kind: http, url: "http://127.0.0.1:{web.port}/", interval: 1s,
              timeout: 1s, retries: 1}},
            {{kind: postgres, name: base Zabbix, dsn: "{database.dsn("zabbix")}",
              query: "{HISTORY}", expect: "1", interval: 2s,
              timeout: 1s, retries: 1}}]""",
    }


def replay(directory: Path) -> Outcome:
    """One power failure, from all six up to the closed incident's final report."""
    outcome = Outcome()
    cert, key = self_signed(directory, expired=False)
    with SwitchablePostgres() as database:
        elements: dict[str, list[Switchable]] = {
            "router": [SwitchableListener(banner=SSH_BANNER)],
            "mail": [SwitchableSmtp(tls=server_context(cert, key))],
            "zabbix": [SwitchableHttp(), database],
            "openvpn": [SwitchableListener()],
            "storage": [SwitchableListener()],
            "windows": [SwitchableListener()],
        }
        servers = [server for service in SEED for server in elements[service]]
        try:
            for server in servers:
                server.start()
            with psycopg.connect(database.dsn(), autocommit=True) as connection:
                connection.execute("create database zabbix")
            with psycopg.connect(database.dsn("zabbix"), autocommit=True) as connection:
                connection.execute("create table history (itemid bigint, clock int)")
                connection.execute("insert into history values (1, 0)")
            messages, report = _fail_and_recover(directory, elements, servers, outcome)
        finally:
            for server in servers:
                server.stop()
    _read(outcome, messages, report)
    return outcome


def _fail_and_recover(
    directory: Path,
    elements: dict[str, list[Switchable]],
    servers: list[Switchable],
    outcome: Outcome,
) -> tuple[list[Message], str]:
    """Run the monitor, cut everything, recover in order; the mails and the final report."""
    database = elements["zabbix"][1]
    assert isinstance(database, SwitchablePostgres)
    with smtp_server() as (smtp, mailbox):
        contact = f"mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=team@infra.test"
        ports = {
            s: server.port
            for s in ("openvpn", "storage", "windows")
            if isinstance(server := elements[s][0], SwitchableListener)
        }
        path = write_seed_plan(
            directory / "reprise.yaml", ports, contact, checks=_checks(elements, database)
        )
        plan = load_plan(path).plan
        store = open_store(f"sqlite:///{directory / 'state.db'}")
        with RunningMonitor(plan, store):
            checks = sum(len(service.checks) for service in plan.services)
            wait_until(lambda: _checks_seen_up(store) >= checks, 30, "every check seen up")
            assert list_incidents(store) == [], "an incident before the failure"
            failed_at = time.time()
            # The power goes out: every server refuses connections at once (within a few
            # milliseconds: the router first, as what is behind it is unreachable the moment
            # it goes), then their threads and processes are waited for.
            for server in [server for s in RECOVERY for server in elements[s]]:
                server.cut()
            outcome.cut_spread = time.time() - failed_at
            for server in servers:
                server.stop()
            wait_until(lambda: list_incidents(store), 60, "an incident opened")
            outcome.to_incident = time.time() - failed_at
            wait_until(
                lambda: len(list_incidents(store)[0].services) == 6,
                60,
                "the incident holding the six services",
            )
            wait_until(
                lambda: any("EN PANNE" in subject_of(m) for _, m in mailbox.messages),
                60,
                "an EN PANNE alert",
            )
            with mailbox.lock:
                outcome.to_first_mail = min(at for at, _ in mailbox.messages) - failed_at
            time.sleep(5)  # room for late per-service alerts
            incident_id = list_incidents(store)[0].id
            for service in RECOVERY:  # the router first, then those behind it
                for server in elements[service]:
                    server.start()
                is_up = functools.partial(_is_up, store, incident_id, service)
                wait_until(is_up, 60, f"{service} back up")
            time.sleep(3)  # room for alerts sent during the recovery
        outcome.incidents = len(list_incidents(store, open_only=False))
        close_incident(
            plan,
            store,
            CloseRequest(incident_id, by="Mohamed", note="Courant rétabli", force=True),
        )
        report = incident_report(plan, store, ReportRequest(incident_id, kind="final"))
        with mailbox.lock:
            messages = [m for _, m in mailbox.messages]
            outcome.mail_log = [
                f"t{at - failed_at:+.2f}s {subject_of(m)}" for at, m in mailbox.messages
            ]
    return messages, report


def _checks_seen_up(store: Store) -> int:
    """How many checks have answered up at least once."""
    from sqlalchemy import func, select

    from reprise.store.tables import check_results

    with store.engine.connect() as connection:
        pairs = (
            select(check_results.c.service, check_results.c.check_name)
            .where(check_results.c.state == "up")
            .distinct()
        )
        query = select(func.count()).select_from(pairs.subquery())
        return int(connection.execute(query).scalar_one())


def _is_up(store: Store, incident_id: int, service: str) -> bool:
    """Whether the incident sees ``service`` up again."""
    affected = get_incident(store, incident_id).affected(service)
    return affected is not None and affected.state == "up"


def _read(outcome: Outcome, messages: list[Message], report: str) -> None:
    """What the mails and the report say, into ``outcome``."""
    for message in messages:
        subject = subject_of(message)
        if "EN PANNE" not in subject:
            continue
        outcome.down_mails.append(subject)
        if NAMES["router"] in subject:
            outcome.router_alerts.append(subject)
            body = body_of(message)
            outcome.first_body = outcome.first_body or body
            section = _dependents_section(body)
            outcome.dependents_named = [s for s in BEHIND if NAMES[s] in section]
        elif any(NAMES[s] in subject for s in BEHIND):
            outcome.per_service_alerts.append(subject)
    for line in report.splitlines():
        if any(word in line.lower() for word in ENGLISH):
            if any(text in line.lower() for text in THIRD_PARTY):
                outcome.third_party_lines.append(line)
            else:
                outcome.english_lines.append(line)


def _show(run: int, outcome: Outcome) -> None:
    print(
        f"run {run}: incidents={outcome.incidents} en_panne={len(outcome.down_mails)} "
        f"router_alerts={len(outcome.router_alerts)} "
        f"per_service={len(outcome.per_service_alerts)} "
        f"dependents_named={len(outcome.dependents_named)}/5 "
        f"english_lines={len(outcome.english_lines)} "
        f"(third-party lines excluded={len(outcome.third_party_lines)}) "
        f"failure->incident={outcome.to_incident:.2f}s "
        f"failure->first_mail={outcome.to_first_mail:.2f}s "
        f"(cut spread {outcome.cut_spread * 1000:.1f} ms)"
    )


def _check(outcome: Outcome) -> None:
    assert outcome.cut_spread < 0.05, "the servers were not cut at once"
    assert outcome.incidents == 1
    assert len(outcome.router_alerts) == 1, outcome.mail_log
    assert outcome.per_service_alerts == [], outcome.mail_log
    assert len(outcome.down_mails) == 1, outcome.mail_log
    assert outcome.dependents_named == BEHIND, outcome.first_body
    assert outcome.english_lines == [], outcome.english_lines


def test_power_failure_sends_one_alert_naming_the_services_behind_the_router(
    tmp_path: Path,
) -> None:
    outcome = replay(tmp_path)
    _show(1, outcome)
    _check(outcome)


@pytest.mark.soak
@pytest.mark.timeout(1200)
@pytest.mark.skipif(os.environ.get("REPRISE_SOAK") != "1", reason="REPRISE_SOAK=1 not set")
def test_power_failure_ten_times_in_a_row() -> None:
    outcomes = []
    for run in range(1, 11):
        with tempfile.TemporaryDirectory() as directory:
            outcome = replay(Path(directory))
        _show(run, outcome)
        outcomes.append(outcome)
    for name in ("to_incident", "to_first_mail"):
        values = [getattr(o, name) for o in outcomes]
        print(f"{name}: median={statistics.median(values):.2f}s max={max(values):.2f}s")
    for outcome in outcomes:
        _check(outcome)

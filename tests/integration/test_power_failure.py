"""The seed's power failure replayed on real loopback listeners with the monitor running:
what on-call people receive (one alert naming the services behind the router, no per-service
alerts), how fast, and a French final report free of Reprise's own English words."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from devsupport.peers import SwitchableListener, body_of, smtp_server, subject_of
from devsupport.seed import NAMES, SEED, wait_until, write_seed_plan
from reprise.incidents.records import get_incident, list_incidents
from reprise.plan.loader import load_plan
from reprise.store import open_store
from reprise.usecases.incidents import (
    CloseRequest,
    ReportRequest,
    close_incident,
    incident_report,
)
from tests.integration.test_incidents import RunningMonitor

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


def _dependents_section(body: str) -> str:
    """The part of an alert from its first line mentioning the dependents on."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if "dépendent" in line), None)
    return "" if start is None else "\n".join(lines[start:])


def replay(directory: Path) -> Outcome:
    """One power failure, from all six up to the closed incident's final report."""
    outcome = Outcome()
    listeners = {service: SwitchableListener() for service in SEED}
    for server in listeners.values():
        server.start()
    try:
        with smtp_server() as (smtp, mailbox):
            contact = f"mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=team@infra.test"
            ports = {s: listeners[s].port for s in SEED}
            plan = load_plan(write_seed_plan(directory / "reprise.yaml", ports, contact)).plan
            store = open_store(f"sqlite:///{directory / 'state.db'}")
            with RunningMonitor(plan, store):
                time.sleep(4)  # every service seen up first (checks every second)
                assert list_incidents(store) == [], "an incident before the failure"
                failed_at = time.time()
                # the power goes out: every listening socket closed at once (stopping the
                # servers one after the other takes up to half a second each)
                for server in listeners.values():
                    assert server.server is not None
                    server.server.socket.close()
                for server in listeners.values():
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
                    listeners[service].start()
                    wait_until(
                        lambda s=service: (
                            get_incident(store, incident_id).affected(s).state == "up"
                        ),
                        60,
                        f"{service} back up",
                    )
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
    finally:
        for server in listeners.values():
            server.stop()
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
    return outcome


def _show(run: int, outcome: Outcome) -> None:
    print(
        f"run {run}: incidents={outcome.incidents} en_panne={len(outcome.down_mails)} "
        f"router_alerts={len(outcome.router_alerts)} "
        f"per_service={len(outcome.per_service_alerts)} "
        f"dependents_named={len(outcome.dependents_named)}/5 "
        f"english_lines={len(outcome.english_lines)} "
        f"(third-party lines excluded={len(outcome.third_party_lines)}) "
        f"failure->incident={outcome.to_incident:.2f}s "
        f"failure->first_mail={outcome.to_first_mail:.2f}s"
    )


def _check(outcome: Outcome) -> None:
    assert outcome.incidents == 1
    assert len(outcome.router_alerts) == 1, outcome.down_mails
    assert outcome.per_service_alerts == [], outcome.per_service_alerts
    assert len(outcome.down_mails) == 1, outcome.down_mails
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

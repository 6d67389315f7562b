"""The power failure, told right: the monitor (board, alert engine, incident watcher and
dispatcher together) driven with results on an injected clock, and what its sender
actually delivers. The router goes down with the five services behind it:

- the root cause's alert waits (bounded) for the services behind it to be checked after
  the failure began, then names every one of them with its state — one alert;
- a router result whose check began before the cut cannot show the router up after it;
- while the incident is open, the services behind the router recovering in turn send no
  alerts of their own (the incident's timeline has them); after it is closed, a service
  still down alerts as usual;
- the router's recovery lists exactly the services still down."""

from __future__ import annotations

import asyncio
import re
import textwrap
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reprise.incidents.lifecycle import close_incident
from reprise.incidents.records import Incident, get_incident, list_incidents
from reprise.orchestrators.monitor import Monitor
from reprise.plan.loader import load_plan
from reprise.probes.result import ProbeResult

ELEMENTS = [  # id, name, category, criticality, priority, retries
    ("router", "Routeur VyOS", "réseau", "critical", "P1", 0),
    ("mail", "Serveur Iredmail", "messagerie", "major", "P1", 0),
    ("zabbix", "Zabbix", "supervision", "major", "P1", 0),
    ("openvpn", "OpenVPN", "réseau", "major", "P1", 0),
    ("storage", "Serveur GUI de stockage", "stockage", "major", "P2", 1),
    ("windows", "Windows Server Core", "serveur", "minor", "P3", 0),
]
BEHIND = [element[0] for element in ELEMENTS[1:]]
LABEL = {element[0]: f"{element[1]} ({element[0]})" for element in ELEMENTS}
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday morning
ALERT = re.compile(r"^\[P\d\] ")


def plan_text(extra: str = "") -> str:
    services = "".join(
        f"""\
  - id: {sid}
    name: "{name}"
    category: {category}
    criticality: {criticality}
    priority: {priority}
    owner: reprise
    {"" if sid == "router" else "depends_on: [router]"}
    checks: [{{kind: tcp, host: 10.0.0.{index}, port: 22, interval: 30s, timeout: 5s,
              retries: {retries}}}]
    procedure:
      - {{kind: manual, text: "Redémarrer {name}"}}
"""
        for index, (sid, name, category, criticality, priority, retries) in enumerate(
            ELEMENTS, start=1
        )
    )
    return (
        textwrap.dedent("""\
        version: 1
        organisation: {name: Infrastructure, language: fr, timezone: Europe/Paris}
        objectives: {rpo: 24h, rto: 4h, uptime: 99.5%}
        roles:
          - id: reprise
            title: Responsable des actions de reprise
            permission: admin
            members: [{name: Mohamed, contacts: ["json://127.0.0.1:9/reprise"]}]
          - id: communication
            title: Supervision et communication
            members: [{name: Mina, contacts: ["json://127.0.0.1:9/communication"]}]
        communication: {progress_report_every: 4h, audiences: [communication]}
        """)
        + extra
        + "services:\n"
        + services
    )


class Rig:
    """The monitor on a clock the test moves, with a sender that keeps what it is given."""

    def __init__(self, tmp_path: Path, extra: str = "") -> None:
        path = tmp_path / "reprise.yaml"
        path.write_text(plan_text(extra))
        self.plan = load_plan(path, environ={}).plan
        from reprise.store import open_store

        self.store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        self.now = START
        self.delivered: list[tuple[str, str, str]] = []
        self.monitor = Monitor(self.plan, self.store, clock=lambda: self.now, sender=self._send)

    def _send(self, url: str, subject: str, body: str) -> str | None:
        self.delivered.append((url, subject, body))
        return None

    async def result(
        self, service: str, state: str, *, started: datetime | None = None, after: float = 0
    ) -> None:
        """One result of the service's check, observed now (begun ``started``)."""
        self.now += timedelta(seconds=after)
        message = "connexion refusée" if state == "down" else "port ouvert"
        for name in self.monitor.board.checks[service]:
            result = ProbeResult(state, message, 0.01, started_at=started)  # type: ignore[arg-type]
            self.monitor.observe(service, name, result, self.now)
        await self.monitor.dispatcher.drain(5)

    async def advance(self, seconds: float) -> None:
        """Move the clock and run the monitor's periodic work."""
        self.now += timedelta(seconds=seconds)
        self.monitor.engine.tick(self.now)
        self.monitor.incidents.tick(self.now)
        await self.monitor.dispatcher.drain(5)

    def alerts(self) -> list[tuple[str, str]]:
        """(subject, body) of every alert delivered to the router's team."""
        return [
            (subject, body)
            for url, subject, body in self.delivered
            if url.endswith("/reprise") and ALERT.match(subject)
        ]

    def subjects(self) -> list[str]:
        return [subject for subject, _ in self.alerts()]

    def incident(self) -> Incident:
        (summary,) = list_incidents(self.store, open_only=False)
        return get_incident(self.store, summary.id)


def run(scenario: Callable[[Rig], Awaitable[None]], rig: Rig) -> None:
    async def main() -> None:
        try:
            await scenario(rig)
        finally:
            rig.monitor.dispatcher.close()

    asyncio.run(main())


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


async def all_up(rig: Rig) -> None:
    for service in ("router", *BEHIND):
        await rig.result(service, "up")
    assert rig.delivered == []


def dependents_listed(body: str) -> dict[str, str]:
    """``service id → state words`` from the root cause's list of services behind it."""
    found = {}
    for line in body.splitlines():
        match = re.match(r"^  - .* \((\w+)\)\s*: (.+)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


async def power_failure(rig: Rig) -> None:
    """The cut at START + 10 s: the router is seen down at + 12 s, the services behind it
    one by one within root_cause_wait (30 s); windows, on another circuit, stays up."""
    await all_up(rig)
    cut = START + timedelta(seconds=10)
    await rig.result("router", "down", started=cut + timedelta(seconds=1), after=12)
    for service, state, after in (
        ("mail", "down", 3),
        ("zabbix", "down", 5),
        ("openvpn", "down", 6),
        ("storage", "down", 4),  # one failure of two: not confirmed yet
    ):
        await rig.advance(after - 1)
        assert rig.alerts() == [], f"the router's alert did not wait for {service}"
        await rig.result(service, state, started=rig.now, after=1)
        if service != "storage":
            assert rig.alerts() == []
    await rig.result("windows", "up", started=rig.now, after=2)
    await rig.advance(1)  # the monitor's next tick


def test_the_root_cause_alert_waits_for_the_services_behind_it_and_names_all(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        await power_failure(rig)
        # Every service behind the router has been checked since the failure began: the
        # one alert goes out, 22 s after the router was seen down (not as soon as it was).
        ((subject, body),) = rig.alerts()
        assert subject == "[P1] EN PANNE — Routeur VyOS (router)"
        assert dependents_listed(body) == {
            "mail": "en panne",
            "zabbix": "en panne",
            "openvpn": "en panne",
            "storage": "pas encore confirmé",
            "windows": "toujours en service",
        }
        assert "Services qui en dépendent" in body
        # storage is confirmed later: the incident says so; no new alert.
        await rig.result("storage", "down", started=rig.now, after=20)
        for _ in range(10):
            await rig.advance(60)
        assert len(rig.alerts()) == 1
        incident = rig.incident()
        assert {s.service for s in incident.services} == {"router", *BEHIND} - {"windows"}
        assert incident.affected("storage").state == "down"  # type: ignore[union-attr]

    run(scenario, rig)


def test_the_root_cause_wait_is_bounded(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        await all_up(rig)
        await rig.result("router", "down", after=12)
        await rig.result("mail", "down", after=5)
        await rig.advance(24)  # 29 s after the router was seen down
        assert rig.alerts() == []
        await rig.advance(1)  # root_cause_wait (30 s) reached: told with what is known
        ((subject, body),) = rig.alerts()
        assert subject == "[P1] EN PANNE — Routeur VyOS (router)"
        listed = dependents_listed(body)
        assert listed["mail"] == "en panne"
        assert {listed[s] for s in BEHIND if s != "mail"} == {"pas encore confirmé"}

    run(scenario, rig)


def test_a_router_check_begun_before_the_cut_does_not_release_the_hold(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        await all_up(rig)
        cut = START + timedelta(seconds=10)
        await rig.result("mail", "down", started=cut + timedelta(seconds=1), after=12)
        # Under load: the router's check began before the cut and finished after mail
        # was seen down. It cannot show the router up after the failure.
        await rig.result("router", "up", started=cut - timedelta(seconds=2), after=2)
        for _ in range(5):
            await rig.advance(1)
        assert rig.alerts() == [], "mail alerted on its own: the router was not checked"
        await rig.result("router", "down", started=rig.now, after=1)
        for service in BEHIND[1:]:
            await rig.result(service, "down", started=rig.now, after=1)
        await rig.advance(1)
        assert rig.subjects() == ["[P1] EN PANNE — Routeur VyOS (router)"]
        await rig.advance(300)
        assert rig.subjects() == ["[P1] EN PANNE — Routeur VyOS (router)"]

    run(scenario, rig)


async def router_recovers(rig: Rig) -> str:
    """After the power failure, the router back at + 10 min; returns its recovery's body."""
    await power_failure(rig)
    await rig.result("storage", "down", started=rig.now, after=20)
    await rig.advance(9 * 60)
    await rig.result("router", "up", started=rig.now, after=1)
    recovery = [body for subject, body in rig.alerts() if "RÉTABLI" in subject]
    assert rig.subjects()[-1] == "[P1] RÉTABLI — Routeur VyOS (router)"
    assert len(recovery) == 1
    return recovery[0]


def test_the_routers_recovery_lists_exactly_the_services_still_down(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        body = await router_recovers(rig)
        (line,) = [line for line in body.splitlines() if line.startswith("Toujours en panne")]
        named = set(re.findall(r"\((\w+)\)", line))
        assert named == {"mail", "zabbix", "openvpn", "storage"}  # windows stayed up

    run(scenario, rig)


def test_recovery_in_turn_during_the_incident_sends_no_alerts_of_its_own(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        await router_recovers(rig)
        before = rig.subjects()
        # The ordered recovery: every service still down is checked again (still down,
        # waiting its turn), then comes back one by one.
        for service in ("mail", "zabbix", "openvpn", "storage"):
            await rig.result(service, "down", started=rig.now, after=1)
        for _ in range(3):
            await rig.advance(1)
        for service in ("openvpn", "mail", "zabbix"):
            await rig.advance(5 * 60)
            await rig.result(service, "up", started=rig.now, after=1)
        await rig.advance(20 * 60)  # past a P1's reminder period
        assert rig.subjects() == before, "alerts of their own during the open incident"
        incident = rig.incident()
        assert incident.status == "open"
        for service in ("openvpn", "mail", "zabbix"):
            history = [record.state for record in incident.history(service)]
            assert history == ["down", "up"], (service, history)
        timeline = [
            entry.details.get("service") for entry in incident.timeline if entry.kind == "state"
        ]
        assert {"router", "openvpn", "mail", "zabbix"} <= set(timeline)
        notified = [e.text for e in incident.timeline if e.kind == "notification"]
        assert len(notified) == 2, notified  # the router's alert and its recovery

    run(scenario, rig)


def test_after_the_incident_is_closed_a_service_still_down_alerts(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        await router_recovers(rig)
        for service in ("mail", "zabbix", "openvpn", "storage"):
            await rig.result(service, "down", started=rig.now, after=1)
        for service in ("mail", "zabbix", "openvpn"):
            await rig.result(service, "up", started=rig.now, after=60)
        await rig.advance(60)
        before = rig.subjects()
        assert not any("Serveur GUI" in subject for subject in before)
        incident = rig.incident()
        close_incident(rig.store, incident.id, by="Mohamed", at=rig.now, force=True)
        await rig.advance(1)
        assert rig.subjects()[len(before) :] == [
            "[P2] EN PANNE — Serveur GUI de stockage (storage)"
        ]
        await rig.result("storage", "up", started=rig.now, after=60)
        assert rig.subjects()[-1] == "[P2] RÉTABLI — Serveur GUI de stockage (storage)"

    run(scenario, rig)


def test_with_during_incident_alerts_every_service_alerts_on_its_own(tmp_path: Path) -> None:
    rig = Rig(tmp_path, "alerting: {during_incident: alerts}\n")

    async def scenario(rig: Rig) -> None:
        await router_recovers(rig)
        await rig.result("mail", "down", started=rig.now, after=1)
        await rig.advance(1)
        assert rig.subjects()[-1] == "[P1] EN PANNE — Serveur Iredmail (mail)"

    run(scenario, rig)


def test_a_new_root_cause_during_an_announced_incident_is_still_told(rig: Rig) -> None:
    async def scenario(rig: Rig) -> None:
        await all_up(rig)
        await rig.result("mail", "down", after=12)  # mail fails alone: its incident, paged
        await rig.result("router", "up", started=rig.now + timedelta(seconds=1), after=2)
        await rig.advance(1)
        assert rig.subjects() == ["[P1] EN PANNE — Serveur Iredmail (mail)"]
        # Five minutes later (within the grouping window) the router goes down: it joins
        # mail's incident, and, being the cause of the others' failure, is told.
        await rig.advance(5 * 60)
        await rig.result("router", "down", started=rig.now, after=1)
        for service in BEHIND[1:]:
            await rig.result(service, "down", started=rig.now, after=1)
        await rig.advance(1)
        assert rig.subjects() == [
            "[P1] EN PANNE — Serveur Iredmail (mail)",
            "[P1] EN PANNE — Routeur VyOS (router)",
        ]
        assert "router" in {s.service for s in rig.incident().services}

    run(scenario, rig)

"""The alert engine driven by an injected clock (no sleeps), on a real SQLite state store:
dependency suppression, escalation, acknowledgement, digests, flapping, maintenance,
silences, degraded states, messages in the plan's language, delivery retries."""

from __future__ import annotations

import asyncio
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reprise.alerts.delivery import Dispatcher
from reprise.alerts.engine import AlertEngine
from reprise.alerts.messages import Notification
from reprise.alerts.records import acknowledge, add_silence, end_silence, list_alerts
from reprise.errors import PlanError
from reprise.monitor.board import Board
from reprise.plan.loader import load_plan
from reprise.probes.result import ProbeResult
from reprise.store import open_store
from reprise.store.events import list_events

BEHIND_ROUTER = ("vpn", "mail", "zabbix", "storage", "windows")


def plan_text(language: str = "en", extra: str = "") -> str:
    services = "\n".join(
        f"""  - {{id: {name}, name: Service {name}, category: serveur, criticality: major,
      owner: responders, depends_on: [router],
      checks: [{{kind: tcp, host: 10.0.0.{index}, port: 22, retries: 0}}]}}"""
        for index, name in enumerate(BEHIND_ROUTER, start=2)
    )
    return (
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: {language}, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        priorities:
          P1: {{response: 15m, escalate_to: [responders, direction]}}
        roles:
          - {{id: lead, title: Lead, permission: admin,
              members: [{{name: Lead, contacts: ["json://127.0.0.1:9/lead"]}}]}}
          - {{id: responders, title: Responders, members: []}}
          - {{id: direction, title: Direction, members: []}}
          - {{id: minor, title: Minor, members: []}}
        """)
        + extra
        + textwrap.dedent("""\
        services:
          - id: router
            name: Routeur VyOS
            category: réseau
            criticality: critical
            owner: lead
            checks: [{kind: tcp, host: 10.0.0.1, port: 22, retries: 0}]
            procedure:
              - {kind: manual, text: Redémarrer le routeur et vérifier la configuration}
          - {id: wiki, name: Wiki, category: application, criticality: minor, owner: minor,
             checks: [{kind: tcp, host: 10.0.0.50, port: 80, retries: 0}]}
          - {id: intranet, name: Intranet, category: application, criticality: minor,
             owner: minor, checks: [{kind: tcp, host: 10.0.0.51, port: 80, retries: 0}]}
        """)
        + services
        + "\n"
    )


class Harness:
    """A plan, a store, a board and an engine, with a clock the test moves."""

    def __init__(self, tmp_path: Path, text: str) -> None:
        path = tmp_path / "reprise.yaml"
        path.write_text(text)
        self.plan = load_plan(path, environ={}).plan
        self.store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        self.board = Board(self.plan)
        self.sent: list[Notification] = []
        self.engine = AlertEngine(self.plan, self.store, self.board, self.sent.append)
        # A Friday afternoon in Paris.
        self.now = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)

    def feed(self, service: str, state: str, message: str = "connection refused") -> None:
        for name in self.board.checks[service]:
            change = self.board.observe(service, name, ProbeResult(state, message, 0.01), self.now)  # type: ignore[arg-type]
            if change:
                self.engine.on_change(service, *change, self.now)
        self.engine.evaluate(self.now)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
        self.engine.tick(self.now)

    def kinds(self) -> list[tuple[str, str | None]]:
        return [(n.kind, n.service) for n in self.sent]


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path, plan_text())
    for service in harness.plan.services:
        harness.feed(service.id, "up")
    assert harness.sent == []
    return harness


def test_a_router_failure_sends_one_alert_naming_the_five_services_behind_it(h: Harness) -> None:
    # The services behind the router notice first: their alerts wait for the router's check.
    for name in BEHIND_ROUTER:
        h.feed(name, "down")
        h.advance(seconds=1)
    assert h.sent == []
    h.feed("router", "down")
    assert h.kinds() == [("problem", "router")]
    body = h.sent[0].body
    for name in BEHIND_ROUTER:
        assert f"Service {name} ({name})" in body
    assert h.sent[0].roles == ("lead",)
    assert (
        "Redémarrer le routeur" in body and h.sent[0].subject == "[P1] DOWN — Routeur VyOS (router)"
    )
    # Suppression holds alerts only: states are recorded, and the services still alert
    # on their own once the router is back and they are still down.
    states = [e for e in list_events(h.store, kind="service.state") if e.payload["to"] == "down"]
    assert {e.subject for e in states} == {"router", *BEHIND_ROUTER}
    held = {a.service: a.root for a in list_alerts(h.store)}
    assert all(held[name] == "router" for name in BEHIND_ROUTER)
    h.sent.clear()
    h.feed("router", "up")
    h.feed("vpn", "up")
    kinds = h.kinds()
    assert ("recovery", "router") in kinds and ("recovery", "vpn") in kinds
    router_recovery = next(n for n in h.sent if n.service == "router")
    assert "Still down" in router_recovery.body and "mail" in router_recovery.body
    vpn_recovery = next(n for n in h.sent if n.service == "vpn")
    assert "Routeur VyOS" in vpn_recovery.body and vpn_recovery.roles == ("lead",)
    h.sent.clear()
    h.advance(seconds=1)
    assert h.sent == [], "mail was not re-checked since the router came back: wait"
    h.feed("mail", "down")  # still down, and the router is not the cause any more
    assert h.kinds() == [("problem", "mail")]


def test_p1_escalates_every_15_minutes_until_acknowledged(h: Harness) -> None:
    h.feed("router", "down")
    assert [n.roles for n in h.sent] == [("lead",)]
    h.advance(minutes=14)
    assert len(h.sent) == 1
    h.advance(minutes=1)
    assert h.sent[-1].kind == "escalation" and h.sent[-1].roles == ("lead", "responders")
    assert "Reminder 1" in h.sent[-1].body
    assert h.sent[-1].subject.startswith("Reminder 1 — [P1] ")
    assert "now also sent to Responders." in h.sent[-1].body  # the role added, by its title
    h.advance(minutes=15)
    assert h.sent[-1].roles == ("lead", "responders", "direction")
    assert "now also sent to Direction." in h.sent[-1].body  # not the roles told before
    h.advance(minutes=15)  # no role left to add: a reminder to the same roles
    assert h.sent[-1].subject.startswith("Reminder 3 — ") and "also sent" not in h.sent[-1].body
    acked = acknowledge(h.store, "router", "alice")
    assert [a.service for a in acked] == ["router"]
    h.advance(minutes=1)
    count = len(h.sent)
    h.advance(hours=2)
    assert len(h.sent) == count, "escalation continued after the acknowledgement"
    h.feed("router", "up")
    assert h.sent[-1].kind == "recovery"
    assert h.sent[-1].roles == ("lead", "responders", "direction")


def test_p2_is_repeated_hourly_and_degraded_is_told_once(h: Harness) -> None:
    h.feed("mail", "degraded", "slow: 900 ms")
    assert h.sent == [], "held until the router it depends on is checked again"
    h.advance(seconds=1)
    h.feed("router", "up")
    assert h.kinds() == [("problem", "mail")] and "DEGRADED" in h.sent[0].subject
    h.advance(hours=3)
    assert len(h.sent) == 1, "a degraded service does not escalate"
    h.feed("mail", "down")
    assert len(h.sent) == 1, "the router was not checked since: wait for it"
    h.advance(seconds=1)
    h.feed("router", "up")
    assert h.kinds()[-1] == ("problem", "mail") and "DOWN" in h.sent[-1].subject
    h.advance(minutes=59)
    assert len(h.sent) == 2
    h.advance(minutes=1)
    assert h.sent[-1].kind == "escalation" and "[P2]" in h.sent[-1].subject


def test_p3_problems_wait_for_one_digest_on_the_next_business_day(h: Harness) -> None:
    h.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # Friday 19:00 in Paris
    h.feed("wiki", "down")
    h.feed("intranet", "down")
    h.advance(minutes=30)
    h.feed("intranet", "up")  # recovered before anyone was told: listed as resolved
    assert h.sent == []
    h.advance(hours=36)  # Sunday morning
    assert h.sent == []
    h.now = datetime(2026, 11, 23, 6, 59, tzinfo=UTC)  # Monday 07:59 Paris
    h.advance(seconds=0)
    assert h.sent == []
    h.advance(minutes=1)  # Monday 08:00 Paris
    assert h.kinds() == [("digest", None)]
    digest = h.sent[0]
    assert digest.roles == ("minor",) and "2 minor problem(s)" in digest.subject
    assert "Wiki (wiki)" in digest.body and "Intranet (intranet)" in digest.body
    assert "resolved at" in digest.body and "open" in digest.body
    h.advance(days=1)
    assert len(h.sent) == 1


def test_flapping_gives_one_alert_then_quiet_until_stable(h: Harness) -> None:
    for _ in range(4):
        h.feed("router", "down")
        h.advance(seconds=20)
        h.feed("router", "up")
        h.advance(seconds=20)
    kinds = h.kinds()
    assert kinds.count(("flapping", "router")) == 1
    flapping_at = kinds.index(("flapping", "router"))
    count = len(h.sent)
    h.feed("router", "down")
    h.advance(minutes=5)
    assert len(h.sent) == count, "alerts continued while flapping"
    h.advance(minutes=5)  # stable (down) for the whole window
    assert h.kinds()[count] == ("stable", "router") and "DOWN" in h.sent[count].body
    # The problem, open since before the flapping, is told now: its alert was still
    # waiting for the services behind the router to be checked when the flapping began
    # (root_cause_wait), so it was never sent. Then it escalates on its schedule.
    assert h.kinds()[count + 1 :] == [("problem", "router")]
    h.advance(minutes=15)
    assert ("escalation", "router") in h.kinds()[count + 1 :]
    assert flapping_at <= 5


def test_maintenance_windows_hold_alerts_until_they_end(tmp_path: Path) -> None:
    extra = textwrap.dedent("""\
        alerting:
          maintenance:
            - {services: [router], reason: Mise à jour VyOS, start: "2026-11-20T15:00:00",
               end: "2026-11-20T16:00:00"}
        """)
    h = Harness(tmp_path, plan_text(extra=extra))
    for service in h.plan.services:
        h.feed(service.id, "up")
    h.feed("router", "down")  # 15:00 Paris: inside the window
    h.advance(minutes=30)
    assert h.sent == []
    assert h.engine.suppressed_by("router", h.now) == "maintenance: Mise à jour VyOS"
    h.advance(minutes=31)
    assert h.kinds() == [("problem", "router")]


def test_a_silence_holds_alerts_and_ending_it_releases_them(h: Harness) -> None:
    silence = add_silence(
        h.store, "router", h.now, h.now + timedelta(hours=2), "disk replacement", "alice"
    )
    h.advance(seconds=1)
    h.feed("router", "down")
    h.advance(minutes=30)
    assert h.sent == []
    end_silence(h.store, silence.id, at=h.now)
    h.advance(seconds=1)
    assert h.kinds() == [("problem", "router")]


def test_messages_are_written_in_the_plans_language(tmp_path: Path) -> None:
    h = Harness(tmp_path, plan_text("fr"))
    for service in h.plan.services:
        h.feed(service.id, "up")
    h.feed("router", "down", "10.0.0.1:22: connection refused (nothing listening)")
    message = h.sent[0]
    assert message.subject == "[P1] EN PANNE — Routeur VyOS (router)"
    assert "Ce qui a échoué" in message.body and "connection refused" in message.body
    # French typography: a narrow no-break space before the colon, day-first dates.
    assert "Depuis\u202f: 20/11/2026 15:00:00 CET" in message.body
    assert "Depuis: " not in message.body and "Depuis : " not in message.body
    assert "P1 (réponse attendue sous 15 min)" in message.body
    assert "Première étape de la procédure\u202f: Redémarrer le routeur" in message.body
    assert f"reprise alert ack {list_alerts(h.store)[0].id}" in message.body


def test_deliveries_are_retried_with_backoff_and_failures_stored(h: Harness) -> None:
    calls: list[str] = []
    waits: list[float] = []

    def flaky(url: str, subject: str, body: str) -> str | None:
        calls.append(url)
        return None if len(calls) >= 3 else "connection refused"

    def broken(url: str, subject: str, body: str) -> str | None:
        raise RuntimeError("plugin crashed")

    async def no_sleep(seconds: float) -> None:
        waits.append(seconds)

    note = Notification("problem", ("lead",), "subject", "body", None, "router")

    async def deliver(sender: object) -> list[object]:
        dispatcher = Dispatcher(h.plan, h.store, sender, sleep=no_sleep)  # type: ignore[arg-type]
        try:
            return [await dispatcher.deliver("lead", "json://127.0.0.1:9/lead", note)]
        finally:
            dispatcher.close()

    (ok,) = asyncio.run(deliver(flaky))
    assert ok.ok and ok.attempts == 3 and waits == [5.0, 10.0]  # type: ignore[attr-defined]
    (failed,) = asyncio.run(deliver(broken))
    assert not failed.ok and failed.attempts == 4  # type: ignore[attr-defined]
    assert "plugin crashed" in failed.error  # type: ignore[attr-defined]
    from reprise.alerts.records import list_deliveries

    stored = list_deliveries(h.store, failed_only=True)
    assert len(stored) == 1 and stored[0].contact == "json://127.0.0.1:9/lead"


def test_invalid_apprise_urls_are_rejected_naming_role_and_contact(tmp_path: Path) -> None:
    text = plan_text().replace(
        'contacts: ["json://127.0.0.1:9/lead"]',
        'contacts: ["json://127.0.0.1:9/lead", "tgram://nope"]',
    )
    path = tmp_path / "reprise.yaml"
    path.write_text(text)
    with pytest.raises(PlanError) as caught:
        load_plan(path, environ={})
    message = str(caught.value)
    assert "role 'lead', member 'Lead': contact 2 (tgram://nope) is not a URL Apprise" in message
    assert "reprise.yaml:" in message

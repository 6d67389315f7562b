"""Incidents driven by the monitor on real loopback services (the seed's power failure),
grouping, progress reports, and the incident commands' handling of bad input."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reprise.incidents.closing import close_and_report
from reprise.incidents.lifecycle import open_incident
from reprise.incidents.records import Incident, get_incident, list_incidents
from reprise.incidents.recovery import incident_plan, next_actions
from reprise.incidents.watcher import IncidentWatcher
from reprise.orchestrators.monitor import Monitor
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.store import Store, open_store
from tests.support.peers import SwitchableListener, body_of, smtp_server, subject_of
from tests.support.seed import NAMES, SEED, wait_until, write_seed_plan


class RunningMonitor:
    """The monitor in a thread of this process, on the wall clock."""

    def __init__(self, plan: Plan, store: Store) -> None:
        self.monitor = Monitor(plan, store)
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.stop_event = asyncio.Event()
            await self.monitor.run(self.stop_event, tick=0.2)

        self.loop.run_until_complete(main())

    def __enter__(self) -> RunningMonitor:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        while self.stop_event is None:
            time.sleep(0.01)
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        self.loop.close()


def the_incident(store: Store) -> Incident:
    found = list_incidents(store, open_only=False)
    assert len(found) == 1, [i.title for i in found]
    return get_incident(store, found[0].id)


@pytest.fixture
def listeners() -> Iterator[dict[str, SwitchableListener]]:
    servers = {service: SwitchableListener() for service in SEED}
    for server in servers.values():
        server.start()
    yield servers
    for server in servers.values():
        server.stop()


def test_power_failure_is_one_incident_recovered_in_order_and_reported(
    tmp_path: Path, listeners: dict[str, SwitchableListener]
) -> None:
    with smtp_server() as (smtp, mailbox):
        contact = f"mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=team@infra.test"
        path = write_seed_plan(
            tmp_path / "reprise.yaml", {s: listeners[s].port for s in SEED}, contact
        )
        plan = load_plan(path).plan
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        with RunningMonitor(plan, store):
            time.sleep(2.5)  # every service seen up first
            assert list_incidents(store) == []
            for server in listeners.values():  # the power goes out
                server.stop()
            wait_until(
                lambda: list_incidents(store) and len(list_incidents(store)[0].services) == 6,
                20,
                "one incident with 6 services",
            )
            incident = the_incident(store)
            assert incident.severity == "P1"
            assert all(s.state == "down" for s in incident.services)
            assert all(s.target_at == s.added_at + timedelta(hours=4) for s in incident.services)
            order = [entry.service.id for entry in incident_plan(plan, incident)]
            # router first (all depend on it), then P1 in plan order, P2, P3
            assert order == ["router", "mail", "zabbix", "openvpn", "storage", "windows"]
            actions, waiting = next_actions(plan, incident)
            assert [a.service for a in actions] == ["router"]
            assert actions[0].people == ["Mohamed"]
            assert {w.service for w in waiting} == set(SEED) - {"router"}

            for service in order:  # recovered one by one, in order
                listeners[service].start()
                wait_until(
                    lambda s=service: get_incident(store, incident.id).affected(s).state == "up",
                    15,
                    f"{service} back up",
                )
            incident = get_incident(store, incident.id)
        resolved = [incident.affected(s).resolved_at for s in order]
        assert all(resolved) and resolved == sorted(resolved)
        notified = [e.text for e in incident.timeline if e.kind == "notification"]
        assert any(
            "problem notification to reprise" in text and ": sent:" in text for text in notified
        ), notified  # the router's alert, in the timeline
        wait_check_tasks = [t for t in incident.tasks if t.kind == "wait_check"]
        assert {t.status for t in wait_check_tasks} == {"done"}

        closed = close_and_report(
            plan, store, incident.id, by="Mohamed", at=datetime.now(UTC), note="Courant rétabli"
        )
        assert closed.incident.status == "closed"
        report = closed.paths[0].read_text(encoding="utf-8")
        for service in order:
            row = next(
                line
                for line in report.splitlines()
                if line.startswith(f"| {NAMES[service]} |") and "Fonctionnel" in line
            )
            moment = incident.affected(service).resolved_at
            assert moment is not None
            assert moment.astimezone(ZoneInfo("Europe/Paris")).strftime("%d/%m/%Y %H:%M") in row
        assert "## 5. Évolution de la remise en route" in report
        assert "Temps de reprise mesurés" in report
        messages = mailbox.wait_for(1, 15)
        final = [m for m in messages if "Rapport d'incident" in subject_of(m)]
        assert final and "incident 1" in subject_of(final[0])
        assert "Routeur VyOS" in body_of(final[0])
        assert all(record.ok for record in closed.deliveries)


def _plan(tmp_path: Path, every: str = "4h") -> Plan:
    ports = dict.fromkeys(SEED, 9)
    return load_plan(
        write_seed_plan(tmp_path / "reprise.yaml", ports, "json://127.0.0.1:9/hook", every=every)
    ).plan


def test_failures_within_the_window_join_later_ones_open_a_new_incident(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    watcher = IncidentWatcher(plan, store, lambda _n: None)
    start = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    watcher.on_change("windows", "down", start, "RDP refused")  # P3 alone: no incident
    assert list_incidents(store) == []
    watcher.on_change("router", "down", start + timedelta(minutes=1), "no route")
    watcher.on_change("windows", "down", start + timedelta(minutes=2), "RDP refused")
    watcher.on_change("mail", "down", start + timedelta(minutes=9), "SMTP refused")
    watcher.on_change("zabbix", "down", start + timedelta(minutes=18), "trapper refused")
    incident = the_incident(store)
    # windows failed first (P3: no incident of its own) and joins when the router opens one
    assert [s.service for s in incident.services] == ["router", "windows", "mail", "zabbix"]
    assert incident.affected("windows").added_at == start  # type: ignore[union-attr]
    assert incident.title == "Routeur VyOS et 3 autre(s) élément(s) en panne"
    watcher.on_change("router", "up", start + timedelta(minutes=20), "checks pass")
    watcher.on_change("openvpn", "down", start + timedelta(minutes=40), "refused")
    found = list_incidents(store)
    assert len(found) == 2
    assert [s.service for s in found[0].services] == ["openvpn"]
    history = get_incident(store, incident.id).history("router")
    assert [(r.state, r.source) for r in history] == [
        ("down", "check: no route"),
        ("up", "check: checks pass"),
    ]


def test_progress_reports_go_out_every_period_and_are_kept(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    sent: list[object] = []
    watcher = IncidentWatcher(plan, store, sent.append)
    start = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    incident_id = open_incident(
        store, plan, "Coupure électrique", ["router", "mail"], by="Mohamed", at=start
    )
    watcher.tick(start + timedelta(hours=3, minutes=59))
    assert sent == []
    watcher.tick(start + timedelta(hours=4))
    watcher.tick(start + timedelta(hours=5))
    watcher.tick(start + timedelta(hours=8, seconds=1))
    assert len(sent) == 2
    first = sent[0]
    assert first.roles == ("communication",)  # type: ignore[attr-defined]
    assert "Point de situation" in first.subject  # type: ignore[attr-defined]
    assert "Routeur VyOS" in first.body  # type: ignore[attr-defined]
    assert "## Depuis l'ouverture" in first.body  # type: ignore[attr-defined]
    assert "## Depuis le dernier rapport" in sent[1].body  # type: ignore[attr-defined]
    incident = get_incident(store, incident_id)
    assert [r.kind for r in incident.reports] == ["progress", "progress"]
    assert incident.last_report_at == start + timedelta(hours=8, seconds=1)


def test_incident_commands_refuse_bad_input_clearly(tmp_path: Path, cli: object) -> None:
    path = write_seed_plan(
        tmp_path / "reprise.yaml", dict.fromkeys(SEED, 9), "json://127.0.0.1:9/hook"
    )
    run = cli  # type: ignore[assignment]
    cases = [
        (["incident", "open", "   "], "the title is empty"),
        (["incident", "open", "x", "--services", "router,nope"], "unknown service 'nope'"),
        (["incident", "open", "bell\x07"], "control characters"),
        (["incident", "show", "42"], "no incident 42"),
    ]
    for args, message in cases:
        result = run("--plan", path, *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
    opened = run("--plan", path, "incident", "open", "Coupure", "--services", "router,mail")
    assert opened.exit_code == 0, opened.stderr
    more = [
        (["incident", "task", "1", "1", "skipped"], "skipping a task needs a reason"),
        (["incident", "task", "1", "99", "done"], "has no task 99"),
        (["incident", "task", "1", "1", "finished"], "unknown task status"),
        (["incident", "update", "1", "--state", "router=broken"], "unknown state"),
        (["incident", "update", "1", "--state", "router"], "write SERVICE=VALUE"),
        (["incident", "update", "1", "--target", "mail=tomorrow"], "not a date and time"),
        (["incident", "update", "1", "--state", "zabbix=up"], "does not affect 'zabbix'"),
        (["incident", "report", "1", "--format", "pdf"], "no report format"),
        (["incident", "report", "1", "--lang", "de"], "no report language"),
        (["incident", "close", "1"], "router, mail not back up"),
    ]
    for args, message in more:
        result = run("--plan", path, *args)
        assert result.exit_code == 2, (args, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr
    show = run("--plan", path, "incident", "show", "1", "--json")
    assert show.exit_code == 0
    assert '"status": "todo"' in show.stdout  # nothing was changed by the refused commands
    assert run("--plan", path, "incident", "close", "1", "--force").exit_code == 0
    again = run("--plan", path, "incident", "note", "1", "after closing")
    assert again.exit_code == 0
    refused = run("--plan", path, "incident", "update", "1", "--title", "x")
    assert refused.exit_code == 2 and "is closed" in refused.stderr

"""Heartbeat checks on a real SQLite state: pings received through the use case, judged
by the probe at explicit moments (fresh, late, failed, started and overdue, never pinged),
and the monitor marking a service down when its job stopped pinging."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from reprise.heartbeat import records
from reprise.heartbeat.records import LastPings, last_pings, record_ping
from reprise.monitor.results import ResultBuffer, write_results
from reprise.monitor.runner import plan_jobs, run_once
from reprise.orchestrators.monitor import Monitor
from reprise.plan.checks import HeartbeatCheck
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.probes.context import ProbeContext, ProbeRun
from reprise.probes.heartbeat import probe_heartbeat
from reprise.probes.result import ProbeResult
from reprise.store import open_store
from reprise.store.database import Store
from reprise.store.events import list_events
from reprise.store.tables import heartbeat_pings
from reprise.usecases.heartbeat import PingRequest, receive_ping

EXPORT = "export-token-0123456789abcdef"
BACKUP = "backup_token-ZYXWVUTSRQPONMLK"
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
"""02:00 in Paris."""

PLAN = """\
version: 1
organisation: {{name: Essai, language: {language}, timezone: Europe/Paris}}
objectives: {{rpo: 24h, rto: 4h, uptime: 99.5%}}
roles:
  - id: ops
    title: Ops
    permission: admin
    members: [{{name: Ops, contacts: ["json://127.0.0.1:9/ops"]}}]
services:
  - id: router
    name: Router
    category: network
    criticality: critical
    owner: ops
    checks:
      - {{kind: heartbeat, name: Nightly export, period: 1d, grace: 1h, token: "{export}"}}
  - id: nas
    name: NAS
    category: storage
    criticality: major
    owner: ops
    checks:
      - {{kind: heartbeat, period: 1h, token: "{backup}"}}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Plan, Store]]:
    yield from _world(tmp_path, "en")


def _world(tmp_path: Path, language: str) -> Iterator[tuple[Plan, Store]]:
    path = tmp_path / "reprise.yaml"
    path.write_text(PLAN.format(language=language, export=EXPORT, backup=BACKUP))
    plan = load_plan(path, environ={}).plan
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        yield plan, store
    finally:
        store.close()


def ping(
    plan: Plan, store: Store, at: datetime, kind: str = "success", token: str = EXPORT
) -> None:
    outcome = receive_ping(plan, store, PingRequest(token, kind, "192.0.2.1"), lambda: at)
    assert outcome is not None and outcome.at == at


def judge(plan: Plan, store: Store, now: datetime, service: str = "router") -> ProbeResult:
    check = plan.service(service).checks[0]
    assert isinstance(check, HeartbeatCheck)
    run = ProbeRun(ProbeContext(plan, store), service)
    return asyncio.run(probe_heartbeat(check, run, now))


def test_a_ping_names_its_check_is_recorded_and_journaled_without_the_token(
    world: tuple[Plan, Store],
) -> None:
    plan, store = world
    outcome = receive_ping(
        plan, store, PingRequest(EXPORT, remote="192.0.2.1", body="x" * 1500 + "done"), lambda: T0
    )
    assert outcome is not None
    assert (outcome.service, outcome.check, outcome.kind, outcome.at) == (
        "router",
        "Nightly export",
        "success",
        T0,
    )
    nas = receive_ping(plan, store, PingRequest(BACKUP, "start"), lambda: T0)
    assert nas is not None and (nas.service, nas.check) == ("nas", "heartbeat every 1h")
    assert last_pings(store, "router", "Nightly export") == LastPings(success=T0)
    with store.engine.connect() as connection:
        row = connection.execute(
            select(heartbeat_pings).where(heartbeat_pings.c.service == "router")
        ).one()
    assert (row.kind, row.remote, len(row.body)) == ("success", "192.0.2.1", 1000)
    assert row.body.endswith("done")  # the end of a log says why a job failed
    [event] = list_events(store, kind="heartbeat.ping", subject="router")
    assert event.payload == {"check": "Nightly export", "kind": "success"}
    assert EXPORT not in str(event) and BACKUP not in str(list_events(store))


def test_an_unknown_token_matches_nothing_and_records_nothing(world: tuple[Plan, Store]) -> None:
    plan, store = world
    for token in ("wrong-token-0123456789", EXPORT[:-1], EXPORT + "x", "", "é" * 20):
        assert receive_ping(plan, store, PingRequest(token), lambda: T0) is None
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(heartbeat_pings)).scalar() == 0
    assert list_events(store, kind="heartbeat") == []


def test_an_unknown_ping_kind_is_refused(world: tuple[Plan, Store]) -> None:
    plan, store = world
    from reprise.errors import InputError

    with pytest.raises(InputError, match="unknown ping kind 'finish'"):
        receive_ping(plan, store, PingRequest(EXPORT, "finish"), lambda: T0)


def test_a_fresh_ping_is_up_and_a_late_one_down(world: tuple[Plan, Store]) -> None:
    plan, store = world
    ping(plan, store, T0)
    fresh = judge(plan, store, T0 + timedelta(hours=24, minutes=59))
    assert fresh.state == "up"
    assert fresh.message == "last ping at 2026-11-20 02:00 CET (1 d ago, period 1 d)"
    assert fresh.details == {"age_seconds": 89940}
    late = judge(plan, store, T0 + timedelta(hours=25, minutes=1))
    assert late.state == "down"
    assert late.message == "no ping since 2026-11-20 02:00 CET (1 d 1 h ago); period 1 d, grace 1 h"
    ping(plan, store, T0 + timedelta(hours=25, minutes=2))  # the job is back
    assert judge(plan, store, T0 + timedelta(hours=25, minutes=3)).state == "up"


def test_a_failure_is_down_until_the_next_success(world: tuple[Plan, Store]) -> None:
    plan, store = world
    ping(plan, store, T0)
    ping(plan, store, T0 + timedelta(days=1), "fail")
    failed = judge(plan, store, T0 + timedelta(days=1, minutes=1))
    assert failed.state == "down"
    assert failed.message == "the job reported a failure at 2026-11-21 02:00 CET (1 min ago)"
    ping(plan, store, T0 + timedelta(days=1, minutes=30))
    assert judge(plan, store, T0 + timedelta(days=1, minutes=31)).state == "up"


def test_a_started_job_is_up_while_it_runs_and_down_once_it_overruns_the_grace(
    world: tuple[Plan, Store],
) -> None:
    plan, store = world
    ping(plan, store, T0)
    ping(plan, store, T0 + timedelta(days=1), "start")
    running = judge(plan, store, T0 + timedelta(days=1, minutes=59))
    assert running.state == "up"
    assert running.message == "job started at 2026-11-21 02:00 CET (59 min ago), running"
    overdue = judge(plan, store, T0 + timedelta(days=1, hours=1, minutes=1))
    assert overdue.state == "down"
    assert overdue.message == (
        "started at 2026-11-21 02:00 CET and did not finish within the grace (1 h)"
    )
    ping(plan, store, T0 + timedelta(days=1, hours=1, minutes=5))
    assert judge(plan, store, T0 + timedelta(days=1, hours=1, minutes=6)).state == "up"


def test_a_check_never_pinged_waits_period_and_grace_from_when_it_was_first_seen(
    world: tuple[Plan, Store],
) -> None:
    plan, store = world
    # Never run by the monitor either: it starts waiting now.
    waiting = judge(plan, store, T0)
    assert waiting.state == "up"
    assert waiting.message == "waiting for the first ping (expected by 2026-11-21 03:00 CET)"
    # First seen by the monitor at T0.
    buffer = ResultBuffer()
    buffer.add("router", "Nightly export", waiting, T0)
    buffer.add("router", "Nightly export", waiting, T0 + timedelta(hours=1))
    write_results(store, buffer.take())
    assert judge(plan, store, T0 + timedelta(hours=25)).state == "up"
    never = judge(plan, store, T0 + timedelta(hours=25, minutes=1))
    assert never.state == "down"
    assert never.message == (
        "no ping received yet (watched since 2026-11-20 02:00 CET); period 1 d, grace 1 h"
    )


def test_messages_are_in_the_plan_language_and_time_zone(tmp_path: Path) -> None:
    for plan, store in _world(tmp_path, "fr"):
        ping(plan, store, T0)
        late = judge(plan, store, T0 + timedelta(days=2))
        assert late.message == (
            "aucun ping depuis le 20/11/2026 02:00 CET (il y a 2 j)\u202f; période 1 j, grâce 1 h"
        )


def test_each_check_keeps_only_its_newest_pings(
    world: tuple[Plan, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    _plan, store = world
    monkeypatch.setattr(records, "KEEP_PINGS", 3)
    for minute in range(6):
        record_ping(store, "router", "Nightly export", "success", T0 + timedelta(minutes=minute))
    record_ping(store, "nas", "heartbeat every 1h", "fail", T0)
    with store.engine.connect() as connection:
        kept = connection.execute(
            select(heartbeat_pings.c.service, heartbeat_pings.c.at).order_by(heartbeat_pings.c.id)
        ).all()
    assert kept == [("router", T0 + timedelta(minutes=m)) for m in (3, 4, 5)] + [("nas", T0)]


def test_the_monitor_marks_a_service_down_when_its_job_stopped_pinging(
    world: tuple[Plan, Store],
) -> None:
    plan, store = world
    now = datetime.now(UTC)
    # The router's export last pinged 26 hours ago (period 1d, grace 1h); the NAS's job
    # pinged 10 minutes ago (period 1h).
    ping(plan, store, now - timedelta(hours=26))
    ping(plan, store, now - timedelta(minutes=10), token=BACKUP)
    sent: list[tuple[str, str, str]] = []

    def send(url: str, subject: str, body: str) -> str | None:
        sent.append((url, subject, body))
        return None

    monitor = Monitor(plan, store, sender=send)

    async def once() -> None:
        context = ProbeContext(plan, store)
        try:
            await run_once(plan_jobs(plan), context, 4, monitor.observe)
            await monitor.dispatcher.drain(5)
        finally:
            monitor.dispatcher.close()
            await context.aclose()

    asyncio.run(once())
    assert monitor.board.state == {"router": "down", "nas": "up"}
    assert monitor.board.failures("router")[0].startswith("Nightly export")
    assert "no ping since" in monitor.board.failures("router")[0]
    # The usual alert goes to the owner, saying which job went quiet.
    [(url, subject, body)] = sent
    assert (url, subject) == ("json://127.0.0.1:9/ops", "[P1] DOWN — Router (router)")
    assert "  - Nightly export: no ping since " in body

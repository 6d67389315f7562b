"""Two `reprise serve` on one PostgreSQL state: one leads, the other stands by; SIGKILL the
leader in the middle of a schedule and the other takes over within ``ha.takeover_after``,
every time slot of every job ran at most once, and every alert was delivered exactly once
(counted in the jobs table and in a real SMTP server's mailbox). CI runs it once; with
REPRISE_SOAK=1 it runs ten times in a row and prints the takeover times."""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg
import pytest

from devsupport.peers import SwitchableListener, smtp_server, subject_of
from devsupport.seed import wait_until
from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World

TAKEOVER = 6.0  # seconds: ha.takeover_after, its lowest setting, to keep the test short

SOURCE = """\
- kind: command
  command: "sleep 0.5; echo data"
  repository: local
  schedule: "* * * * * */2"
  retention: {keep_last: 3}
"""


@dataclass
class Outcome:
    takeover: float
    runs: int
    slots_twice: list[tuple[str, str]]
    down_mails: int
    up_mails: int


def _state_database(postgres: ConnectionInfo, name: str) -> str:
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres.dsn(name)


def _instances(world: World) -> list[dict[str, object]]:
    result = world.reprise("serve", "status", "--json")
    instances: list[dict[str, object]] = json.loads(result.stdout)["instances"]
    return instances


def _leader(world: World) -> int | None:
    for instance in _instances(world):
        if instance["role"] == "leader" and instance["alive"]:
            return int(str(instance["pid"]))
    return None


def _lease_taken_by(url: str, pid: int) -> datetime | None:
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT acquired_at FROM leases WHERE name = 'leader' AND holder LIKE %s",
            (f"%:{pid}:%",),
        ).fetchone()
    return None if row is None else row[0]


def replay(world: World, postgres: ConnectionInfo, run: int) -> Outcome:
    url = _state_database(postgres, f"ha_state_{run}")
    web = SwitchableListener()
    web.start()
    with smtp_server() as (port, mailbox):
        contact = f"mailto://127.0.0.1:{port}?from=reprise@infra.test&to=ops@infra.test"
        world.env["HA_STATE_URL"] = url
        world.write_plan(SOURCE)
        extra = (
            'state: {url: "${HA_STATE_URL}"}\n'
            f"ha: {{takeover_after: {TAKEOVER:g}s}}\n"
            "alerting: {delivery: {attempts: 1, timeout: 5s}}\n"
            "roles:\n  - id: ops\n    title: Ops\n    permission: admin\n"
            f'    members: [{{name: Mina, contacts: ["{contact}"]}}]\n'
        )
        text = world.plan.read_text().replace("services:\n", extra + "services:\n", 1)
        text += (
            "  - id: web\n    name: Web\n    category: application\n    criticality: critical\n"
            f"    checks: [{{kind: tcp, host: 127.0.0.1, port: {web.port}, interval: 1s,"
            " timeout: 500ms, retries: 1}]\n"
        )
        world.plan.write_text(text)
        assert world.reprise("repo", "init").returncode == 0
        first = world.spawn("serve")
        wait_until(lambda: _leader(world) == first.pid, 60, "the first service leading")
        second = world.spawn("serve")
        wait_until(lambda: len(_instances(world)) >= 2, 60, "the second service standing by")
        try:
            web.stop()  # a P1 service goes down: one alert, from the leader
            wait_until(lambda: len(mailbox.messages) >= 1, 60, "the down alert")
            time.sleep(1.3)  # somewhere in the middle of a 2-second schedule
            first.send_signal(signal.SIGKILL)
            killed = datetime.now(UTC)
            wait_until(lambda: _lease_taken_by(url, second.pid) is not None, 60, "a takeover")
            taken = _lease_taken_by(url, second.pid)
            assert taken is not None
            web.start()  # the service comes back: one recovery message, from the new leader
            wait_until(lambda: len(mailbox.messages) >= 2, 60, "the recovery message")
            time.sleep(4)  # the new leader runs the schedule; room for a duplicate
        finally:
            for process in (first, second):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                process.communicate(timeout=60)  # and close its pipes
            web.stop()
        subjects = [subject_of(m) for _, m in mailbox.messages]
    listed = json.loads(world.reprise("jobs", "list", "--limit", "1000", "--json").stdout)
    counted = Counter((r["job"], r["due_at"]) for r in listed if r["status"] in ("ok", "running"))
    return Outcome(
        takeover=(taken - killed).total_seconds(),
        runs=len(listed),
        slots_twice=[slot for slot, count in counted.items() if count > 1],
        down_mails=sum("DOWN" in s for s in subjects),
        up_mails=sum("RECOVERED" in s for s in subjects),
    )


def _check(outcome: Outcome) -> None:
    print(
        f"takeover={outcome.takeover:.2f}s runs={outcome.runs} "
        f"slots_twice={len(outcome.slots_twice)} down_mails={outcome.down_mails} "
        f"up_mails={outcome.up_mails}"
    )
    assert 0 < outcome.takeover <= TAKEOVER + 3, outcome  # the bound, a busy machine aside
    assert outcome.slots_twice == []
    assert outcome.runs >= 3
    assert (outcome.down_mails, outcome.up_mails) == (1, 1)


def test_a_standby_takes_over_from_a_killed_leader_without_running_or_sending_twice(
    world: World, postgres: ConnectionInfo
) -> None:
    _check(replay(world, postgres, 0))


@pytest.mark.soak
@pytest.mark.timeout(1800)
@pytest.mark.skipif(os.environ.get("REPRISE_SOAK") != "1", reason="REPRISE_SOAK=1 not set")
def test_takeover_ten_times_in_a_row(world: World, postgres: ConnectionInfo) -> None:
    outcomes = []
    for run in range(1, 11):
        outcome = replay(world, postgres, run)
        _check(outcome)
        outcomes.append(outcome)
    takeovers = [o.takeover for o in outcomes]
    print(f"takeover: median={statistics.median(takeovers):.2f}s max={max(takeovers):.2f}s")

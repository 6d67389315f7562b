"""The audit's judges that need no server: the scheduler item, the backup-only host rule,
the checks item, and the stored form of an item."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reprise.audit.checks import judge_checks
from reprise.audit.items import Item, part, verdict
from reprise.audit.scheduler import judge_scheduler
from reprise.audit.security import judge_identity, restores_here
from reprise.plan.model import Plan
from reprise.plan.schedule import ScheduledJob, latest_due
from reprise.probes.result import down, up
from reprise.scheduler.instances import Instance
from reprise.scheduler.records import JobRun

NOW = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)


def make_plan(drill: dict[str, Any] | None = None, kind: str = "postgres", **keys: Any) -> Plan:
    source: dict[str, Any] = {
        "kind": kind,
        "repository": "local",
        "schedule": "@hourly",
        "retention": {"keep_last": 2},
    }
    source.update(
        {"dsn": "postgresql://u@127.0.0.1/app", "databases": ["app"]}
        if kind == "postgres"
        else {"command": "echo x"}
    )
    service: dict[str, Any] = {
        "id": "app",
        "name": "App",
        "category": "application",
        "criticality": "critical",
        "backups": [source],
    }
    if drill is not None:
        service["drill"] = drill
    return Plan.model_validate(
        {
            "organisation": {"name": "T", "timezone": "UTC"},
            "objectives": {"rpo": "1h", "rto": "30m", "uptime": "99.9%"},
            "repositories": {"local": {"kind": "local", "path": "/nonexistent"}},
            "keys": keys,
            "services": [service],
        }
    )


def instance(beat: datetime, *, stopped: bool = False) -> Instance:
    return Instance(
        1,
        "host-a",
        42,
        "1.0",
        NOW - timedelta(days=2),
        beat,
        beat if stopped else None,
        "leader",
        {},
    )


JOB = ScheduledJob(
    "backup:app-postgres", "backup", "app-postgres", "@hourly", timedelta(hours=1), "app", "local"
)


def run(due: datetime) -> JobRun:
    return JobRun(
        1,
        JOB.id,
        "backup",
        due,
        1,
        "schedule",
        "succeeded",
        due,
        due,
        due,
        "host-a",
        1,
        0,
        None,
        None,
    )


def test_no_service_ever_run_is_not_applicable_with_a_hint() -> None:
    finding = judge_scheduler(make_plan(), [], None, [], NOW)
    assert finding.status == "not_applicable"
    assert finding.fix == part("audit.fix.no_service")


def test_a_silent_service_fails() -> None:
    old = instance(NOW - timedelta(minutes=10))
    finding = judge_scheduler(make_plan(), [old], None, [], NOW)
    assert finding.status == "failed" and finding.raw["alive"] is False


def test_a_missed_slot_makes_the_job_late_and_a_run_for_it_on_time() -> None:
    plan = make_plan()
    alive = instance(NOW - timedelta(seconds=5))
    slot = latest_due(JOB, plan, NOW - timedelta(minutes=5))
    late = judge_scheduler(plan, [alive], alive, [(JOB, run(slot - timedelta(hours=1)))], NOW)
    assert late.status == "failed" and late.raw["jobs"][0]["on_time"] is False
    on_time = judge_scheduler(plan, [alive], alive, [(JOB, run(slot))], NOW)
    assert on_time.status == "ok"


@pytest.mark.parametrize(
    ("drill", "kind", "expected"),
    [
        (None, "postgres", True),  # drilled weekly by default
        ({"enabled": False}, "postgres", False),
        (None, "command", False),  # nothing a drill restores
    ],
)
def test_a_host_restores_when_a_drill_would_run_here(
    drill: dict[str, Any] | None, kind: str, expected: bool
) -> None:
    assert restores_here(make_plan(drill, kind)) is expected


def test_an_identity_on_a_backup_only_host_fails(tmp_path: Any) -> None:
    identity = tmp_path / "identity.txt"
    identity.write_text("AGE-SECRET-KEY-1…\n")
    finding = judge_identity(make_plan({"enabled": False}, identity=str(identity)))
    assert finding.status == "failed" and finding.fix == part("audit.fix.identity_remove")
    assert judge_identity(make_plan(identity=str(identity))).status == "ok"
    identity.unlink()
    assert judge_identity(make_plan({"enabled": False}, identity=str(identity))).status == "ok"
    assert judge_identity(make_plan(identity=str(identity))).status == "failed"


def test_checks_fail_on_any_check_not_up_and_say_which() -> None:
    finding = judge_checks(
        [("tcp 10.0.0.1:22", up("ok")), ("http http://x/", down("http://x/: HTTP 500"))], "fr"
    )
    assert finding.status == "failed"
    assert finding.measured is not None
    key, facts = finding.measured
    assert key == "audit.measured.checks_failing" and facts["failing"] == 1
    assert facts["lines"] == {"list": ["http http://x/\u202f: HTTP 500"]}
    assert judge_checks([("a", up("ok"))], "fr").status == "ok"


def test_an_item_survives_its_stored_form() -> None:
    item = Item(
        "app.backup_age",
        "app",
        part("audit.item.backup_age", service="App"),
        part("audit.objective.rpo", rpo={"duration": 3600.0}),
        "failed",
        part("audit.measured.backup_age", age={"duration": 7300.0}, backup="x", at="y"),
        {"age_seconds": 7300},
        part("audit.fix.backup_age"),
        0.25,
    )
    assert Item.from_record(item.to_record()) == item
    assert verdict([item]) == "not_compliant"

"""The plan's scheduled jobs and their times: the plan's time zone across a DST change, a
jitter that is the same on every host, and what a service that was down missed."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.plan.schedule import (
    due_at,
    job_offset,
    latest_due,
    next_fire,
    previous_fire,
    scheduled_jobs,
)

PLAN = """\
version: 1
organisation: {{name: Test, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
repositories:
  main: {{kind: local, path: {path}/repo}}
  offsite: {{kind: local, path: {path}/offsite}}
keys: {{recipients: [age1mjrg3s7uh5dzkqgm4q7trrzpptyh095vvmqua2gf3nclfg7y2sjsg22xyn]}}
{extra}
services:
  - id: akig
    name: AKIG
    category: application
    criticality: critical
    backups:
      - {{kind: postgres, dsn: "postgresql://u@127.0.0.1/akig", repository: main,
          schedule: "@hourly", retention: {{keep_daily: 7}}}}
      - {{kind: command, command: "echo x", repository: offsite, schedule: "0 2 * * *",
          retention: {{keep_daily: 7}}}}
  - id: router
    name: Router
    category: réseau
    criticality: major
    backups:
      - {{kind: command, command: "echo cfg", repository: main, schedule: "30 3 * * *",
          retention: {{keep_daily: 7}}, timeout: 2m}}
    drill: {{enabled: false}}
  - id: www
    name: Web
    category: application
    criticality: minor
"""


def plan(tmp_path: Path, extra: str = "") -> Plan:
    path = tmp_path / "reprise.yaml"
    path.write_text(PLAN.format(path=tmp_path, extra=textwrap.dedent(extra)))
    return load_plan(path).plan


def test_every_source_drill_and_repository_gets_its_job(tmp_path: Path) -> None:
    jobs = {job.id: job for job in scheduled_jobs(plan(tmp_path), drillable={"postgres"})}
    assert list(jobs) == [
        "backup:akig-postgres",
        "backup:akig-command",
        "backup:router-command",
        "drill:akig",  # router's drill is disabled (and a command is not drillable)
        "verify:main",
        "prune:main",
        "verify:offsite",
        "prune:offsite",
    ]
    assert jobs["backup:router-command"].timeout == timedelta(minutes=2)
    assert jobs["backup:akig-postgres"].timeout == timedelta(hours=6)
    assert jobs["drill:akig"].schedule == "@weekly"
    assert jobs["drill:akig"].timeout == timedelta(minutes=30 + 30)  # RTO + margin
    assert jobs["verify:main"].schedule == "@daily" and jobs["verify:main"].service is None
    assert jobs["backup:akig-command"].repository == "offsite"


def test_verification_and_pruning_can_be_switched_off(tmp_path: Path) -> None:
    jobs = scheduled_jobs(
        plan(tmp_path, "verification: {enabled: false}\npruning: {schedule: '0 5 * * sun'}"),
        drillable={"postgres"},
    )
    kinds = [job.kind for job in jobs]
    assert "verify" not in kinds
    assert {job.schedule for job in jobs if job.kind == "prune"} == {"0 5 * * sun"}


def test_times_follow_the_plan_zone_across_summer_time() -> None:
    # 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer.
    winter = next_fire("0 2 * * *", datetime(2026, 3, 27, 12, tzinfo=UTC), "Europe/Paris")
    assert winter.astimezone(UTC) == datetime(2026, 3, 28, 1, tzinfo=UTC)
    summer = next_fire("0 2 * * *", winter, "Europe/Paris")
    # 29 March 2026: 02:00 does not exist in Paris; the job still runs once that night
    assert summer.astimezone(UTC) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    after = next_fire("0 2 * * *", summer, "Europe/Paris")
    assert after.astimezone(UTC) == datetime(2026, 3, 30, 0, tzinfo=UTC)


def test_seconds_schedules_fire_every_few_seconds() -> None:
    start = datetime(2026, 11, 26, 12, 0, 1, tzinfo=UTC)
    assert next_fire("* * * * * */10", start, "UTC") == start.replace(second=10)
    assert previous_fire("* * * * * */10", start, "UTC") == start.replace(second=0)


@given(st.text(min_size=1, max_size=40), st.integers(min_value=0, max_value=3600))
def test_a_job_s_jitter_is_stable_and_within_bounds(job_id: str, seconds: int) -> None:
    jitter = timedelta(seconds=seconds)
    offset = job_offset(job_id, jitter)
    assert timedelta(0) <= offset <= jitter
    assert job_offset(job_id, jitter) == offset


def test_due_and_missed_runs_include_the_jitter(tmp_path: Path) -> None:
    loaded = plan(tmp_path, "scheduler: {jitter: 10m}")
    job = next(j for j in scheduled_jobs(loaded, drillable=()) if j.id == "backup:akig-command")
    offset = job_offset(job.id, timedelta(minutes=10))
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 13:00 in Paris
    due = due_at(job, loaded, now)
    assert due.astimezone(UTC) == datetime(2026, 11, 27, 1, 0, tzinfo=UTC) + offset
    missed = latest_due(job, loaded, now)
    assert missed.astimezone(UTC) == datetime(2026, 11, 26, 1, 0, tzinfo=UTC) + offset
    assert latest_due(job, loaded, due) == due  # at its time, a run is due now


@pytest.mark.parametrize("jitter", ["2h", "1d"])
def test_a_jitter_over_an_hour_is_refused(tmp_path: Path, jitter: str) -> None:
    from reprise.errors import PlanError

    with pytest.raises(PlanError, match="jitter"):
        plan(tmp_path, f"scheduler: {{jitter: {jitter}}}")

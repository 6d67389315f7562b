"""Scheduled jobs from the command line: `reprise schedule` lists every job with its next
time, `reprise jobs run` runs one and records it (a failure too), a cron slot runs once, and
`reprise schedule export --cron` prints lines cron accepts."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

from tests.support.backups import ECHO_SOURCE, World

FAILING_SOURCE = """\
- kind: command
  name: broken
  command: "echo half; exit 4"
  repository: local
  schedule: "*/5 * * * *"
  retention: {keep_last: 3}
"""


def ready(world: World, sources: str) -> World:
    """The plan written and its repository initialised."""
    world.write_plan(sources)
    result = world.reprise("repo", "init")
    assert result.returncode == 0, result.stderr
    return world


def test_schedule_lists_each_job_and_its_next_run(world: World) -> None:
    world.write_plan(ECHO_SOURCE + FAILING_SOURCE)
    result = world.reprise("schedule", "--json")
    assert result.returncode == 0, result.stderr
    lines = {line["job"]: line for line in json.loads(result.stdout)}
    assert list(lines) == ["backup:app-command", "backup:broken", "verify:local", "prune:local"]
    assert lines["backup:app-command"]["schedule"] == "@hourly"
    assert lines["backup:broken"]["last"] is None
    next_at = datetime.fromisoformat(lines["backup:broken"]["next_at"])
    assert next_at.minute % 5 == 0 and next_at.second == 0
    assert str(next_at.utcoffset()) in ("1:00:00", "2:00:00")  # in the plan's zone (Paris)
    shown = world.reprise("schedule")
    assert "backup:broken" in shown.stdout and "never ran" in shown.stdout


def test_a_job_run_is_recorded_with_its_outcome(world: World) -> None:
    ready(world, ECHO_SOURCE + FAILING_SOURCE)
    ok = world.reprise("jobs", "run", "backup:app-command", "--json")
    assert ok.returncode == 0, ok.stderr
    run = json.loads(ok.stdout)
    assert run["status"] == "ok" and run["trigger"] == "manual" and run["exit_code"] == 0
    assert run["figures"]["backups"][0]["source"] == "app-command"
    assert len(world.backups()) == 1

    failed = world.reprise("jobs", "run", "backup:broken")
    assert failed.returncode == 1
    assert "broken: command: exited with code 4" in failed.stderr
    runs = json.loads(world.reprise("jobs", "list", "--json").stdout)
    assert [(r["job"], r["status"]) for r in runs] == [
        ("backup:broken", "failed"),
        ("backup:app-command", "ok"),
    ]
    assert runs[0]["error"] == "broken: command: exited with code 4" and runs[0]["exit_code"] == 1
    assert len(world.backups()) == 1  # the failed backup is not listed

    shown = world.reprise("jobs", "show", str(runs[0]["id"]))
    assert shown.returncode == 0 and "failed (exit 1)" in shown.stdout
    listed = world.reprise("schedule", "--json")
    last = {line["job"]: line["last"] for line in json.loads(listed.stdout)}
    assert last["backup:broken"]["status"] == "failed"
    assert last["backup:app-command"]["status"] == "ok"


def test_a_cron_slot_runs_once(world: World) -> None:
    ready(world, ECHO_SOURCE)
    first = world.reprise("jobs", "run", "backup:app-command", "--cron")
    assert first.returncode == 0, first.stderr
    again = world.reprise("jobs", "run", "backup:app-command", "--cron")
    assert again.returncode == 2
    assert "already ran" in again.stderr
    assert len(world.backups()) == 1


def test_unknown_jobs_and_runs_are_refused_naming_the_known_ones(world: World) -> None:
    world.write_plan(ECHO_SOURCE)
    unknown = world.reprise("jobs", "run", "backup:nope")
    assert unknown.returncode == 2 and "backup:app-command" in unknown.stderr
    listed = world.reprise("jobs", "list", "backup:typo")
    assert listed.returncode == 2 and "no scheduled job 'backup:typo'" in listed.stderr
    missing = world.reprise("jobs", "show", "999")
    assert missing.returncode == 2 and "no job run 999" in missing.stderr


def test_cron_export_gives_lines_cron_accepts(world: World, tmp_path: Path) -> None:
    world.write_plan(ECHO_SOURCE)
    result = world.reprise("schedule", "export", "--cron")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    jobs = [line for line in lines if line and not line.startswith(("#", "SHELL", "PATH"))]
    assert len(jobs) == 3  # the backup, verification and pruning
    backup = next(line for line in jobs if "backup:app-command" in line)
    lock = "/run/lock/reprise-backup-app-command.lock"
    assert backup.startswith(f"@hourly flock -n {lock} timeout --kill-after=60 600 ")
    assert f"--plan {world.plan}" in backup
    # crontab's own parser accepts the file when cron is installed
    crontab = subprocess.run(["which", "crontab"], capture_output=True, check=False)
    if crontab.returncode == 0:
        target = tmp_path / "crontab"
        target.write_text(result.stdout)
        check = subprocess.run(
            ["crontab", "-T", str(target)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0, check.stderr

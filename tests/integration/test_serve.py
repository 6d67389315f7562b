"""`reprise serve` as a real process: scheduled jobs run on time in their own processes, a
run past its timeout is stopped without leaving a listed backup, a slot missed while the
service was down runs once at start-up, SIGHUP reloads the plan (an invalid one is kept
out), SIGTERM stops cleanly, and `reprise serve status` tells whether it runs."""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devsupport.seed import wait_until
from reprise.pg.scratch import ConnectionInfo
from reprise.plan.loader import load_plan
from reprise.scheduler.records import Claim, claim_run, finish_run
from reprise.store import open_store, state_url
from tests.support.backups import World

EVERY_2S = """\
- kind: command
  command: "echo data"
  repository: local
  schedule: "* * * * * */2"
  retention: {keep_last: 3}
"""

HANGS = """\
- kind: command
  name: hangs
  command: "sleep 61.25"
  repository: local
  schedule: "* * * * * */3"
  timeout: 2s
  retention: {keep_last: 3}
"""

FAST_UPKEEP = """\
verification: {schedule: "* * * * * */4", budget: 100%}
pruning: {schedule: "* * * * * */5"}
scheduler: {max_parallel: 3, per_repository: 3}
"""


def ready(world: World, sources: str, extra: str = "") -> World:
    world.write_plan(sources)
    if extra:
        text = world.plan.read_text().replace("services:\n", extra + "services:\n", 1)
        world.plan.write_text(text)
    result = world.reprise("repo", "init")
    assert result.returncode == 0, result.stderr
    return world


def runs(world: World) -> list[dict[str, Any]]:
    result = world.reprise("jobs", "list", "--limit", "500", "--json")
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def finished(world: World, job: str) -> list[dict[str, Any]]:
    return [r for r in runs(world) if r["job"] == job and r["status"] != "running"]


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_jobs_run_on_time_in_their_own_processes_and_stop_cleanly(world: World) -> None:
    ready(world, EVERY_2S, FAST_UPKEEP)
    service = world.spawn("serve")
    try:
        wait_until(lambda: len(finished(world, "backup:app-command")) >= 3, 60, "3 backups")
        wait_until(lambda: finished(world, "verify:local"), 60, "a verification")
        wait_until(lambda: finished(world, "prune:local"), 60, "a pruning")
        status = world.reprise("serve", "status", "--json")
        assert status.returncode == 0, status.stdout
        state = json.loads(status.stdout)
        assert state["running"] and state["instances"][0]["pid"] == service.pid
        assert "Service: running on" in world.reprise("status").stdout
        second = world.reprise("serve", timeout=60)  # SQLite: one service per state
        assert second.returncode == 2, second.stdout + second.stderr
        assert "a service already runs on this state" in second.stderr
    finally:
        stopping = datetime.now(UTC)
        code, out, err = stop(service)
    assert code == 0, err
    assert "Service started" in out and "Service stopped" in out
    done = runs(world)
    assert not [r for r in done if r["status"] == "running"], "a run left running"
    backups = [r for r in done if r["job"] == "backup:app-command" and r["status"] == "ok"]
    assert len(backups) >= 3
    # Runs that ended before the stop began are judged; a later one may be cut by it.
    upkeep = [
        r
        for r in done
        if r["job"] in ("verify:local", "prune:local")
        and datetime.fromisoformat(r["finished_at"]) < stopping
    ]
    assert {r["job"] for r in upkeep} == {"verify:local", "prune:local"}
    for run in backups + upkeep:
        assert run["status"] in ("ok", "cancelled"), (run, run.get("error"))
        late = datetime.fromisoformat(run["started_at"]) - datetime.fromisoformat(run["due_at"])
        # on time: started within a few seconds of its slot (a shared machine may be busy)
        assert timedelta(0) <= late < timedelta(seconds=10), run
        assert run["pid"] != service.pid and run["trigger"] == "schedule"
    slots = [r["due_at"] for r in backups]
    assert len(slots) == len(set(slots)), "a slot ran twice"
    assert len(world.backups()) >= 3
    after = world.reprise("serve", "status")
    assert after.returncode == 1 and "No service running" in after.stdout
    assert "Service: not running (last heard from" in world.reprise("status").stdout


def test_a_run_past_its_timeout_is_stopped_and_lists_no_backup(world: World) -> None:
    ready(world, HANGS)
    service = world.spawn("serve")
    try:
        wait_until(lambda: finished(world, "backup:hangs"), 60, "the hanging run stopped")
    finally:
        stop(service)
    run = finished(world, "backup:hangs")[-1]  # the first: a later one may be cut by the stop
    duration = run["duration_seconds"]
    assert 1.5 <= duration < 20, run
    # the scheduler's kill, or the command's own timeout a moment later: both are the timeout
    assert run["status"] == "timeout" or "did not finish within" in (run["error"] or ""), run
    assert world.backups() == []
    # the command was stopped with the run, not left behind in its own process group
    wait_until(lambda: not _running("sleep 61.25"), 15, "the backup's command stopped")


def _running(command: str) -> bool:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if command in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                return True
        except OSError:
            continue
    return False


def test_a_slot_missed_while_down_runs_once_at_start(world: World) -> None:
    hourly = EVERY_2S.replace("* * * * * */2", "0 * * * *")
    now = datetime.now(UTC)
    if now.minute == 59 and now.second >= 30:  # keep the next hourly slot out of the test
        time.sleep(61 - now.second)
    ready(world, hourly)
    plan = load_plan(world.plan).plan
    store = open_store(state_url(plan))
    then = datetime.now(UTC) - timedelta(hours=3)
    due = then.replace(minute=0, second=0, microsecond=0)
    run_id = claim_run(
        store,
        Claim("backup:app-command", "backup", due, 1, "schedule", then, then, "elsewhere", 1),
    )
    assert run_id is not None
    finish_run(store, run_id, status="ok", finished_at=then + timedelta(seconds=1))
    store.close()
    service = world.spawn("serve")
    try:
        wait_until(lambda: len(finished(world, "backup:app-command")) >= 2, 60, "a catch-up run")
        time.sleep(3)  # room for a wrong second catch-up
    finally:
        stop(service)
    caught = [r for r in runs(world) if r["trigger"] == "catch_up"]
    assert len(caught) == 1, runs(world)
    latest_slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert datetime.fromisoformat(caught[0]["due_at"]) == latest_slot
    assert len(runs(world)) == 2


def test_sighup_reloads_the_plan_and_keeps_the_old_one_when_invalid(world: World) -> None:
    ready(world, EVERY_2S.replace("* * * * * */2", "@daily"))
    service = world.spawn("serve")
    try:
        time.sleep(2)
        good = world.plan.read_text().replace('"@daily"', '"* * * * * */2"')
        world.plan.write_text("services: [oops\n")
        service.send_signal(signal.SIGHUP)
        time.sleep(3)
        assert service.poll() is None, "an invalid plan stopped the service"
        world.plan.write_text(good)
        assert finished(world, "backup:app-command") == []  # still the daily schedule
        world.plan.chmod(0o600)
        service.send_signal(signal.SIGHUP)
        wait_until(lambda: finished(world, "backup:app-command"), 60, "a run of the new schedule")
    finally:
        code, _out, err = stop(service)
    assert code == 0, err
    assert "plan not reloaded, the previous one stays in force" in err


def test_a_failing_scheduled_backup_alerts_once_then_tells_its_recovery(
    world: World, tmp_path: Path
) -> None:
    from tests.support.peers import body_of, smtp_server, subject_of

    flag = tmp_path / "disk-mounted"
    source = f"""\
- kind: command
  command: "test -f {flag} && echo data"
  repository: local
  schedule: "* * * * * */2"
  retention: {{keep_last: 3}}
"""
    with smtp_server() as (port, mailbox):
        contact = f"mailto://127.0.0.1:{port}?from=reprise@infra.test&to=ops@infra.test"
        roles = (
            "roles:\n  - id: ops\n    title: Exploitation\n    permission: admin\n"
            f'    members: [{{name: Mina, contacts: ["{contact}"]}}]\n'
            "alerting: {delivery: {attempts: 1, timeout: 5s}}\n"
        )
        ready(world, source, roles)
        text = world.plan.read_text().replace(
            "organisation: {name: Test,", "organisation: {name: Test, language: fr,"
        )
        world.plan.write_text(text)
        service = world.spawn("serve")
        try:
            mailbox.wait_for(1, 60)
            time.sleep(5)  # further failures update the alert; they send nothing
            assert len(mailbox.messages) == 1
            flag.touch()
            wait_until(lambda: len(mailbox.messages) >= 2, 60, "the recovery message")
        finally:
            code, _out, err = stop(service)
        assert code == 0, err
        messages = [m for _, m in mailbox.messages]
    subjects = [subject_of(m) for m in messages]
    assert subjects == [
        "[P1] ÉCHEC — Sauvegarde app-command de Application",
        "[P1] RÉUSSI DE NOUVEAU — Sauvegarde app-command de Application",
    ]
    body = body_of(messages[0])
    assert (
        "Ce qui a échoué\u202f: Sauvegarde app-command de Application (backup:app-command)" in body
    )
    assert "exited with code 1" in body
    assert "reprise alert ack backup:app-command" in body
    assert "reprise jobs show" in body
    assert "a réussi de nouveau" in body_of(messages[1])
    listed = json.loads(world.reprise("alert", "list", "--all", "--json").stdout)
    job_alerts = [a for a in listed["alerts"] if a["service"] == "backup:app-command"]
    assert len(job_alerts) == 1 and job_alerts[0]["resolved_at"] is not None


def test_a_scheduled_drill_restores_the_latest_backup_on_time(
    world: World, postgres: ConnectionInfo
) -> None:
    from tests.integration.test_drill import drilled_world

    drilled_world(
        world,
        postgres,
        "serve_drill",
        integrity=["SELECT count(*) > 0 FROM invoices"],
        drill='enabled: true, schedule: "* * * * * */5"',
    )
    service = world.spawn("serve")
    try:
        wait_until(lambda: finished(world, "drill:app"), 240, "a scheduled drill")
    finally:
        stop(service)
    run = finished(world, "drill:app")[-1]  # the first: a later one may be cut by the stop
    assert run["status"] == "ok", run
    late = datetime.fromisoformat(run["started_at"]) - datetime.fromisoformat(run["due_at"])
    assert timedelta(0) <= late < timedelta(seconds=10), run
    drills = json.loads(world.reprise("drill", "list", "--json").stdout)
    assert drills[0]["id"] == run["figures"]["drill_id"] and drills[0]["result"] == "passed"


def test_a_retryable_failure_runs_again_with_backoff_then_alerts(world: World) -> None:
    # pruning a repository whose S3 server cannot be reached may pass later: retryable
    world.env.update(AWS_ACCESS_KEY_ID="reprise", AWS_SECRET_ACCESS_KEY="not-a-secret")
    world.write_plan(
        YEARLY_OFFSITE,
        repositories=(
            f"  local: {{kind: local, path: {world.repository}}}\n"
            "  offsite: {kind: s3, bucket: akig-offsite, region: x,\n"
            "            endpoint_url: 'http://127.0.0.1:9'}"
        ),
    )
    extra = (
        'pruning: {schedule: "0 0 1 1 *"}\nverification: {enabled: false}\n'
        "scheduler: {retries: 2, retry_backoff: 1s}\n"
    )
    text = world.plan.read_text().replace("services:\n", extra + "services:\n", 1)
    # Once a minute, at a second a few seconds from now: the first slot comes soon, and
    # the next one long after the three attempts.
    second = (datetime.now().second + 6) % 60
    world.plan.write_text(text.replace('"0 0 1 1 *"', f'"* * * * * {second}"'))
    service = world.spawn("serve")
    try:
        wait_until(lambda: len(finished(world, "prune:offsite")) >= 3, 120, "three attempts")
        wait_until(lambda: _open_alerts(world), 60, "the alert once the retries are spent")
    finally:
        stop(service)
    attempts = sorted(finished(world, "prune:offsite"), key=lambda r: r["attempt"])[:3]
    assert [r["attempt"] for r in attempts] == [1, 2, 3]
    assert [r["trigger"] for r in attempts] == ["schedule", "retry", "retry"]
    assert len({r["due_at"] for r in attempts}) == 1  # the same time slot, tried again
    assert all(r["status"] == "failed" and r["retryable"] for r in attempts), attempts
    starts = [datetime.fromisoformat(r["started_at"]) for r in attempts]
    ends = [datetime.fromisoformat(r["finished_at"]) for r in attempts]
    assert starts[1] - ends[0] >= timedelta(seconds=1)  # the backoff
    assert starts[2] - ends[1] >= timedelta(seconds=2)  # doubled
    assert _open_alerts(world) == ["prune:offsite"]  # once the retries are spent


def _open_alerts(world: World) -> list[str]:
    listed = json.loads(world.reprise("alert", "list", "--json").stdout)["alerts"]
    return [alert["service"] for alert in listed]


YEARLY_OFFSITE = """\
- kind: command
  command: "echo data"
  repository: offsite
  schedule: "@yearly"
  retention: {keep_last: 3}
"""


def test_the_service_pings_its_heartbeat_url_while_it_runs(world: World) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pings: list[float] = []

    class Check(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/ping/reprise":
                pings.append(time.monotonic())
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Check)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ping/reprise"
        ready(
            world,
            EVERY_2S.replace("* * * * * */2", "@daily"),
            f'serve: {{heartbeat_url: "{url}", heartbeat_every: 1s}}\n',
        )
        service = world.spawn("serve")
        try:
            wait_until(lambda: len(pings) >= 3, 60, "three pings")
        finally:
            stop(service)
        seen = len(pings)
        time.sleep(2.5)
        assert len(pings) == seen, "pings after the service stopped"
    finally:
        server.shutdown()
        server.server_close()


def test_one_job_at_a_time_on_a_repository_by_default(world: World) -> None:
    slow = """\
- kind: command
  name: {name}
  command: "sleep 1; echo data"
  repository: local
  schedule: "* * * * * */2"
  retention: {{keep_last: 3}}
"""
    ready(world, slow.format(name="first") + slow.format(name="second"))
    service = world.spawn("serve")
    try:
        wait_until(
            lambda: len([r for r in runs(world) if r["status"] == "ok"]) >= 4, 90, "four runs"
        )
    finally:
        stop(service)
    done = sorted(
        (datetime.fromisoformat(r["started_at"]), datetime.fromisoformat(r["finished_at"]))
        for r in runs(world)
        if r["finished_at"] is not None
    )
    assert {r["job"] for r in runs(world)} == {"backup:first", "backup:second"}
    for (_, end), (start, _) in itertools.pairwise(done):
        assert start >= end, "two runs on one repository overlapped"

"""Failed and overdue scheduled jobs as alerts, on an injected clock: a drill whose latest
success is older than a whole period alerts its service's owner once, escalates while
nobody acknowledges, and its next success resolves it with a recovery message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from reprise.alerts.jobs import JobAlerts
from reprise.alerts.messages import Notification
from reprise.alerts.records import acknowledge, list_alerts
from reprise.orchestrators.scheduler import plan_jobs
from reprise.plan.loader import load_plan
from reprise.scheduler.records import Claim, JobRun, claim_run, finish_run, get_run
from reprise.store import open_store
from reprise.store.database import Store

PLAN = """\
version: 1
organisation: {{name: Test, language: fr, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
repositories:
  main: {{kind: local, path: {path}/repo}}
keys: {{recipients: [age1mjrg3s7uh5dzkqgm4q7trrzpptyh095vvmqua2gf3nclfg7y2sjsg22xyn]}}
roles:
  - {{id: dba, title: DBA, permission: admin, members: [{{name: Sam, contacts: []}}]}}
  - {{id: lead, title: Lead, members: [{{name: Ana, contacts: []}}]}}
priorities:
  P1: {{response: 15m, escalate_to: [lead]}}
services:
  - id: akig
    name: Base AKIG
    category: base de données
    criticality: critical
    owner: dba
    backups:
      - {{kind: postgres, dsn: "postgresql://u@127.0.0.1/akig", repository: main,
          schedule: "@hourly", retention: {{keep_daily: 7}}}}
    drill: {{schedule: "0 3 * * sun"}}
"""
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday


def _run(store: Store, job: str, due: datetime, status: str) -> JobRun:
    run_id = claim_run(store, Claim(job, "drill", due, 1, "schedule", due, due, "h", 1))
    assert run_id is not None
    finish_run(store, run_id, status=status, finished_at=due + timedelta(minutes=4))  # type: ignore[arg-type]
    return get_run(store, run_id)


def test_an_overdue_drill_alerts_escalates_and_recovers(tmp_path: Path) -> None:
    (tmp_path / "reprise.yaml").write_text(PLAN.format(path=tmp_path))
    plan = load_plan(tmp_path / "reprise.yaml").plan
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    sent: list[Notification] = []
    jobs = {job.id: job for job in plan_jobs(plan)}
    drill = jobs["drill:akig"]
    # last good drill three Sundays ago: the last two Sundays went by without one
    _run(store, "drill:akig", datetime(2026, 11, 8, 2, 0, tzinfo=UTC), "ok")
    alerts = JobAlerts(plan, store, sent.append)
    alerts.tick(NOW, jobs)
    (first,) = sent
    assert first.kind == "problem" and first.roles == ("dba",)
    assert first.subject == "[P1] ÉCHEC — Exercice de restauration de Base AKIG"
    assert "en retard\u202f: dernier exercice réussi le 08/11/2026 03:04:00 CET" in first.body
    alerts.tick(NOW + timedelta(minutes=5), jobs)
    assert len(sent) == 1  # one alert, not one a minute
    alerts.tick(NOW + timedelta(minutes=16), jobs)
    assert sent[-1].kind == "escalation" and sent[-1].roles == ("dba", "lead")
    acknowledge(store, "drill:akig", by="Sam", at=NOW + timedelta(minutes=17))
    alerts.tick(NOW + timedelta(hours=2), jobs)
    assert len(sent) == 2  # acknowledged: no more escalation
    success = _run(store, "drill:akig", datetime(2026, 11, 29, 2, 0, tzinfo=UTC), "ok")
    alerts.ended(drill, success, datetime(2026, 11, 29, 2, 5, tzinfo=UTC))
    assert sent[-1].kind == "recovery"
    assert sent[-1].subject == "[P1] RÉUSSI DE NOUVEAU — Exercice de restauration de Base AKIG"
    assert list_alerts(store) == []


def test_a_drill_on_schedule_or_that_never_ran_is_not_overdue(tmp_path: Path) -> None:
    (tmp_path / "reprise.yaml").write_text(PLAN.format(path=tmp_path))
    plan = load_plan(tmp_path / "reprise.yaml").plan
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    jobs = {job.id: job for job in plan_jobs(plan)}
    alerts = JobAlerts(plan, store, lambda n: None)
    assert alerts.overdue(jobs["drill:akig"], NOW) is None  # never ran: nothing to say yet
    _run(store, "drill:akig", datetime(2026, 11, 15, 2, 0, tzinfo=UTC), "ok")
    assert alerts.overdue(jobs["drill:akig"], NOW) is None  # last Sunday's slot is due next
    _run(store, "drill:akig", datetime(2026, 11, 22, 2, 0, tzinfo=UTC), "failed")
    assert alerts.overdue(jobs["drill:akig"], NOW) is None  # failures alert on their own
    assert alerts.overdue(jobs["drill:akig"], NOW + timedelta(days=7)) is not None

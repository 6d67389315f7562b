"""The Prometheus page over a real state, SQLite and PostgreSQL: every metric's name,
type, labels and value worked out from what the test wrote with the product's own
functions; no secret of the plan in any label; the time of a scrape with 500 services."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import event, insert

from reprise import __version__
from reprise.alerts.records import open_alert, save_alert
from reprise.cli.main import main
from reprise.drill.records import record_drill
from reprise.incidents.lifecycle import open_incident
from reprise.monitor.results import ResultBuffer, write_results
from reprise.plan.loader import LoadedPlan, load_plan
from reprise.plan.model import Plan
from reprise.probes.result import down, up
from reprise.probes.run import service_checks
from reprise.repository.catalog import record_backup, record_verification
from reprise.repository.manifest import Compression, Encryption, Manifest, Part
from reprise.restore.report import Report
from reprise.scheduler.instances import beat, register
from reprise.scheduler.records import Claim, claim_run, finish_run
from reprise.store.database import Store
from reprise.store.events import append_event
from reprise.store.tables import backups, check_results, drills, events, jobs
from reprise.usecases.metrics import metrics_page
from reprise.usecases.state import open_state

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECRETS = (
    "DbPassw0rd",
    "HttpPassw0rd",
    "T0kenInUrl",
    "An0therToken",
    "MailPassw0rd",
    "BackupPassw0rd",
)

PLAN = """\
version: 1
organisation: {{name: AKIG, language: en, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
roles:
  - id: ops
    title: Operations
    permission: admin
    members:
      - name: On call
        contacts: ["mailtos://ops:MailPassw0rd@mail.example.org?to=oncall@example.org"]
communication: {{audiences: [ops]}}
repositories:
  local: {{kind: local, path: "{folder}/repository"}}
keys:
  recipients_file: keys/recipients.txt
  identity: keys/identity.txt
  signing_key: keys/signing.key
state: {state}
services:
  - id: db
    name: AKIG database
    category: database
    criticality: critical
    objectives: {{rpo: 15m, rto: 45m}}
    checks:
      - {{kind: postgres, dsn: "postgresql://monitor:DbPassw0rd@db.akig.local/akig", interval: 30s}}
      - {{kind: http, url: "https://admin:HttpPassw0rd@web.akig.local/health?token=T0kenInUrl",
         interval: 30s}}
      - {{kind: http, url: "https://web.akig.local/health?token=An0therToken", interval: 30s}}
    backups:
      - name: db-dump
        kind: postgres
        dsn: "postgresql://backup:BackupPassw0rd@db.akig.local/postgres"
        repository: local
        schedule: "@hourly"
        retention: {{keep_daily: 7}}
  - id: mail
    name: Mail server
    category: mail
    criticality: major
    checks: [{{kind: tcp, host: 127.0.0.1, port: 25, interval: 30s}}]
    backups:
      - {{name: mail-config, kind: command, command: "echo mail", repository: local,
         schedule: "@daily", retention: {{keep_daily: 7}}}}
  - id: router
    name: Router
    category: network
    criticality: minor
{more}"""


def _write_plan(tmp_path: Path, more: str = "", state_url: str | None = None) -> LoadedPlan:
    folder = tmp_path / "plan"
    assert main(["init", str(folder), "--example", "minimal"]) == 0
    state = f'{{url: "{state_url}"}}' if state_url else f'{{dir: "{folder}/state"}}'
    path = folder / "reprise.yaml"
    path.write_text(PLAN.format(folder=folder, more=more, state=state), encoding="utf-8")
    path.chmod(0o600)
    return load_plan(path)


def _backup(
    store: Store, service: str, source: str, started: datetime, *, seconds: float, size: int
) -> str:
    backup_id = started.strftime("%Y%m%dT%H%M%SZ") + "-" + source[:6]
    part = Part(
        name="output.zst.age",
        role="output",
        plain_size=size * 2,
        plain_sha256="0" * 64,
        stored_size=size,
        sha256="1" * 64,
    )
    manifest = Manifest(
        id=backup_id,
        repository="local",
        source=source,
        kind="command",
        service=service,
        host="backup-host",
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        tool={"name": "reprise", "version": "test"},
        compression=Compression(level=3),
        encryption=Encryption(recipients=["age1test"]),
        signing_key="test",
        parts=[part],
    )
    record_backup(store, "local", manifest)
    return backup_id


def _verify(store: Store, backup_id: str, *, ok: bool = True) -> None:
    record_verification(
        store,
        "local",
        backup_id,
        ok=ok,
        detail=None,
        checked_parts=["output.zst.age"],
        deep=False,
        at=NOW - timedelta(minutes=5),
    )


def _drill(store: Store, service: str, started: datetime, seconds: float, result: str) -> None:
    report = Report(
        kind="drill",
        service=service,
        source=f"{service}-dump",
        repository="local",
        backup_id="x",
        backup_time=started - timedelta(hours=1),
        target="scratch",
        started_at=started,
        result=result,
        finished_at=started + timedelta(seconds=seconds),
    )
    record_drill(
        store, report, rto_seconds=seconds, objective_seconds=2700, failures=[], report_path=None
    )


def _job(store: Store, job: str, due: datetime, status: str, attempt: int = 1) -> None:
    run = claim_run(
        store,
        Claim(
            job=job,
            kind=job.split(":")[0],
            due_at=due,
            attempt=attempt,
            trigger="schedule",
            started_at=due,
            deadline=due + timedelta(hours=1),
            host="backup-host",
            pid=None,
        ),
    )
    assert run is not None
    if status != "running":
        finish_run(store, run, status=status, finished_at=due + timedelta(minutes=2))  # type: ignore[arg-type]


def _results(store: Store, plan: Plan) -> None:
    buffer = ResultBuffer()
    db = plan.service("db")
    (postgres, _), (http, _), (other, _) = service_checks(db)
    (tcp, _) = service_checks(plan.service("mail"))[0]
    buffer.add("db", postgres, up("ok", 0.5), NOW - timedelta(minutes=3))
    buffer.add("db", postgres, down("refused", 0.012), NOW - timedelta(seconds=40))
    buffer.add("db", http, up("200", 0.25), NOW - timedelta(seconds=30))
    buffer.add("db", other, up("200", 0.5), NOW - timedelta(seconds=20))
    buffer.add("mail", tcp, up("ok", 0.1), NOW - timedelta(hours=2))  # stale: left out
    write_results(store, buffer.take())


def _write_state(store: Store, plan: Plan) -> None:
    at = NOW - timedelta(days=1)
    append_event(store, "service.state", "db", {"from": "unknown", "to": "up"}, at=at)
    append_event(
        store, "service.state", "db", {"from": "up", "to": "down"}, at=NOW - timedelta(minutes=1)
    )
    append_event(store, "service.state", "mail", {"from": "unknown", "to": "degraded"}, at=at)
    _results(store, plan)
    old = _backup(store, "db", "db-dump", NOW - timedelta(hours=3), seconds=60, size=1000)
    verified = _backup(store, "db", "db-dump", NOW - timedelta(hours=1), seconds=90, size=2000)
    newest = _backup(store, "db", "db-dump", NOW - timedelta(minutes=10), seconds=30, size=3000)
    _verify(store, old)
    _verify(store, verified)
    _verify(store, newest, ok=False)
    _backup(store, "mail", "mail-config", NOW - timedelta(days=2), seconds=5, size=10)
    _drill(store, "db", NOW - timedelta(days=7), 1500, "passed")
    _drill(store, "db", NOW - timedelta(days=1), 2000, "failed")
    open_alert(
        store, service="db", kind="down", priority="P1", opened_at=NOW, message="down", roles=[]
    )
    resolved = open_alert(
        store, service="mail", kind="down", priority="P2", opened_at=at, message="x", roles=[]
    )
    save_alert(store, replace(resolved, resolved_at=NOW - timedelta(hours=1)))
    open_incident(store, plan, "Database down", ["db"], by="monitor", at=NOW)
    open_incident(store, plan, "Annual exercise", ["mail"], by="ops", at=NOW, exercise=True)
    _job(store, "backup:db-dump", NOW - timedelta(hours=3), "ok")
    _job(store, "backup:db-dump", NOW - timedelta(hours=2), "failed")
    _job(store, "backup:db-dump", NOW - timedelta(hours=2), "timeout", attempt=2)
    _job(store, "backup:db-dump", NOW - timedelta(hours=1), "ok")
    _job(store, "backup:db-dump", NOW, "running")
    instance = register(store, host="backup-host", pid=42, version="0.1.0", now=at, role="leader")
    beat(store, instance, NOW - timedelta(seconds=12), "leader", {})


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest) -> str | None:
    """No URL: the plan's SQLite state; else a fresh database on the scratch PostgreSQL."""
    if request.param == "sqlite":
        return None
    info = request.getfixturevalue("postgres")
    name = f"metrics_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return str(info.dsn(name))


@pytest.fixture
def scraped(tmp_path: Path, state_url: str | None) -> Iterator[tuple[bytes, str]]:
    loaded = _write_plan(tmp_path, state_url=state_url)
    with open_state(loaded) as store:
        _write_state(store, loaded.plan)
        yield metrics_page(loaded.plan, store, NOW)


def _families(body: bytes) -> dict[str, tuple[str, list[Sample]]]:
    return {
        family.name: (family.type, family.samples)
        for family in text_string_to_metric_families(body.decode())
    }


def _values(samples: list[Sample], suffix: str = "") -> dict[tuple[str, ...], float]:
    return {
        tuple(sorted(f"{k}={v}" for k, v in sample.labels.items())): sample.value
        for sample in samples
        if sample.name.endswith(suffix)
    }


def test_the_page_is_the_text_format(scraped: tuple[bytes, str]) -> None:
    body, content_type = scraped
    assert content_type == CONTENT_TYPE_LATEST
    families = _families(body)
    kind, samples = families["reprise_info"]  # the text format has no info type
    assert kind == "gauge" and samples[0].labels == {"version": __version__}
    assert samples[0].value == 1
    assert families["reprise_job_runs"][0] == "counter"
    assert all(
        kind == "gauge" for name, (kind, _s) in families.items() if name != "reprise_job_runs"
    )


def test_service_states_follow_the_journal(scraped: tuple[bytes, str]) -> None:
    families = _families(scraped[0])
    assert _values(families["reprise_service_up"][1]) == {
        ("priority=P1", "service=db"): 0.0,
        ("priority=P2", "service=mail"): 1.0,
    }  # router: never judged, unknown, no `up` sample
    states = _values(families["reprise_service_state"][1])
    assert states[("service=db", "state=down")] == 1.0
    assert states[("service=mail", "state=degraded")] == 1.0
    assert states[("service=router", "state=unknown")] == 1.0
    assert sum(states.values()) == 3 and len(states) == 12


def test_checks_show_their_newest_result_without_secrets(scraped: tuple[bytes, str]) -> None:
    families = _families(scraped[0])
    latency = _values(families["reprise_check_latency_seconds"][1])
    assert latency == {
        ("check=postgres db.akig.local:5432/akig", "service=db"): 0.012,
        ("check=https://web.akig.local/health", "service=db"): 0.25,
        ("check=https://web.akig.local/health #2", "service=db"): 0.5,
    }  # the mail check's result is two hours old: stale
    assert _values(families["reprise_check_up"][1]) == {
        ("check=postgres db.akig.local:5432/akig", "service=db"): 0.0,
        ("check=https://web.akig.local/health", "service=db"): 1.0,
        ("check=https://web.akig.local/health #2", "service=db"): 1.0,
    }


def test_backups_restore_points_and_objectives(scraped: tuple[bytes, str]) -> None:
    families = _families(scraped[0])
    db, mail = ("service=db", "source=db-dump"), ("service=mail", "source=mail-config")
    last = _values(families["reprise_backup_last_success_timestamp_seconds"][1])
    assert last == {
        db: (NOW - timedelta(minutes=10) + timedelta(seconds=30)).timestamp(),
        mail: (NOW - timedelta(days=2) + timedelta(seconds=5)).timestamp(),
    }
    assert _values(families["reprise_backup_last_size_bytes"][1]) == {db: 3000, mail: 10}
    assert _values(families["reprise_backup_last_duration_seconds"][1]) == {db: 30, mail: 5}
    # The newest backup failed its verification: the restore point is an hour old.
    ages = _values(families["reprise_restore_point_age_seconds"][1])
    assert ages == {("service=db",): 3600.0, ("service=mail",): float("inf")}
    assert _values(families["reprise_rpo_objective_seconds"][1]) == {
        ("service=db",): 900.0,
        ("service=mail",): 3600.0,
    }
    assert _values(families["reprise_rto_objective_seconds"][1]) == {
        ("service=db",): 2700.0,
        ("service=mail",): 1800.0,
        ("service=router",): 1800.0,
    }


def test_the_latest_drill_counts(scraped: tuple[bytes, str]) -> None:
    families = _families(scraped[0])
    assert _values(families["reprise_drill_last_rto_seconds"][1]) == {("service=db",): 2000.0}
    assert _values(families["reprise_drill_last_success"][1]) == {("service=db",): 0.0}
    finished = (NOW - timedelta(days=1) + timedelta(seconds=2000)).timestamp()
    assert _values(families["reprise_drill_last_timestamp_seconds"][1]) == {
        ("service=db",): finished
    }


def test_alerts_incidents_jobs_and_the_heartbeat(scraped: tuple[bytes, str]) -> None:
    families = _families(scraped[0])
    assert _values(families["reprise_alerts_open"][1]) == {
        ("priority=P1",): 1.0,
        ("priority=P2",): 0.0,
        ("priority=P3",): 0.0,
    }
    assert families["reprise_incidents_open"][1][0].value == 1.0  # the exercise left out
    job = "job=backup:db-dump"
    assert _values(families["reprise_job_runs"][1], "_total") == {
        (job, "status=ok"): 2.0,
        (job, "status=failed"): 1.0,
        (job, "status=timeout"): 1.0,
    }  # the running one is not counted yet
    success = (NOW - timedelta(hours=1) + timedelta(minutes=2)).timestamp()
    failure = (NOW - timedelta(hours=2) + timedelta(minutes=2)).timestamp()
    assert _values(families["reprise_job_last_success_timestamp_seconds"][1]) == {(job,): success}
    assert _values(families["reprise_job_last_failure_timestamp_seconds"][1]) == {(job,): failure}
    assert families["reprise_service_heartbeat_age_seconds"][1][0].value == 12.0


def test_no_secret_of_the_plan_is_on_the_page(scraped: tuple[bytes, str]) -> None:
    body = scraped[0].decode()
    assert "db.akig.local" in body  # the checks are there, by host
    for secret in SECRETS:
        assert secret not in body
    assert "monitor@" not in body and "admin@" not in body and "mail.example.org" not in body


def _many_services(count: int) -> str:
    return "".join(
        f"""  - id: svc-{n}
    name: Service {n}
    category: application
    criticality: major
    checks: [{{kind: tcp, host: 10.0.{n // 250}.{n % 250}, port: 443, interval: 1m}}]
    backups:
      - {{name: svc-{n}-files, kind: command, command: "echo {n}", repository: local,
         schedule: "@hourly", retention: {{keep_daily: 7}}}}
"""
        for n in range(count)
    )


def _bulk_state(store: Store, ids: list[str]) -> None:
    """A day of history for every service: a result a minute, a backup an hour, a state
    change, a drill and a job run an hour (bulk inserts: the setup is not what is timed)."""
    rows_results, rows_backups, rows_jobs, rows_events, rows_drills = [], [], [], [], []
    for service in ids:
        rows_events.append(
            {
                "time": NOW - timedelta(days=1),
                "kind": "service.state",
                "subject": service,
                "payload": {"from": "unknown", "to": "up"},
            }
        )
        name = f"tcp 10.0.{int(service[4:]) // 250}.{int(service[4:]) % 250}:443"
        for minute in range(0, 24 * 60, 1):
            at = (NOW - timedelta(minutes=minute)).timestamp()
            rows_results.append(
                {
                    "service": service,
                    "check_name": name,
                    "at": at,
                    "hour": int(at // 3600),
                    "state": "up",
                    "latency": 0.01,
                    "message": "ok",
                }
            )
        for hour in range(24):
            started = NOW - timedelta(hours=hour, minutes=30)
            rows_backups.append(
                {
                    "repository": "local",
                    "backup_id": f"{hour:02d}-{service}",
                    "source": f"{service}-files",
                    "service": service,
                    "kind": "command",
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=20),
                    "plain_size": 100,
                    "stored_size": 50,
                    "manifest": {},
                    "verified_at": started,
                    "verify_status": "ok",
                }
            )
            rows_jobs.append(
                {
                    "job": f"backup:{service}-files",
                    "kind": "backup",
                    "due_at": started,
                    "attempt": 1,
                    "trigger": "schedule",
                    "status": "ok" if hour else "failed",
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=20),
                    "deadline": started + timedelta(hours=1),
                    "host": "h",
                }
            )
        rows_drills.append(
            {
                "service": service,
                "source": f"{service}-files",
                "repository": "local",
                "backup_id": "x",
                "backup_time": NOW - timedelta(days=1),
                "started_at": NOW - timedelta(hours=5),
                "finished_at": NOW - timedelta(hours=4),
                "seconds": 3600.0,
                "rto_seconds": 3600.0,
                "objective_seconds": 1800.0,
                "result": "passed",
                "failures": [],
                "steps": [],
            }
        )
    with store.engine.begin() as connection:
        for table, rows in (
            (events, rows_events),
            (check_results, rows_results),
            (backups, rows_backups),
            (jobs, rows_jobs),
            (drills, rows_drills),
        ):
            connection.execute(insert(table), rows)


def test_a_scrape_of_500_services_reads_a_few_grouped_queries(tmp_path: Path) -> None:
    loaded = _write_plan(tmp_path, _many_services(500))
    ids = [service.id for service in loaded.plan.services if service.id.startswith("svc-")]
    with open_state(loaded) as store:
        _bulk_state(store, ids)
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(store.engine, "before_cursor_execute", count)
        body, _type = metrics_page(loaded.plan, store, NOW)
        event.remove(store.engine, "before_cursor_execute", count)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            metrics_page(loaded.plan, store, NOW)
            timings.append(time.perf_counter() - started)
    assert len(statements) <= 10, statements  # one per table, not one per service
    families = _families(body)
    assert len(families["reprise_service_up"][1]) == 500
    assert len(families["reprise_check_latency_seconds"][1]) == 500
    assert len(families["reprise_restore_point_age_seconds"][1]) == 502
    assert len(families["reprise_job_runs"][1]) == 2 * 500
    shown = ", ".join(f"{seconds * 1000:.0f} ms" for seconds in timings)
    print(f"metrics_page, 500 services, a day of history: {shown}")
    assert min(timings) < 10  # a sanity bound only: the machine is shared

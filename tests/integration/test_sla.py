"""The SLA figures of a synthetic month (devsupport/sla_month.py) to the second, on SQLite
and PostgreSQL states; the reports in French and English against reviewed expected files
(``REPRISE_UPDATE_EXPECTED=1`` rewrites them, to be read before committing); the command;
and the monthly report sent by the scheduled job to a real SMTP server."""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from devsupport import sla_month
from reprise.cli.main import main
from reprise.plan.loader import LoadedPlan, load_plan
from reprise.sla.gather import compute_sla
from reprise.sla.periods import parse_period
from reprise.sla.report import render_sla
from reprise.store.database import Store
from reprise.usecases.sla import send_monthly_report
from reprise.usecases.state import open_state
from tests.conftest import run_reprise
from tests.support.peers import body_of, smtp_server, subject_of

EXPECTED = Path(__file__).parent.parent / "data" / "sla"
NOVEMBER = "2026-11"


def _plan(tmp_path: Path, *, language: str = "fr", **options: str) -> LoadedPlan:
    folder = tmp_path / "plan"
    if not folder.exists():
        assert main(["init", str(folder), "--example", "minimal"]) == 0
    return load_plan(sla_month.write_plan(folder, language=language, **options))


@pytest.fixture
def month(tmp_path: Path) -> Iterator[tuple[LoadedPlan, Store]]:
    loaded = _plan(tmp_path)
    with open_state(loaded) as store:
        sla_month.write_month(store)
        yield loaded, store


def _november(loaded: LoadedPlan, store: Store) -> object:
    period = parse_period(NOVEMBER, start=None, end=None, zone="Europe/Paris", now=sla_month.NOW)
    return compute_sla(loaded.plan, store, period, sla_month.NOW)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_month_gives_every_figure_to_the_second(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = None
    if engine == "postgresql":
        info = request.getfixturevalue("postgres")
        name = f"sla_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = info.dsn(name)
        assert conninfo_to_dict(url)["dbname"] == name
    loaded = _plan(tmp_path, **({"state_url": url} if url else {}))
    with open_state(loaded) as store:
        sla_month.write_month(store)
        figures = _november(loaded, store)
    db, mail = figures.services  # type: ignore[attr-defined]
    for line, expected in ((db, sla_month.EXPECTED["db"]), (mail, sla_month.EXPECTED["mail"])):
        a = line.availability
        assert a.period_seconds == sla_month.MONTH_SECONDS
        assert a.maintenance_seconds == expected["maintenance"]
        assert a.no_data_seconds == expected["no_data"]
        assert a.measured_seconds == expected["measured"]
        assert a.down_seconds == expected["down"]
        assert [o.seconds for o in a.outages] == expected["outages"]
        assert a.uptime_percent == pytest.approx(
            100 * (expected["measured"] - expected["down"]) / expected["measured"]
        )
        assert [r.seconds for r in line.rto.recoveries] == [expected["recovery"]]
    assert mail.availability.degraded_seconds == 1800
    assert db.availability.mttr_seconds == 1910
    assert db.availability.mtbf_seconds == (db.availability.measured_seconds - 5730) / 3
    gap = db.rpo.worst_gap
    assert gap is not None and gap.seconds == sla_month.EXPECTED["db"]["worst_gap"]
    assert gap.start == sla_month.EXPECTED["db"]["worst_gap_from"]
    assert db.rpo.current_seconds is None  # November is over: no "RPO now"
    drills, last, median, worst = sla_month.EXPECTED["db"]["drills"]
    assert (db.rto.drills, db.rto.last_seconds, db.rto.median_seconds) == (drills, last, median)
    assert db.rto.worst_seconds == worst
    verdicts = {o.name: (o.verdict, o.margin) for o in db.objectives}
    assert verdicts["rpo"] == ("breached", -7200)
    assert verdicts["rto"] == ("breached", -540)  # the real recovery, 39 min, is the worst
    assert verdicts["uptime"][0] == "breached"
    assert mail.verdict == "ok" and [o.name for o in mail.objectives] == ["uptime", "rto"]
    # The exercise incident is neither listed nor counted.
    assert [i.id for i in figures.incidents] == [1]  # type: ignore[attr-defined]
    assert figures.verdict == "breached"  # type: ignore[attr-defined]


def test_degraded_time_counts_as_down_when_the_plan_says_so(tmp_path: Path) -> None:
    loaded = _plan(tmp_path, degraded="down")
    with open_state(loaded) as store:
        sla_month.write_month(store)
        figures = _november(loaded, store)
    mail = figures.services[1]  # type: ignore[attr-defined]
    assert mail.availability.down_seconds == 2070 + 1800
    assert [o.state for o in mail.availability.outages] == ["degraded", "down"]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_reports_match_the_reviewed_files(language: str, tmp_path: Path) -> None:
    loaded = _plan(tmp_path, language=language)
    with open_state(loaded) as store:
        sla_month.write_month(store)
        figures = _november(loaded, store)
    options = {"language": language, "zone": "Europe/Paris", "organisation": "AKIG"}
    markdown = render_sla(figures, fmt="md", **options)  # type: ignore[arg-type]
    expected = EXPECTED / f"report-{language}.md"
    if os.environ.get("REPRISE_UPDATE_EXPECTED"):
        expected.write_text(markdown, encoding="utf-8")
    assert markdown == expected.read_text(encoding="utf-8")
    html = render_sla(figures, fmt="html", **options)  # type: ignore[arg-type]
    assert html.count("<svg") == 1 and f'<html lang="{language}">' in html
    # Nothing is fetched from anywhere: the chart's links are to its own parts.
    assert re.findall(r'(?:src|href)="(?!#)', html) == []
    title = "Disponibilité du plan par mois" if language == "fr" else "Plan uptime per month"
    assert title in html  # the chart's text stays text
    if language == "fr":
        from tests.unit.test_french_output import english_words, typography_faults

        assert english_words(markdown) == [], english_words(markdown)
        assert typography_faults(markdown) == [], typography_faults(markdown)
        assert "99,778\u202f%" in markdown and "1 h 35 min 30 s" in markdown


def test_the_command_gives_figures_reports_and_clear_errors(
    month: tuple[LoadedPlan, Store], tmp_path: Path
) -> None:
    loaded, _store = month
    plan = str(loaded.path)
    shown = run_reprise("--plan", plan, "sla", "--period", NOVEMBER, "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["verdict"] == "breached" and data["period"]["label"] == NOVEMBER
    assert [s["service"] for s in data["services"]] == ["db", "mail"]
    assert data["services"][0]["availability"]["down_seconds"] == 5730
    assert data["period"]["start"] == "2026-10-31T23:00:00+00:00"
    only = run_reprise("--plan", plan, "sla", "--period", NOVEMBER, "--service", "mail", "--json")
    assert [s["service"] for s in json.loads(only.stdout)["services"]] == ["mail"]
    page = tmp_path / "sla.html"
    written = run_reprise(
        "--plan", plan, "sla", "--period", NOVEMBER, "--lang", "en", "-o", str(page)
    )
    assert written.returncode == 0, written.stderr
    assert page.stat().st_mode & 0o077 == 0
    assert "<svg" in page.read_text() and "SLA dashboard" in page.read_text()
    for args, message in (
        (["--period", "2026-13"], "is not a month"),
        (["--period", "2099-01"], "has not begun"),
        (["--from", "2026-11-10", "--to", "2026-11-01"], "is not after --from"),
        (["--service", "nope"], "no service 'nope'"),
        (["--format", "pdf"], "pdf"),
    ):
        refused = run_reprise("--plan", plan, "sla", *args)
        assert refused.returncode == 2, (args, refused.stderr)
        assert message in refused.stderr


def test_the_monthly_report_reaches_the_audiences(tmp_path: Path) -> None:
    with smtp_server() as (port, mailbox):
        contact = f"mailto://127.0.0.1:{port}?from=reprise@akig.test&to=direction@akig.test"
        loaded = _plan(tmp_path, contact=contact)
        with open_state(loaded) as store:
            sla_month.write_month(store)
            sent = send_monthly_report(loaded.plan, store, now=sla_month.NOW)
        assert sent.period == NOVEMBER and sent.verdict == "breached"
        assert [record.ok for record in sent.deliveries] == [True]
        (message,) = mailbox.wait_for(1, 30)
        subject = subject_of(message)
        assert subject.startswith("[AKIG] Rapport SLA novembre 2026")
        assert "non conforme" in subject
        assert message["To"] == "direction@akig.test"
        assert "1 h 35 min 30 s" in body_of(message)
        attached = [part.get_filename() for part in message.walk() if part.get_filename()]
        assert attached == ["sla-2026-11-fr.html"]
        assert {p.name for p in sent.paths} == {"sla-2026-11-fr.md", "sla-2026-11-fr.html"}

        # The same job as `reprise serve` runs it, in its own process, on the wall clock
        # (so last month, October 2026, as far as the month has data).
        schedule = run_reprise("--plan", str(loaded.path), "schedule", "--json")
        jobs = {line["job"]: line for line in json.loads(schedule.stdout)}
        next_at = datetime.fromisoformat(jobs["report:sla"]["next_at"])
        assert (next_at.day, next_at.hour, next_at.minute) == (1, 8, 0)
        assert next_at > datetime.now(UTC)
        ran = run_reprise("--plan", str(loaded.path), "jobs", "run", "report:sla", "--json")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        mails = mailbox.wait_for(2, 30)
        assert "Rapport SLA" in subject_of(mails[1])
        run = json.loads(ran.stdout)
        assert run["status"] == "ok" and run["figures"]["sent"] == 1


def test_pruned_backups_still_count_from_the_journal_not_unverified_ones(
    month: tuple[LoadedPlan, Store],
) -> None:
    """Retention removes last month's hourly backups from the catalog long before the
    monthly report: the journal keeps them as restore points. A backup still cataloged but
    not verified stays out, whatever the journal says."""
    from reprise.store.events import append_event

    loaded, store = month
    pruned = sla_month.paris(18, 1, 35)
    for moment in (pruned, sla_month.paris(18, 1, 5)):  # the second one is cataloged
        backup_id = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") + "-000000"
        append_event(
            store,
            "backup.completed",
            "db",
            {"source": "db-command", "backup_id": backup_id, "started_at": moment.isoformat()},
            at=moment,
        )
    db = _november(loaded, store).services[0]  # type: ignore[attr-defined]
    assert db.rpo.worst_gap is not None and db.rpo.worst_gap.seconds == 5400  # 00:05 → 01:35
    assert db.rpo.worst_gap.start == sla_month.paris(18, 0, 5)


@pytest.mark.postgres
def test_continuous_wal_makes_every_instant_a_restore_point() -> None:
    """A physical base backup and its unbroken WAL archive: the RPO now is the age of the
    newest archived segment, not of the base backup."""
    from tests.support.pitr import (
        archiving_server,
        give_to_server_user,
        physical_source,
        shared_world,
        switch_and_wait,
    )

    world = shared_world("reprise-sla-wal-")
    server = archiving_server(world)
    info = server.start()
    try:
        world.write_plan(physical_source(info))
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        world.backup_once()
        assert world.reprise("backup", "verify", "--all").returncode == 0
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute("CREATE TABLE t AS SELECT generate_series(1, 100) AS v")
        switch_and_wait(info.dsn())
        shown = world.reprise("sla", "--json")
        assert shown.returncode == 0, shown.stderr
        rpo = json.loads(shown.stdout)["services"][0]["rpo"]
        assert rpo["continuous"] is True, rpo
        assert rpo["current_seconds"] is not None and rpo["current_seconds"] < 600
        # Prometheus sees the same archive: the newest segment's age as the WAL lag.
        lag = _wal_lag(world)
        assert lag is not None and 0 <= lag < 600, lag
        # Without the archive the window is gone: only the base backup counts.
        archive = world.repository / "wal"
        archive.rename(archive.with_name("wal-hidden"))
        shown = world.reprise("sla", "--json")
        assert json.loads(shown.stdout)["services"][0]["rpo"]["continuous"] is False
    finally:
        server.stop()
        shutil.rmtree(world.root, ignore_errors=True)


def _wal_lag(world: object) -> float | None:
    """``reprise_wal_archive_lag_seconds`` of the world's service, scraped now."""
    import os
    from datetime import UTC, datetime
    from unittest import mock

    from prometheus_client.parser import text_string_to_metric_families

    from reprise.plan.loader import load_plan
    from reprise.store import open_state
    from reprise.usecases.metrics import metrics_page

    with mock.patch.dict(os.environ, world.env):  # type: ignore[attr-defined]
        loaded = load_plan(world.plan)  # type: ignore[attr-defined]
        with open_state(loaded) as store:
            body, _type = metrics_page(loaded.plan, store, datetime.now(UTC))
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "reprise_wal_archive_lag_seconds":
            return float(family.samples[0].value)
    return None

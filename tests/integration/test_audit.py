"""`reprise audit` on a real scratch setup: a PostgreSQL server of its own with a small
database, a local repository, keys, an HTTP API and an SMTP server on loopback as the test
contact. First all ✅ (exit 0); then one fault at a time, each giving its ❌ with the value
measured and exit 3, the setup put back after each. One setup is shared by the module."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reprise.cli.main import main
from tests.support.backups import World, sample_database
from tests.support.peers import SwitchablePostgres, SwitchableSmtp, http_server

pytestmark = pytest.mark.postgres

PLAN = """\
version: 1
organisation: {{name: Essai, language: fr, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
communication:
  test_contacts: ["mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=audit@infra.test"]
roles:
  - id: oncall
    title: Astreinte
    members:
      - name: Astreinte
        contacts: ["mailto://127.0.0.1:{smtp}?from=reprise@infra.test&to=oncall@infra.test"]
audit: {{throughput_floor: 1, verification_budget: 100}}
state: {{dir: {state}}}
repositories:
  local: {{kind: local, path: {repository}}}
keys:
  recipients_file: keys/recipients.txt
  identity: keys/identity.txt
  signing_key: keys/signing.key
services:
  - id: app
    name: Application
    category: application
    criticality: critical
    objectives: {{rto: {rto}}}
    checks:
      - {{kind: postgres, dsn: "{dsn}", timeout: 5s}}
      - {{kind: http, url: "http://127.0.0.1:{http}/", timeout: 5s}}
    drill: {{enabled: true}}
    integrity: ["SELECT count(*) > 0 FROM invoices"]
    backups:
      - kind: postgres
        dsn: "{dsn}"
        databases: [shop]
        repository: local
        schedule: "@hourly"
        retention: {{keep_last: 10}}
        table_stats: checksums
"""


@dataclass
class Setup:
    """The shared scratch setup."""

    world: World
    server: SwitchablePostgres
    smtp: SwitchableSmtp
    values: dict[str, Any]

    def write_plan(self, **changes: Any) -> None:
        self.world.plan.write_text(PLAN.format(**{**self.values, **changes}))

    def audit(self, *args: str, timeout: float = 300) -> tuple[int, dict[str, Any]]:
        """`reprise audit --json ARGS`: exit code and the report."""
        result = self.world.reprise("audit", "--json", *args, timeout=timeout)
        assert result.stdout, result.stderr
        return result.returncode, json.loads(result.stdout)


def item(report: dict[str, Any], item_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in report["items"] if i["id"] == item_id)
    return found


def failed(report: dict[str, Any]) -> list[str]:
    return [i["id"] for i in report["items"] if i["status"] == "failed"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = tmp_path_factory.mktemp("audit")
    plan_dir = root / "plan"
    assert main(["init", str(plan_dir), "--example", "minimal"]) == 0
    world = World(root, plan_dir, root / "repository")
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(SwitchablePostgres())
        server.start()
        sample_database(server.info, "shop", rows=300)
        smtp = SwitchableSmtp()
        smtp.start()
        stack.callback(smtp.stop)
        http, _posts = stack.enter_context(http_server())
        values = {
            "smtp": smtp.port,
            "http": http,
            "dsn": server.dsn("shop"),
            "state": root / "state",
            "repository": world.repository,
            "rto": "30m",
        }
        ready = Setup(world, server, smtp, values)
        ready.write_plan()
        assert world.reprise("repo", "init").returncode == 0
        world.backup_once()
        world.backup_once()
        verified = world.reprise("backup", "verify", "--all")
        assert verified.returncode == 0, verified.stderr
        yield ready


def test_a_sound_setup_is_compliant_in_every_item(setup: Setup) -> None:
    code, report = setup.audit()
    assert code == 0, failed(report)
    assert report["result"] == "compliant"
    statuses = {i["id"]: i["status"] for i in report["items"]}
    assert statuses == {
        "app.checks": "ok",
        "app.backup_age": "ok",
        "app.throughput": "ok",
        "app.drill": "ok",
        "app.wal": "not_applicable",
        "verification": "ok",
        "scheduler": "not_applicable",
        "alert_channels": "ok",
        "security.file_modes": "ok",
        "security.env_git": "not_applicable",
        "security.identity": "ok",
        "security.recipients": "ok",
        "security.signing_key": "ok",
    }
    assert "2 vérification(s) réussie(s)" in item(report, "app.checks")["measured"]
    drill = item(report, "app.drill")
    assert drill["raw"]["rto_seconds"] < 1800 and drill["measured"].startswith("RTO atteint")
    assert item(report, "app.throughput")["raw"]["backups"][0]["previous_runs"] == 2
    # The test contact got the message; nobody else was sent anything.
    messages = setup.smtp.mailbox.wait_for(1, 30)
    assert any("Essai d'audit" in str(m["Subject"]) for m in messages)
    assert {m["To"] for m in messages} == {"audit@infra.test"}


def test_the_stored_french_report_has_no_english_word(setup: Setup) -> None:
    from tests.unit.test_french_output import english_words

    code, report = setup.audit("--quick")
    assert code == 0, failed(report)
    shown = setup.world.reprise("audit", "show", str(report["id"]))
    assert shown.returncode == 0, shown.stderr
    assert "# Rapport d'audit de conformité" in shown.stdout
    assert "✅ conforme" in shown.stdout
    assert english_words(shown.stdout) == [], shown.stdout
    html = setup.world.reprise("audit", "show", str(report["id"]), "--format", "html")
    assert html.returncode == 0 and "<td>✅</td>" in html.stdout
    english = setup.world.reprise("audit", "show", str(report["id"]), "--lang", "en")
    assert "Compliance audit report" in english.stdout


def test_a_stopped_database_fails_the_checks(setup: Setup) -> None:
    setup.server.stop()
    try:
        code, report = setup.audit("--quick")
    finally:
        setup.server.start()
    assert code == 3 and report["result"] == "not_compliant"
    assert failed(report) == ["app.checks"]
    checks = item(report, "app.checks")
    assert checks["measured"].startswith("1 vérification(s) sur 2 en échec")
    assert "postgres" in checks["measured"] and checks["fix"]


def test_a_backup_older_than_the_rpo_fails_its_age(setup: Setup) -> None:
    """In-process, on a clock two hours ahead (the catalog is left as it is)."""
    from reprise.plan.loader import load_plan
    from reprise.usecases.audit import AuditRequest, audit
    from reprise.usecases.state import open_state

    loaded = load_plan(setup.world.plan)
    later = datetime.now(UTC) + timedelta(hours=2)
    with open_state(loaded) as store:
        outcome = audit(loaded.plan, store, AuditRequest(loaded.path, quick=True, now=later))
    assert outcome.exit_code == 3
    aged = next(i for i in outcome.audit.items if i.id == "app.backup_age")
    assert aged.status == "failed"
    assert 2 * 3600 <= aged.raw["age_seconds"] <= 2 * 3600 + 600
    assert [i.id for i in outcome.audit.failed] == ["app.backup_age"]
    assert "≤ RPO (1 h)" in outcome.report and "2 h" in outcome.report


def test_a_corrupted_part_fails_the_verification(setup: Setup) -> None:
    folder = sorted((setup.world.repository / "backups" / "app-postgres").iterdir())[-1]
    part = next(p for p in folder.iterdir() if p.name.endswith(".zst.age"))
    original = part.read_bytes()
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0xFF
    part.write_bytes(bytes(damaged))
    try:
        code, report = setup.audit("--quick")
    finally:
        part.write_bytes(original)
    assert code == 3
    assert "verification" in failed(report)
    verification = item(report, "verification")
    assert f"app-postgres/{folder.name}" in verification["measured"]
    assert verification["raw"]["damaged"] == [f"app-postgres/{folder.name}"]
    # Put back, it verifies again.
    code, report = setup.audit("--quick")
    assert code == 0, failed(report)


def test_an_rto_of_one_second_fails_the_drill(setup: Setup) -> None:
    # The sample database restores in about a second on an idle machine: grow it so that
    # no drill of it can take under one second, then back it up.
    with psycopg.connect(setup.server.dsn("shop"), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO invoices (customer, amount, paid, issued, ratio) SELECT 1 + i % 300, "
            "i * 1.5, i % 2 = 0, date '2026-01-01' + i % 300, i / 3.0 "
            "FROM generate_series(1, 400000) i"
        )
    setup.world.backup_once()
    assert setup.world.reprise("backup", "verify", "--all").returncode == 0
    setup.write_plan(rto="1s")
    try:
        code, report = setup.audit("--no-backup")
    finally:
        setup.write_plan()
    assert code == 3
    assert failed(report) == ["app.drill"], [
        (i["id"], i["status"], i.get("measured")) for i in report["items"]
    ]
    drill = item(report, "app.drill")
    assert drill["raw"]["rto_seconds"] > 1 and drill["raw"]["objective_seconds"] == 1
    assert drill["objective"] == "intégrité vérifiée, RTO atteint ≤ 1,0 s"
    assert item(report, "app.throughput")["status"] == "skipped"


def test_a_group_readable_key_fails_the_security_checklist(setup: Setup) -> None:
    """The loader refuses such a plan (exit 2, as every command); an audit that loaded it
    before the change (a long-running service) reports it as ❌."""
    from reprise.plan.loader import load_plan
    from reprise.usecases.audit import AuditRequest, audit
    from reprise.usecases.state import open_state

    identity = setup.world.plan_dir / "keys" / "identity.txt"
    loaded = load_plan(setup.world.plan)
    identity.chmod(0o640)
    try:
        refused = setup.world.reprise("audit", "--quick")
        with open_state(loaded) as store:
            outcome = audit(loaded.plan, store, AuditRequest(loaded.path, quick=True))
    finally:
        identity.chmod(0o600)
    assert refused.returncode == 2 and "identity.txt" in refused.stderr
    assert outcome.exit_code == 3
    assert [i.id for i in outcome.audit.failed] == ["security.file_modes"]
    modes = outcome.audit.failed[0]
    assert f"{identity} (0640)" in outcome.report
    assert f"chmod 600 {identity}" in outcome.report
    assert modes.raw["refused"]


def test_the_test_contact_down_fails_the_alert_channels(setup: Setup) -> None:
    setup.smtp.stop()
    try:
        code, report = setup.audit("--quick")
    finally:
        setup.smtp.start()
    assert code == 3
    assert failed(report) == ["alert_channels"]
    channels = item(report, "alert_channels")
    assert channels["measured"].startswith("1 contact(s) sur 1 injoignable(s)")
    assert channels["raw"]["contacts"][0]["ok"] is False
    assert "contact d'essai" in channels["objective"]


def test_on_call_is_paged_only_when_asked(setup: Setup, tmp_path: Path) -> None:
    before = len(setup.smtp.mailbox.messages)
    assert setup.audit("--quick")[0] == 0
    assert setup.audit("--quick", "--page")[0] == 0
    messages = setup.smtp.mailbox.wait_for(before + 3, 30)[before:]
    assert sorted(m["To"] for m in messages) == [
        "audit@infra.test",
        "audit@infra.test",
        "oncall@infra.test",
    ]
    written = setup.world.reprise(
        "audit", "--quick", "--format", "html", "-o", str(tmp_path / "a.html")
    )
    assert written.returncode == 0 and "Rapport écrit dans" in written.stdout
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")


def test_audit_list_shows_every_audit(setup: Setup) -> None:
    result = setup.world.reprise("audit", "list", "--json")
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert len(listed) >= 2
    results = {one["result"] for one in listed}
    assert results <= {"compliant", "not_compliant"}
    assert listed[0]["started_at"] >= listed[-1]["started_at"]
    table = setup.world.reprise("audit", "list")
    assert table.returncode == 0 and "Audits (" in table.stdout


def test_an_unknown_service_is_bad_input(setup: Setup) -> None:
    result = setup.world.reprise("audit", "--service", "nowhere")
    assert result.returncode == 2 and "nowhere" in result.stderr


def test_the_wal_archive_gives_the_pitr_window_and_a_missing_segment_fails_it() -> None:
    import psycopg

    from tests.support.pitr import (
        archiving_server,
        give_to_server_user,
        physical_source,
        shared_world,
        switch_and_wait,
    )

    world = shared_world("reprise-audit-wal-")
    server = archiving_server(world)
    info = server.start()
    try:
        world.write_plan(physical_source(info))
        assert world.reprise("repo", "init").returncode == 0
        give_to_server_user(world.root)
        with psycopg.connect(info.dsn(), autocommit=True) as connection:
            connection.execute("CREATE TABLE t (v int)")
        world.backup_once()
        for _ in range(2):
            with psycopg.connect(info.dsn(), autocommit=True) as connection:
                connection.execute("INSERT INTO t SELECT generate_series(1, 100)")
            switch_and_wait(info.dsn())
        result = world.reprise("audit", "--quick", "--json")
        wal = item(json.loads(result.stdout), "app.wal")
        assert wal["status"] == "ok", wal
        assert wal["measured"].startswith("PITR window from ")
        assert wal["raw"]["wal_files"] >= 2 and wal["raw"]["age_seconds"] < 600
        archive = world.repository / "wal" / "app-postgres-physical"
        segments = sorted(
            path
            for path in archive.iterdir()
            if len(path.name.split("-")[0]) == 24 and path.name.endswith(".zst.age")
        )
        victim = segments[-2]
        victim.rename(victim.with_name("hidden"))
        result = world.reprise("audit", "--quick", "--json")
        assert result.returncode == 3
        wal = item(json.loads(result.stdout), "app.wal")
        assert wal["status"] == "failed"
        assert f"WAL segment {victim.name.split('-')[0]} is missing" in wal["measured"]
        assert "reprise wal list" in wal["fix"]
    finally:
        server.stop()
        shutil.rmtree(world.root, ignore_errors=True)


def test_the_scheduler_item_follows_reprise_serve(world: World) -> None:
    """Not applicable before any `reprise serve`; ✅ while one runs (no slot missed since it
    started); ❌ once it stopped."""
    import signal

    from devsupport.seed import wait_until

    world.write_plan(
        '- {kind: command, command: "echo data", repository: local,\n'
        '   schedule: "* * * * * */2", retention: {keep_last: 3}}\n'
    )
    assert world.reprise("repo", "init").returncode == 0

    def scheduler() -> dict[str, Any]:
        result = world.reprise("audit", "--quick", "--json")
        return item(json.loads(result.stdout), "scheduler")

    assert scheduler()["status"] == "not_applicable"
    service = world.spawn("serve")
    try:

        def ran() -> bool:
            listed = json.loads(world.reprise("jobs", "list", "--json").stdout)
            return any(r["job"] == "backup:app-command" and r["status"] == "ok" for r in listed)

        wait_until(ran, 60, "a scheduled backup")
        alive = scheduler()
        assert alive["status"] == "ok", alive
        assert alive["raw"]["alive"] is True and alive["raw"]["jobs"]
    finally:
        service.send_signal(signal.SIGTERM)
        service.communicate(timeout=60)
    silent = scheduler()
    assert silent["status"] == "failed" and silent["measured"].startswith("service silent since")
    assert "systemctl restart reprise" in silent["fix"]

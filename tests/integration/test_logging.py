"""Logging as the real program does it: `--log-level` / `REPRISE_LOG_LEVEL` and
`--log-format text|json` / `REPRISE_LOG_FORMAT` on stderr only, secrets masked in both
formats, `reprise monitor` logging a failed delivery as a JSON line, stdout of `--json`
untouched, and an internal error's traceback logged next to the message it prints."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from reprise.cli.logs import StderrHandler
from tests.conftest import CliResult, run_reprise
from tests.support.peers import free_port

AGE_KEY = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2
SMTP_PASSWORD = "Sm7p-pa55word-from-dotenv"

# A real `reprise` process with one more command that logs what a test needs: the root
# callback, the handler and the exit paths are those of the program.
EMITTER = textwrap.dedent(
    """\
    import json
    import logging

    import typer

    from reprise.cli.main import app, run

    log = logging.getLogger("reprise.emitter")


    @app.command("emit")
    def emit(ctx: typer.Context, key: str, crash: bool = False, plan: bool = False) -> None:
        if plan:
            from reprise.cli.context import load

            loaded = load(ctx)
            log.warning("contact %s", loaded.plan.roles[0].members[0].contacts[0])
            log.warning("from .env: %s", loaded.env_file_values["SMTP_PASSWORD"])
        log.debug("a debug line")
        log.info("an info line", extra={"job": "backup:akig-db", "backup_id": "20261126T1704Z"})
        log.warning(
            "pg_dump %s failed with PGPASSWORD=hunter2-pgpw, key %s",
            "postgresql://backup:Db-s3cret@db.akig.local/akig",
            key,
            extra={"service": "akig-db", "dsn": "postgresql://backup:Db-s3cret@db/akig"},
        )
        try:
            raise OSError("cannot reach mailtos://ops:Mail-s3cret@mail.example.org")
        except OSError:
            log.error("delivery failed", exc_info=True, extra={"alert_id": 7})
        if crash:
            raise RuntimeError("boom at postgresql://backup:Db-s3cret@db/akig")
        print(json.dumps({"emitted": True}))


    run()
    """
)
SECRETS = ("Db-s3cret", "hunter2-pgpw", "Mail-s3cret", AGE_KEY[20:], SMTP_PASSWORD)


def _emit(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "emitter.py"
    script.write_text(EMITTER)
    environment = {**os.environ, **(env or {})}
    for name in ("REPRISE_LOG_LEVEL", "REPRISE_LOG_FORMAT", "REPRISE_DEBUG"):
        if name not in (env or {}):
            environment.pop(name, None)
    return subprocess.run(
        [sys.executable, str(script), *args, AGE_KEY],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )


def _json_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines()]


def _plan(tmp_path: Path, contact: str, services: str) -> Path:
    plan = tmp_path / "reprise.yaml"
    plan.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: en, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        roles:
          - id: oncall
            title: Astreinte
            permission: admin
            members: [{{name: Ops, contacts: [{json.dumps(contact)}]}}]
        alerting:
          delivery: {{attempts: 2, backoff: 200ms, timeout: 2s}}
        services:
        """)
        + textwrap.indent(textwrap.dedent(services), "  ")
    )
    return plan


def test_json_lines_parse_and_carry_time_level_logger_message_and_extra_fields(
    tmp_path: Path,
) -> None:
    result = _emit(tmp_path, "--log-format", "json", "--log-level", "info", "emit")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"emitted": True}
    lines = _json_lines(result.stderr)
    assert [line["level"] for line in lines] == ["info", "warning", "error"]
    info, warning, error = lines
    assert info["logger"] == "reprise.emitter" and info["message"] == "an info line"
    assert info["job"] == "backup:akig-db" and info["backup_id"] == "20261126T1704Z"
    assert datetime.fromisoformat(info["time"]).utcoffset() is not None
    assert warning["service"] == "akig-db"
    assert error["alert_id"] == 7 and error["message"] == "delivery failed"
    assert "Traceback" in error["exception"] and "OSError: cannot reach" in error["exception"]


def test_the_level_filters_records_and_the_default_prints_nothing_below_warning(
    tmp_path: Path,
) -> None:
    default = _emit(tmp_path, "emit")
    assert default.returncode == 0, default.stderr
    assert "WARNING reprise.emitter: pg_dump" in default.stderr
    assert " INFO " not in default.stderr and " DEBUG " not in default.stderr
    first = default.stderr.splitlines()[0]
    # 2026-11-26 18:04:11 CET WARNING reprise.emitter: …
    stamp, zone, level = first.split(" ")[0:2], first.split(" ")[2], first.split(" ")[3]
    assert datetime.strptime(" ".join(stamp), "%Y-%m-%d %H:%M:%S") and zone and level == "WARNING"
    only_errors = _emit(tmp_path, "--log-level", "error", "emit")
    assert "WARNING" not in only_errors.stderr and "ERROR reprise.emitter" in only_errors.stderr
    debug = _emit(tmp_path, "emit", env={"REPRISE_LOG_LEVEL": "debug"})
    assert "DEBUG reprise.emitter: a debug line" in debug.stderr
    assert "INFO reprise.emitter: an info line" in debug.stderr
    as_json = _emit(tmp_path, "emit", env={"REPRISE_LOG_FORMAT": "json"})
    assert [line["level"] for line in _json_lines(as_json.stderr)] == ["warning", "error"]
    bad = _emit(tmp_path, "--log-level", "loud", "emit")
    assert bad.returncode == 2 and "--log-level" in bad.stderr


def test_secrets_are_masked_in_text_and_json_lines(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        "mailtos://ops:${SMTP_PASSWORD}@mail.example.org?to=oncall@example.org",
        "- {id: app, name: App, category: application, criticality: minor}\n",
    )
    env_file = tmp_path / ".env"
    env_file.write_text(f"SMTP_PASSWORD={SMTP_PASSWORD}\n")
    env_file.chmod(0o600)
    for form in ("text", "json"):
        result = _emit(tmp_path, "--plan", str(plan), "--log-format", form, "emit", "--plan")
        assert result.returncode == 0, result.stderr
        for secret in SECRETS:
            assert secret not in result.stderr, (form, secret, result.stderr)
        assert "postgresql://backup:***@db.akig.local/akig" in result.stderr
        assert "PGPASSWORD=***" in result.stderr and "AGE-SECRET-KEY-***" in result.stderr
        assert "contact mailtos://mail.example.org" in result.stderr
        assert "from .env: ***" in result.stderr
    dsn = next(line for line in _json_lines(result.stderr) if "dsn" in line)["dsn"]
    assert dsn == "postgresql://backup:***@db/akig"


def test_the_monitor_logs_a_failed_delivery_as_a_json_line(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        f"json://127.0.0.1:{free_port()}/down",
        f"""\
        - id: app
          name: App
          category: application
          criticality: critical
          checks: [{{kind: tcp, host: 127.0.0.1, port: {free_port()}, interval: 1s,
                     timeout: 1s, retries: 0}}]
        """,
    )
    stderr_file = tmp_path / "monitor.stderr"
    command = [sys.executable, "-m", "reprise", "--plan", str(plan), "--log-format", "json"]
    with stderr_file.open("w") as stderr:
        monitor = subprocess.Popen(
            [*command, "monitor"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while "attempt 2/2" not in stderr_file.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
        finally:
            monitor.send_signal(signal.SIGTERM)
            out, _ = monitor.communicate(timeout=30)
    assert monitor.returncode == 0, stderr_file.read_text()
    assert "app: unknown → down" in out
    lines = _json_lines(stderr_file.read_text())
    failures = [line for line in lines if line["logger"] == "reprise.alerts.delivery"]
    assert [line["message"].split(", attempt ")[1][:3] for line in failures[:2]] == ["1/2", "2/2"]
    first = failures[0]
    assert first["level"] == "warning" and "json://127.0.0.1" in first["message"]
    assert first["service"] == "app" and first["role"] == "oncall" and first["kind"] == "problem"
    assert isinstance(first["alert_id"], int)


def test_stdout_of_a_json_command_stays_pure_json_with_debug_logs(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        f"json://127.0.0.1:{free_port()}/down",
        "- {id: app, name: App, category: application, criticality: minor}\n",
    )
    result = run_reprise(
        "--plan", plan, "--log-level", "debug", "alert", "test", "--json",
        env={"REPRISE_LOG_FORMAT": "text"},
    )  # fmt: skip
    assert result.returncode == 1
    (outcome,) = json.loads(result.stdout)
    assert not outcome["ok"]
    assert "WARNING reprise.alerts.delivery: notification to" in result.stderr
    assert "INFO apprise:" in result.stderr


def test_an_internal_error_logs_its_traceback_and_still_prints_its_message(
    tmp_path: Path,
) -> None:
    text = _emit(tmp_path, "--log-level", "error", "emit", "--crash")
    assert text.returncode == 70
    assert text.stderr.endswith(
        "internal error: RuntimeError: boom at postgresql://backup:***@db/akig\n"
        "This is a bug in Reprise. Run again with REPRISE_DEBUG=1 to see the traceback, "
        "and report it.\n"
    )
    assert "ERROR reprise.cli: internal error: RuntimeError" in text.stderr
    assert "Traceback" in text.stderr and "Db-s3cret" not in text.stderr
    as_json = _emit(tmp_path, "--log-format", "json", "emit", "--crash")
    assert as_json.returncode == 70
    logged, printed = as_json.stderr.split("\ninternal error: ")
    crash = _json_lines(logged)[-1]
    assert crash["level"] == "error" and crash["logger"] == "reprise.cli"
    assert crash["exception"].endswith("RuntimeError: boom at postgresql://backup:***@db/akig")
    assert printed.startswith("RuntimeError: boom")


def test_a_command_run_in_process_leaves_no_handler_behind(cli: Callable[..., CliResult]) -> None:
    assert cli("--log-level", "debug", "plan", "schema").exit_code == 0
    root = logging.getLogger()
    assert not [handler for handler in root.handlers if isinstance(handler, StderrHandler)]
    assert logging.getLogger("reprise").level == logging.NOTSET

"""`reprise serve` under systemd: the unit `reprise install systemd` renders (checked by
systemd's own `systemd-analyze verify`), the files it writes, and the notify protocol
spoken to a real AF_UNIX datagram socket."""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from reprise.orchestrators.notify import Notifier
from tests.support.backups import ECHO_SOURCE, World

SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
VENV_REPRISE = Path(sys.executable).parent / "reprise"
"""The real program of this environment: `systemd-analyze verify` wants an ExecStart that
exists and is executable."""

Cli = Callable[..., Any]


def _unit(cli: Cli, plan: Path, *args: str) -> str:
    result = cli("--plan", plan, "install", "systemd", "--print", *args)
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


def _setting(unit: str, key: str) -> list[str]:
    return re.findall(rf"^{key}=(.*)$", unit, re.M)


@pytest.fixture
def planned(world: World) -> World:
    world.write_plan(ECHO_SOURCE)
    return world


# (a) systemd's own checker


@pytest.mark.skipif(
    not Path(SYSTEMD_ANALYZE).is_file(), reason="systemd-analyze is not installed on this host"
)
@pytest.mark.parametrize("user", [None, "daemon"])
def test_the_rendered_unit_passes_systemd_analyze_verify(
    cli: Cli, planned: World, tmp_path: Path, user: str | None
) -> None:
    args = ["--command", str(VENV_REPRISE)] + (["--user", user] if user else [])
    units = tmp_path / "units"
    units.mkdir()
    (units / "reprise.service").write_text(_unit(cli, planned.plan, *args))
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(units / "reprise.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [
        line for line in (result.stdout + result.stderr).splitlines() if "reprise.service" in line
    ]
    assert result.returncode == 0, result.stderr
    assert complaints == []


@pytest.mark.skipif(
    not Path(SYSTEMD_ANALYZE).is_file(), reason="systemd-analyze is not installed on this host"
)
def test_paths_with_spaces_percent_and_dollar_survive_systemd_quoting(
    cli: Cli, tmp_path: Path
) -> None:
    """`%` is a specifier and `$` a variable to systemd: a plan in such a folder must still
    be the plan systemd passes to Reprise."""
    from reprise.cli.main import main

    plan_dir = tmp_path / "my plan 100% $HOME"
    assert main(["init", str(plan_dir)]) == 0
    unit = _unit(cli, plan_dir / "reprise.yaml", "--command", str(VENV_REPRISE))
    units = tmp_path / "units"
    units.mkdir()
    (units / "reprise.service").write_text(unit)
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(units / "reprise.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert [line for line in result.stderr.splitlines() if "reprise.service" in line] == []
    expected = f'"{plan_dir / "reprise.yaml"}"'.replace("%", "%%").replace("$", "$$")
    assert _setting(unit, "ExecStart") == [f"{VENV_REPRISE} --plan {expected} serve"]


# (b) the notify protocol, against a socket this test binds


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """A bound datagram socket and the NOTIFY_SOCKET value that names it."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.settimeout(5)
    if request.param == "path":
        address = str(tmp_path / "notify.sock")
        receiver.bind(address)
        name = address
    else:
        name = f"@reprise-test-{uuid.uuid4().hex}"
        receiver.bind("\0" + name[1:])
    try:
        yield name, receiver
    finally:
        receiver.close()


def test_notifications_arrive_in_order(notify_socket: tuple[str, Any]) -> None:
    name, receiver = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": name})
    assert notifier.enabled
    notifier.ready("2 services watched,\n3 jobs scheduled")
    notifier.status("checking")
    notifier.watchdog()
    notifier.reloading()
    notifier.stopping()
    received = [receiver.recv(4096).decode() for _ in range(5)]
    assert received[:3] == [
        "READY=1\nSTATUS=2 services watched, 3 jobs scheduled",
        "STATUS=checking",
        "WATCHDOG=1",
    ]
    assert re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", received[3])
    assert received[4] == "STOPPING=1"
    notifier.close()


def test_without_notify_socket_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_interval is None
    notifier.ready("started")
    notifier.watchdog()
    notifier.stopping()
    assert notifier.send("READY=1") is False


def test_a_send_failure_is_logged_once_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with caplog.at_level(logging.WARNING, logger="reprise.orchestrators.notify"):
        notifier.ready("started")
        notifier.watchdog()
        assert notifier.send("WATCHDOG=1") is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "gone.sock" in warnings[0].getMessage()


def test_the_watchdog_period_is_half_of_watchdog_usec_for_this_process() -> None:
    ours = {"NOTIFY_SOCKET": "@x", "WATCHDOG_USEC": "60000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(ours).watchdog_interval == timedelta(seconds=30)
    assert Notifier({**ours, "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "bad"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None


def test_children_of_the_service_do_not_inherit_notify_socket(
    monkeypatch: pytest.MonkeyPatch, notify_socket: tuple[str, Any]
) -> None:
    name, receiver = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", name)
    monkeypatch.setenv("WATCHDOG_USEC", "10000000")
    notifier = Notifier.from_environment()
    assert "NOTIFY_SOCKET" not in os.environ
    assert "WATCHDOG_USEC" not in os.environ
    assert notifier.watchdog_interval == timedelta(seconds=5)
    notifier.watchdog()
    assert receiver.recv(4096) == b"WATCHDOG=1"
    notifier.close()


SERVE_WITH_NOTIFIER = """
import sys
from pathlib import Path

from reprise.orchestrators.notify import Notifier
from reprise.plan.loader import export_env_file, load_plan
from reprise.usecases.serve import ServeRequest, serve
from reprise.usecases.state import open_state

loaded = load_plan(Path(sys.argv[1]))
export_env_file(loaded)
with open_state(loaded) as store:
    serve(loaded, store, ServeRequest(notify=Notifier.from_environment()))
"""
"""`reprise serve`'s use case with the notifier systemd would give it."""


def _until(receiver: Any, field: str, seen: list[str]) -> None:
    while True:
        try:
            message = receiver.recv(4096).decode()
        except TimeoutError:
            raise AssertionError(f"no {field} after {seen}") from None
        seen.append(message)
        if field in message.splitlines():
            return


def test_the_service_tells_systemd_ready_watchdog_reloading_and_stopping(
    planned: World, notify_socket: tuple[str, Any]
) -> None:
    name, receiver = notify_socket
    receiver.settimeout(60)
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_WITH_NOTIFIER, str(planned.plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NOTIFY_SOCKET": name, "WATCHDOG_USEC": "60000000"},
    )
    seen: list[str] = []
    try:
        _until(receiver, "READY=1", seen)
        _until(receiver, "WATCHDOG=1", seen)
        process.send_signal(signal.SIGHUP)
        _until(receiver, "RELOADING=1", seen)
        _until(receiver, "READY=1", seen)
        process.send_signal(signal.SIGTERM)
        _until(receiver, "STOPPING=1", seen)
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    ready = next(message for message in seen if message.startswith("READY=1"))
    assert ready.splitlines()[1].startswith("STATUS=")


# (c) what the unit may write


def test_the_unit_may_write_the_state_dir_and_the_local_repository(
    cli: Cli, planned: World, tmp_path: Path
) -> None:
    unit = _unit(cli, planned.plan)
    state = tmp_path / "state"  # $REPRISE_STATE_DIR of every test
    assert _setting(unit, "ReadWritePaths") == [f"-{state} -{planned.repository}"]
    # The plan does not name its state folder: the unit pins the one the CLI uses here.
    assert f"REPRISE_STATE_DIR={state}" in _setting(unit, "Environment")
    assert _setting(unit, "ExecStart")[0].endswith(f" --plan {planned.plan} serve")
    for key, value in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("WatchdogSec", "60s"),
        ("KillMode", "mixed"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
    ]:
        assert _setting(unit, key) == [value], key
    assert _setting(unit, "User") == []


def test_a_plan_state_dir_is_writable_and_not_pinned(
    cli: Cli, planned: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPRISE_STATE_DIR")
    state = tmp_path / "plan-state"
    planned.plan.write_text(planned.plan.read_text() + f"state: {{dir: {state}}}\n")
    unit = _unit(cli, planned.plan, "--user", "daemon")
    assert _setting(unit, "ReadWritePaths") == [f"-{state} -{planned.repository}"]
    assert _setting(unit, "Environment") == ["REPRISE_LOG_FORMAT=json REPRISE_LOG_LEVEL=info"]
    assert _setting(unit, "User") == ["daemon"]


def test_home_folders_are_read_only_when_the_plan_runs_commands(cli: Cli, planned: World) -> None:
    """The echo source is a command: ssh and libpq read ~/.ssh and ~/.pgpass."""
    assert _setting(_unit(cli, planned.plan), "ProtectHome") == ["read-only"]


@pytest.mark.parametrize(
    ("folder", "protect_home"), [("/srv/www", "yes"), ("/home/shared", "read-only")]
)
def test_home_folders_are_hidden_unless_the_plan_needs_them(
    cli: Cli, world: World, folder: str, protect_home: str
) -> None:
    world.write_plan(
        f"""\
        - kind: files
          paths: [{folder}]
          repository: local
          schedule: "@daily"
          retention: {{keep_last: 3}}
        """
    )
    unit = _unit(cli, world.plan)
    assert _setting(unit, "ProtectHome") == [protect_home]
    if protect_home == "read-only":
        assert f"# Home folders read-only: the plan names {folder}, under a home folder." in unit


def test_the_real_program_prints_the_same_unit(planned: World) -> None:
    result = planned.reprise("install", "systemd", "--print")
    assert result.returncode == 0, result.stderr
    assert "[Service]\nType=notify\n" in result.stdout


def test_the_state_dir_variable_of_the_installer_is_handed_to_the_service(
    cli: Cli, planned: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan may read it (``dir: ${REPRISE_STATE_DIR:-/var/lib/reprise}``): the service
    must resolve the plan as the CLI did here."""
    state = tmp_path / "elsewhere"
    monkeypatch.setenv("REPRISE_STATE_DIR", str(state))
    text = planned.plan.read_text() + "state:\n  dir: ${REPRISE_STATE_DIR:-/var/lib/reprise}\n"
    planned.plan.write_text(text)
    unit = _unit(cli, planned.plan)
    assert f"REPRISE_STATE_DIR={state}" in _setting(unit, "Environment")
    assert _setting(unit, "ReadWritePaths") == [f"-{state} -{planned.repository}"]


def test_the_default_state_dir_of_root_is_pinned(
    cli: Cli, planned: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPRISE_STATE_DIR")
    unit = _unit(cli, planned.plan)
    assert "REPRISE_STATE_DIR=/var/lib/reprise" in _setting(unit, "Environment")
    assert _setting(unit, "ReadWritePaths") == [f"-/var/lib/reprise -{planned.repository}"]


# (d) writing the unit


def test_the_unit_is_written_0644_and_replaced_on_a_second_install(
    cli: Cli, planned: World, tmp_path: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir(mode=0o755)
    args = ("--plan", planned.plan, "install", "systemd", "--unit-dir", units, "--no-enable")
    first = cli(*args)
    assert first.exit_code == 0, first.stderr
    assert f"Wrote {units / 'reprise.service'}" in first.stdout
    written = units / "reprise.service"
    assert stat.S_IMODE(written.stat().st_mode) == 0o644
    assert written.read_text() == _unit(cli, planned.plan)
    second = cli(*args)
    assert second.exit_code == 0, second.stderr
    assert f"Replaced {written}" in second.stdout
    assert sorted(p.name for p in units.iterdir()) == ["reprise.service"]


@pytest.mark.skipif(
    Path("/run/systemd/system").is_dir(), reason="systemd runs here: enabling would be real"
)
def test_without_systemd_the_unit_is_written_and_the_commands_to_run_are_named(
    cli: Cli, planned: World, tmp_path: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    result = cli("--plan", planned.plan, "install", "systemd", "--unit-dir", units)
    assert result.exit_code == 1
    assert (units / "reprise.service").is_file()
    assert "systemd is not running on this host" in result.stderr
    assert "systemctl daemon-reload && systemctl enable --now reprise.service" in result.stderr


def test_a_unit_folder_others_can_change_is_refused(
    cli: Cli, planned: World, tmp_path: Path
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    units.chmod(0o777)
    result = cli("--plan", planned.plan, "install", "systemd", "--unit-dir", units, "--no-enable")
    assert result.exit_code == 2
    assert not (units / "reprise.service").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "no-such-user-here"], "there is no user 'no-such-user-here'"),
        (["--user", "nobody"], "cannot run as 'nobody'"),
        (["--unit-dir", "/nonexistent/units"], "/nonexistent/units is not a folder"),
    ],
)
def test_bad_input_exits_2_before_writing(
    cli: Cli, planned: World, args: list[str], message: str
) -> None:
    result = cli("--plan", planned.plan, "install", "systemd", "--no-enable", *args)
    assert result.exit_code == 2
    assert message in result.stderr

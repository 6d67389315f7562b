"""Throwaway PostgreSQL instances for drills and tests: initdb into a temporary directory,
start on a free loopback port, hand out connection details, stop and delete on the way out.

Cleaned up on normal exit, on exceptions, on SIGINT (KeyboardInterrupt) and on SIGTERM
(turned into SystemExit while an instance runs). Even SIGKILL leaves nothing behind for
long: every instance records its owner's pid, and the next instance started on the host
stops and deletes those whose owner is gone.

Security: drills load production data, so even on loopback the instance requires a random
password (scram-sha-256) and its socket directory is private.

PostgreSQL refuses to run as root; when Reprise runs as root the instance runs as an
unprivileged user (``$REPRISE_SCRATCH_USER``, default ``postgres`` as created by Debian's
package) which is given the temporary directory.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any
from urllib.parse import quote

from reprise.errors import ScratchInstanceError
from reprise.pg.binaries import Installation, find_server
from reprise.security import write_private_file

_PREFIX = "reprise-scratch-"
_SUPERUSER = "reprise"
_FAST_SETTINGS = {
    # Scratch data is disposable: trade durability for speed.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


@dataclass(frozen=True)
class ConnectionInfo:
    """How to reach a scratch instance (TCP on loopback, or its private socket)."""

    host: str
    port: int
    user: str
    password: str
    socket_dir: Path

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq URL for ``dbname`` over TCP."""
        return (
            f"postgresql://{quote(self.user)}:{quote(self.password)}@{self.host}:"
            f"{self.port}/{quote(dbname)}"
        )

    def env(self, dbname: str = "postgres") -> dict[str, str]:
        """PG* variables for command-line tools (psql, pg_dump, pg_restore)."""
        return {
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": dbname,
        }


def create_reader(info: ConnectionInfo, databases: list[str]) -> ConnectionInfo:
    """A login role on the instance that can read every table of ``databases`` and do
    nothing else, for running the plan's integrity assertions.

    Not a superuser, and not a member of pg_read_server_files, pg_write_server_files or
    pg_execute_server_program: ``COPY … TO PROGRAM``, ``lo_import`` and ``pg_read_file`` of
    server files are refused. It reads through pg_read_all_data on PostgreSQL 14 and later,
    through grants on every schema, table and sequence before that; it bypasses row-level
    security so that an assertion sees every row, as a restore does.
    """
    import psycopg
    from psycopg import sql

    name = f"reprise_assertions_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    role = sql.Identifier(name)
    try:
        with psycopg.connect(info.dsn(), autocommit=True, connect_timeout=10) as connection:
            connection.execute(
                sql.SQL(
                    "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE "
                    "NOREPLICATION BYPASSRLS CONNECTION LIMIT 5"
                ).format(role, sql.Literal(password))
            )
            version = connection.info.server_version
            if version >= 140000:
                connection.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(role))
            for database in databases:
                connection.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(database), role
                    )
                )
        if version < 140000:
            for database in databases:
                _grant_reading(info, database, role)
    except psycopg.Error as error:
        raise ScratchInstanceError(
            f"cannot create the read-only role for assertions: "
            f"{str(error).strip().splitlines()[0]}",
            hint="see the message above",
        ) from error
    return ConnectionInfo(info.host, info.port, name, password, info.socket_dir)


def _grant_reading(info: ConnectionInfo, database: str, role: Any) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(info.dsn(database), autocommit=True, connect_timeout=10) as connection:
        schemas = [
            row[0]
            for row in connection.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname <> 'information_schema'"
            )
        ]
        for schema in schemas:
            for statement in (
                "GRANT USAGE ON SCHEMA {} TO {}",
                "GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}",
                "GRANT SELECT ON ALL SEQUENCES IN SCHEMA {} TO {}",
            ):
                connection.execute(sql.SQL(statement).format(sql.Identifier(schema), role))


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _process_start_time(pid: int) -> str | None:
    """Start time of a process (clock ticks since boot): tells a pid reused by another."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def server_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user PostgreSQL runs as when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("REPRISE_SCRATCH_USER", "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise ScratchInstanceError(
            f"PostgreSQL refuses to run as root, and there is no user {name!r} to run it as",
            hint="install Debian's postgresql package (it creates 'postgres'), or set "
            "REPRISE_SCRATCH_USER to an unprivileged user",
        ) from None


class ScratchPostgres:
    """A temporary PostgreSQL server; use as a context manager.

    ``settings`` are written to postgresql.conf; ``durable=False`` (the default) turns off
    fsync for speed, which is right for drills and tests and wrong for anything kept.
    """

    def __init__(
        self,
        *,
        major: int | None = None,
        min_major: int | None = None,
        settings: dict[str, str] | None = None,
        durable: bool = False,
        base_dir: Path | None = None,
    ) -> None:
        self.installation: Installation = find_server(major=major, min_major=min_major)
        self.durable = durable
        self.settings = {**({} if durable else _FAST_SETTINGS), **(settings or {})}
        self.base_dir = base_dir
        self.root: Path | None = None
        self.info: ConnectionInfo | None = None
        self._user = server_os_user()

    @property
    def datadir(self) -> Path:
        """The instance's data directory."""
        if self.root is None:
            raise ScratchInstanceError("the scratch instance is not started")
        return self.root / "data"

    def __enter__(self) -> ConnectionInfo:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self, args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
        home = self._user.pw_dir if self._user else os.environ.get("HOME", "/")
        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,
            cwd=self.root,
            **self._run_as_kwargs(),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": home},
        )

    def start(self) -> ConnectionInfo:
        """Create and start the instance; raise ScratchInstanceError with the server's log
        when it does not come up."""
        reap_orphans(self.base_dir)
        self.root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=self.base_dir))
        _registry.add(self)
        try:
            self.info = self._create_and_start()
        except BaseException:
            self.stop()
            raise
        return self.info

    def _create_and_start(self) -> ConnectionInfo:
        assert self.root is not None
        (self.root / "owner.json").write_text(
            json.dumps({"pid": os.getpid(), "start": _process_start_time(os.getpid())})
        )
        socket_dir = self.root / "socket"
        socket_dir.mkdir(mode=0o700)
        password = secrets.token_urlsafe(24)
        password_file = self.root / "password"
        write_private_file(password_file, password.encode())
        if self._user:
            for path in (self.root, socket_dir, password_file):
                os.chown(path, self._user.pw_uid, self._user.pw_gid)
            _check_reachable(self.root, self._user)
        result = self._run(
            [
                str(self.installation.tool("initdb")),
                "-D",
                str(self.datadir),
                "-U",
                _SUPERUSER,
                f"--pwfile={password_file}",
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
                # A throwaway instance needs no fsync of its new files (0.5 s of a drill).
                *([] if self.durable else ["--no-sync"]),
            ],
            timeout=120,
        )
        password_file.unlink()
        if result.returncode != 0:
            raise ScratchInstanceError(
                f"initdb failed: {_last_lines(result.stderr)}",
                hint="check free disk space in the temporary directory",
            )
        for _attempt in range(5):
            port = free_port()
            self._write_settings(port, socket_dir)
            log = self.root / "server.log"
            result = self._run(
                [
                    str(self.installation.tool("pg_ctl")),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                timeout=90,
            )
            if result.returncode == 0:
                return ConnectionInfo("127.0.0.1", port, _SUPERUSER, password, socket_dir)
            log_text = log.read_text(errors="replace") if log.exists() else result.stderr
            if "already in use" not in log_text:
                raise ScratchInstanceError(
                    f"the scratch PostgreSQL did not start: {_last_lines(log_text)}",
                    hint="see the message above; shared memory or disk space are the usual causes",
                )
        raise ScratchInstanceError(
            "no free loopback port for a scratch PostgreSQL after 5 tries",
            hint="retry; something is taking ports quickly",
        )

    def _write_settings(self, port: int, socket_dir: Path) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(port),
            "unix_socket_directories": f"'{socket_dir}'",
            "max_connections": "30",
            "shared_buffers": "'32MB'",
            "max_wal_senders": "2",
            "logging_collector": "off",
            **self.settings,
        }
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        (self.datadir / "postgresql.auto.conf").write_text(
            "# Written by reprise.pg.scratch\n" + lines
        )

    def stop(self) -> None:
        """Stop the server (if running) and delete everything. Safe to call twice."""
        root, self.root, self.info = self.root, None, None
        if root is None:
            return
        try:
            _stop_instance(root, self.installation, self._run_as_kwargs())
        finally:
            shutil.rmtree(root, ignore_errors=True)
            _registry.discard(self)

    def _run_as_kwargs(self) -> dict[str, Any]:
        user = self._user
        return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}


def _check_reachable(root: Path, user: pwd.struct_passwd) -> None:
    for parent in root.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001 and parent.stat().st_uid != user.pw_uid:
            raise ScratchInstanceError(
                f"user {user.pw_name!r} cannot enter {parent}, which holds the scratch "
                "instance's directory",
                hint="set TMPDIR to a directory every user can enter, e.g. /tmp",
            )


def _stop_instance(root: Path, installation: Installation, run_as: dict[str, Any]) -> None:
    datadir = root / "data"
    pid_file = datadir / "postmaster.pid"
    if not pid_file.exists():
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(
            [
                str(installation.tool("pg_ctl")),
                "-D",
                str(datadir),
                "-m",
                "immediate",
                "-w",
                "-t",
                "30",
                "stop",
            ],
            capture_output=True,
            timeout=45,
            check=False,
            start_new_session=True,
            cwd=root,
            **run_as,
        )
    if pid_file.exists():  # pg_ctl could not stop it: do it by force
        with contextlib.suppress(OSError, ValueError, IndexError):
            os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGKILL)


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no output)"


def reap_orphans(base_dir: Path | None = None) -> list[Path]:
    """Stop and delete scratch instances whose owning process is gone (after a SIGKILL).

    Returns the directories removed.
    """
    removed: list[Path] = []
    parent = Path(base_dir or tempfile.gettempdir())
    for root in parent.glob(f"{_PREFIX}*"):
        try:
            owner = json.loads((root / "owner.json").read_text())
        except (OSError, ValueError):
            continue
        pid = int(owner.get("pid", 0))
        if pid and _process_start_time(pid) == owner.get("start"):
            continue  # the owner is alive
        try:
            installation = find_server()
            uid = root.stat().st_uid
            run_as = (
                {"user": uid, "group": root.stat().st_gid, "extra_groups": []}
                if os.geteuid() == 0 and uid != 0
                else {}
            )
            _stop_instance(root, installation, run_as)
        except Exception:  # noqa: BLE001, S112 - best effort; the next start tries again
            continue
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


class _Registry:
    """Running instances of this process, stopped at exit and on SIGTERM."""

    def __init__(self) -> None:
        self._instances: set[ScratchPostgres] = set()
        self._lock = threading.Lock()
        self._previous_handler: Any = None
        atexit.register(self.stop_all)

    def add(self, instance: ScratchPostgres) -> None:
        with self._lock:
            if not self._instances:
                self._install_sigterm()
            self._instances.add(instance)

    def discard(self, instance: ScratchPostgres) -> None:
        with self._lock:
            self._instances.discard(instance)
            if not self._instances:
                self._restore_sigterm()

    def stop_all(self) -> None:
        for instance in list(self._instances):
            instance.stop()

    def _install_sigterm(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous_handler = signal.signal(signal.SIGTERM, _exit_on_sigterm)

    def _restore_sigterm(self) -> None:
        if (
            self._previous_handler is not None
            and threading.current_thread() is threading.main_thread()
        ):
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


_registry = _Registry()

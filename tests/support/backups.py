"""Helpers shared by the backup tests: a plan with real sources, a repository, keys."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from reprise.pg.scratch import ConnectionInfo

HERE = Path(__file__).resolve().parent

PLAN_HEAD = """\
version: 1
organisation: {{name: Test, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
repositories:
{repositories}
keys:
  recipients_file: keys/recipients.txt
  identity: keys/identity.txt
  signing_key: keys/signing.key
services:
  - id: app
    name: Application
    category: application
    criticality: critical
    drill: {{enabled: false}}
    backups:
{sources}
"""


ROUTER_CONFIG_SOURCE = """\
- kind: command
  command: "printf 'interfaces {\\\\n  eth0\\\\n}\\\\n'"
  filename: router.conf
  repository: local
  schedule: "@daily"
  retention: {keep_last: 3}
"""
"""A command source backing up a router's configuration (three lines of text)."""

ECHO_SOURCE = """\
- kind: command
  command: "echo data"
  repository: local
  schedule: "@hourly"
  retention: {keep_last: 3}
"""
"""The smallest backup source: one line of command output."""


def sample_database(postgres: ConnectionInfo, name: str, rows: int = 2000) -> str:
    """Create database ``name`` with two tables of business-like rows and a role."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(postgres.dsn(name), autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE customers (id serial PRIMARY KEY, email text NOT NULL, "
            "created_at timestamptz NOT NULL, note text)"
        )
        connection.execute(
            "CREATE TABLE invoices (id bigserial PRIMARY KEY, customer int REFERENCES "
            "customers, amount numeric(12,2), paid boolean, issued date, ratio float8)"
        )
        connection.execute(
            "INSERT INTO customers (email, created_at, note) SELECT 'client' || i || "
            "'@exemple.fr', timestamptz '2026-01-01 08:00+01' + i * interval '37 minutes', "
            "'Facture réglée le ' || i FROM generate_series(1, %s) i",
            (rows,),
        )
        connection.execute(
            "INSERT INTO invoices (customer, amount, paid, issued, ratio) SELECT 1 + i %% %s, "
            "(i * 7.31)::numeric(12,2), i %% 3 = 0, date '2026-01-01' + i %% 300, i / 7.0 "
            "FROM generate_series(1, %s) i",
            (rows, rows * 3),
        )
    return name


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class World:
    """A plan directory with keys, a local repository and its state, for one test."""

    root: Path
    plan_dir: Path
    repository: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def plan(self) -> Path:
        """The plan file."""
        return self.plan_dir / "reprise.yaml"

    def write_plan(self, sources: str, repositories: str | None = None) -> None:
        """Write the plan with these `backups` entries (YAML list items)."""
        repositories = repositories or f"  local: {{kind: local, path: {self.repository}}}"
        self.plan.write_text(
            PLAN_HEAD.format(
                repositories=repositories,
                sources=textwrap.indent(textwrap.dedent(sources), "      "),
            )
        )

    def reprise(
        self, *args: str, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the real program on this plan in a child process."""
        return subprocess.run(
            [sys.executable, "-m", "reprise", "--plan", str(self.plan), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **self.env, **(env or {})},
        )

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        """Start the real program without waiting."""
        return subprocess.Popen(
            [sys.executable, "-m", "reprise", "--plan", str(self.plan), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **self.env},
        )

    def backup_once(self) -> str:
        """`backup run app`, which must succeed; the new backup's id."""
        import json

        result = self.reprise("backup", "run", "app", "--json")
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)[0]["id"])

    def backups(self) -> list[dict[str, Any]]:
        """`backup list --json`."""
        import json

        result = self.reprise("backup", "list", "--json")
        assert result.returncode == 0, result.stderr
        listed: list[dict[str, Any]] = json.loads(result.stdout)
        return listed

    def backup_dirs(self, source: str) -> list[Path]:
        """Every folder under backups/<source>/ (complete or not)."""
        folder = self.repository / "backups" / source
        return sorted(folder.iterdir()) if folder.is_dir() else []


class S3Server:
    """The S3 server process (moto) on a loopback port, stoppable and restartable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "s3server.py"), str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._expect("ready")

    @property
    def url(self) -> str:
        """The endpoint URL."""
        return f"http://127.0.0.1:{self.port}"

    def _expect(self, word: str) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith(word), f"S3 server said {line!r}"
        if word == "ready":  # the listener may take a moment to accept
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)

    def _send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        """Stop listening (objects are kept)."""
        self._send("stop")
        self._expect("stopped")

    def start(self) -> None:
        """Listen again."""
        self._send("start")
        self._expect("ready")

    def close(self) -> None:
        """End the process."""
        try:
            self._send("quit")
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()

    def client(self) -> Any:
        """A boto3 client on this server."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


S3_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A small tmpfs at ``path`` (full-disk tests); skips the test where mounting needs
    root and we are not."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); needs root")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def database_figures(postgres: ConnectionInfo, database: str) -> list[tuple[object, ...]]:
    """Counts, a sum and a maximum of sample_database's tables: equal after a faithful
    restore."""
    with psycopg.connect(postgres.dsn(database)) as connection:
        return connection.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM invoices), "
            "(SELECT sum(amount) FROM invoices), (SELECT max(email) FROM customers)"
        ).fetchall()

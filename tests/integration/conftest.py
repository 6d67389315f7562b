"""Fixtures of the integration tests: a plan world with keys and a local repository."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from reprise.cli.main import main
from tests.support.backups import S3Server, World


@pytest.fixture
def world(tmp_path: Path) -> World:
    """A plan directory with fresh keys (from `reprise init`) and an empty repository."""
    plan_dir = tmp_path / "plan"
    assert main(["init", str(plan_dir), "--example", "minimal"]) == 0
    return World(tmp_path, plan_dir, tmp_path / "repository")


@pytest.fixture
def files_tree(tmp_path: Path) -> Path:
    """A small tree with modes, a symlink, an empty folder and files to exclude."""
    root = tmp_path / "site"
    (root / "conf").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "conf" / "app.ini").write_text("[db]\nhost = db.local\n")
    (root / "conf" / "secret.key").write_text("s3cr3t\n")
    (root / "conf" / "secret.key").chmod(0o600)
    (root / "cache.tmp").write_text("junk")
    (root / "data.bin").write_bytes(os.urandom(200_000))
    (root / "current").symlink_to("conf/app.ini")
    return root


@pytest.fixture
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server process on loopback."""
    server = S3Server()
    try:
        yield server
    finally:
        server.close()

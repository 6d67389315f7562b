"""docs/restore-without-reprise.md is true: its tested blocks, run with stock tools on a
real backup, give back the same database and the same files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo
from tests.support.backups import World, sample_database

DOC = Path(__file__).resolve().parents[2] / "docs" / "restore-without-reprise.md"


def _blocks() -> dict[str, str]:
    text = DOC.read_text()
    return {
        name: body
        for name, body in re.findall(
            r"<!-- tested: (\w+) -->\n```sh\n(.*?)```", text, flags=re.DOTALL
        )
    }


def _run(block: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_the_documented_stock_commands_restore_a_real_backup(
    world: World, postgres: ConnectionInfo, files_tree: Path, tmp_path: Path
) -> None:
    missing = [
        tool for tool in ("age", "zstd", "jq", "openssl", "sha256sum") if shutil.which(tool) is None
    ]
    if missing:
        pytest.skip(
            f"stock tools missing: {', '.join(missing)} (scripts/bootstrap.sh "
            "installs them as root)"
        )
    blocks = _blocks()
    assert set(blocks) == {"verify", "decrypt", "logical", "files"}
    database = sample_database(postgres, "by_hand", rows=300)
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [{database}]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
- kind: files
  paths: [{files_tree}]
  repository: local
  schedule: "@daily"
  retention: {{keep_last: 2}}
""")
    assert world.reprise("repo", "init").returncode == 0
    world.backup_once()
    listed = {entry["source"]: entry["id"] for entry in world.backups()}
    bindir = str(find_tool("pg_restore").parent)
    env = {
        **os.environ,
        "PATH": f"{bindir}:{os.environ['PATH']}",
        "REPO": str(world.repository),
        "SOURCE": "app-postgres",
        "ID": listed["app-postgres"],
        "IDENTITY": str(world.plan_dir / "keys/identity.txt"),
        "SIGNING_PUB": str(world.plan_dir / "keys/signing.pub"),
        "OUT": str(tmp_path / "out"),
        "TARGET_DSN": postgres.dsn(),
        "NEW_DB": "by_hand_copy",
        "DB": database,
        "FILES_SOURCE": "app-files",
        "FILES_ID": listed["app-files"],
        "FILES_OUT": str(tmp_path / "files"),
    }
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS by_hand_copy")
    for name in ("verify", "decrypt", "logical", "files"):
        result = _run(blocks[name], env)
        assert result.returncode == 0, f"{name}: {result.stdout}\n{result.stderr}"
        if name == "verify":
            assert "Signature Verified Successfully" in result.stdout
            assert f"db-{database}.pgdump.zst.age: OK" in result.stdout
        if name == "decrypt":
            assert "globals.sql: OK" in result.stdout
    query = "SELECT (SELECT count(*) FROM invoices), (SELECT sum(amount) FROM invoices)"
    with (
        psycopg.connect(postgres.dsn(database)) as original,
        psycopg.connect(postgres.dsn("by_hand_copy")) as copy,
    ):
        assert copy.execute(query).fetchone() == original.execute(query).fetchone()
    copied = tmp_path / "files" / str(files_tree).lstrip("/")
    assert (copied / "data.bin").read_bytes() == (files_tree / "data.bin").read_bytes()
    assert (copied / "current").readlink() == Path("conf/app.ini")
    # A tampered manifest fails the documented signature check.
    manifest = (
        world.repository / "backups" / "app-postgres" / listed["app-postgres"] / "manifest.json"
    )
    manifest.write_text(manifest.read_text().replace('"app"', '"app2"', 1))
    tampered = _run(blocks["verify"], env)
    assert tampered.returncode != 0

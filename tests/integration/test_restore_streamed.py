"""Restores that load a new database while its part is read (reprise.restore.streamed).

pg_restore gets the decoded dump as it comes, chunk by verified chunk, instead of after a
whole staging pass. What must still hold: only the backup's bytes ever reach pg_restore (a
part forged with the public recipient runs nothing on the server), a damaged chunk fails
the restore naming the part and leaves no database behind, pg_restore or an interruption
ending the stream stops every program, and nothing is left staged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psycopg
import pyrage
import pytest

from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo
from reprise.repository.streams import CHUNK
from tests.support.backups import World, database_figures, sample_database
from tests.support.processes import Watched
from tests.support.restores import (
    assert_nothing_staged,
    database_exists,
    drop_databases,
    memory_folders,
)

PART = "db-st_app.pgdump.zst.age"


def _backed_up(
    world: World, postgres: ConnectionInfo, *, megabytes: int = 0, fresh: bool = True
) -> str:
    """A backup of ``st_app`` (made afresh unless ``fresh`` is False): business rows, plus
    ``megabytes`` of random bytes (they do not compress: the part spans several chunks)."""
    if fresh:
        sample_database(postgres, "st_app", rows=400)
    if megabytes:
        with psycopg.connect(postgres.dsn("st_app"), autocommit=True) as connection:
            connection.execute("CREATE TABLE blobs (id int PRIMARY KEY, data bytea)")
            connection.execute(
                "INSERT INTO blobs SELECT i, decode(string_agg(md5(random()::text), ''), 'hex') "
                "FROM generate_series(1, %s) i, generate_series(1, 65536) j GROUP BY i",
                (megabytes,),
            )
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [st_app]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
""")
    assert world.reprise("repo", "init").returncode == 0
    return world.backup_once()


def _schema(postgres: ConnectionInfo, database: str) -> list[tuple[object, ...]]:
    """Every index and constraint: what the post-data step builds from the staged table of
    contents alone."""
    with psycopg.connect(postgres.dsn(database)) as connection:
        indexes = connection.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
        constraints = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
        ).fetchall()
    return sorted(indexes) + sorted(constraints)


def _stored(world: World, backup: str) -> Path:
    return world.repository / "backups" / "app-postgres" / backup / PART


def _part(world: World, backup: str) -> dict[str, object]:
    manifest = json.loads((_stored(world, backup).parent / "manifest.json").read_text())
    [part] = [part for part in manifest["parts"] if part["name"] == PART]
    return dict(part)


def _restore(world: World, postgres: ConnectionInfo, *extra: str) -> list[str]:
    return ["restore", "app", "--target", postgres.dsn(), "--as", "st_copy", *extra]


def _steps(result: subprocess.CompletedProcess[str]) -> list[str]:
    report_md = Path(result.stdout.split("Report: ", 1)[1].split()[0])
    report = json.loads(report_md.with_suffix(".json").read_text())
    return [step["name"] for step in report["steps"]]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_new_database_is_loaded_while_its_part_is_read(
    world: World, postgres: ConnectionInfo, jobs: str
) -> None:
    sample_database(postgres, "st_app", rows=400)
    with psycopg.connect(postgres.dsn("st_app"), autocommit=True) as connection:
        connection.execute("CREATE INDEX invoices_issued ON invoices (issued, paid)")
        connection.execute("CREATE UNIQUE INDEX customers_email ON customers (lower(email))")
    backup = _backed_up(world, postgres, megabytes=24, fresh=False)
    part = _part(world, backup)
    # Signed chunk checksums: one per CHUNK of stored bytes.
    assert part["chunk_size"] == CHUNK
    chunks = part["chunk_sha256"]
    assert isinstance(chunks, list) and len(chunks) == -(-int(str(part["stored_size"])) // CHUNK)
    assert len(chunks) >= 2
    drop_databases(postgres, "st_copy")
    before = memory_folders()
    result = world.reprise(*_restore(world, postgres, "--jobs", jobs))
    assert result.returncode == 0, result.stderr
    assert database_figures(postgres, "st_copy") == database_figures(postgres, "st_app")
    assert _schema(postgres, "st_copy") == _schema(postgres, "st_app")
    assert len(_schema(postgres, "st_copy")) >= 7
    assert "fetch, verify and pg_restore st_app → st_copy" in _steps(result)
    assert_nothing_staged(world, before)
    # Every chunk was checked on the way: the restore counts as a deep verification.
    assert world.backups()[0]["verify_status"] == "ok"


def test_an_existing_database_is_restored_from_a_part_verified_whole(
    world: World, postgres: ConnectionInfo
) -> None:
    """A database that exists is never streamed into: a damaged part must leave it as it
    was, so the part is proven whole before pg_restore starts."""
    _backed_up(world, postgres)
    drop_databases(postgres, "st_copy")
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "st_copy"')
    result = world.reprise(*_restore(world, postgres))
    assert result.returncode == 0, result.stderr
    steps = _steps(result)
    assert "pg_restore st_app → st_copy" in steps
    assert not any(step.startswith("fetch, verify and pg_restore") for step in steps)


def test_a_damaged_last_chunk_fails_the_restore_and_leaves_no_database(
    world: World, postgres: ConnectionInfo
) -> None:
    """pg_restore was loading the chunks before it: the database it was creating is
    dropped. (Reordered, cut and extended parts: test_restore_streamed_attacks.py.)"""
    backup = _backed_up(world, postgres, megabytes=24)
    stored = _stored(world, backup)
    data = bytearray(stored.read_bytes())
    data[len(data) - 100] ^= 0x01
    stored.write_bytes(bytes(data))
    drop_databases(postgres, "st_copy")
    before = memory_folders()
    watched = Watched(world, *_restore(world, postgres, "--jobs", "2"))
    code, stderr = watched.finish()
    assert code == 3, stderr
    assert PART in stderr and "Traceback" not in stderr
    assert not database_exists(postgres, "st_copy")
    assert_nothing_staged(world, before)
    assert "pg_restore" in watched.seen.values()


_FORGED_SCHEMA = """
CREATE FUNCTION public.mark(value int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF current_database() <> 'st_evil' THEN  -- only once restored somewhere else
        EXECUTE format('COPY (SELECT 1) TO %L', current_setting('data_directory')
                       || '/reprise-forged-' || current_database());
    END IF;
    RETURN true;
END $$;
CREATE DOMAIN public.marked AS int CHECK (public.mark(VALUE));
CREATE TABLE public.payload (value public.marked);
INSERT INTO public.payload VALUES (1);
-- Loaded after the payload (dumped in name order): the stream lasts while pg_restore acts.
CREATE TABLE public.zz_padding (data bytea);
INSERT INTO public.zz_padding
SELECT decode(string_agg(md5(random()::text), ''), 'hex')
FROM generate_series(1, 16) i, generate_series(1, 65536) j GROUP BY i;
"""


def _written(postgres: ConnectionInfo, database: str) -> bool:
    """Whether the forged dump's function wrote its file in the data directory."""
    with psycopg.connect(postgres.dsn()) as connection:
        row = connection.execute(
            "SELECT (pg_stat_file(%s, true)).size IS NOT NULL", (f"reprise-forged-{database}",)
        ).fetchone()
    return bool(row and row[0])


def test_a_part_forged_with_the_public_recipient_runs_nothing_on_the_server(
    world: World, postgres: ConnectionInfo, tmp_path: Path
) -> None:
    """Someone who can write the repository and knows the public recipient replaces the
    part with a dump whose data load writes a file on the server (as the superuser a
    restore runs as). Nothing of it may reach pg_restore. (The backed-up part is larger than
    the forgery: the signed sizes alone would not stop it before pg_restore acts.)"""
    backup = _backed_up(world, postgres, megabytes=24)
    drop_databases(postgres, "st_evil", "st_control", "st_copy")
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "st_evil"')
    with psycopg.connect(postgres.dsn("st_evil"), autocommit=True) as connection:
        connection.execute(_FORGED_SCHEMA)
    env = {**os.environ, **postgres.env()}
    evil = tmp_path / "evil.pgdump"
    subprocess.run(
        [str(find_tool("pg_dump")), "-Fc", "-d", "st_evil", "-f", str(evil)], env=env, check=True
    )
    # The probe works: restored by hand, the dump writes its file.
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "st_control"')
    subprocess.run(
        [str(find_tool("pg_restore")), "-d", "st_control", str(evil)], env=env, check=True
    )
    assert _written(postgres, "st_control")
    # The forgery: the dump, compressed and encrypted as Reprise does, in place of the part.
    frame = subprocess.run(
        ["zstd", "-q", "--check", "--stdout", str(evil)], capture_output=True, check=True
    ).stdout
    public = (world.plan_dir / "keys" / "recipients.txt").read_text()
    [line] = [line for line in public.splitlines() if line.startswith("age1")]
    recipient = pyrage.x25519.Recipient.from_str(line)
    _stored(world, backup).write_bytes(pyrage.encrypt(frame, [recipient]))
    result = world.reprise(*_restore(world, postgres))
    assert result.returncode == 3, result.stderr
    assert PART in result.stderr
    assert not _written(postgres, "st_copy")
    assert not database_exists(postgres, "st_copy")


def test_pg_restore_dying_mid_stream_is_reported_and_stops_the_programs(
    world: World, postgres: ConnectionInfo
) -> None:
    _backed_up(world, postgres, megabytes=24)
    drop_databases(postgres, "st_copy")
    before = memory_folders()
    watched = Watched(world, *_restore(world, postgres, "--jobs", "2"))
    victim = watched.child("pg_restore")
    os.kill(victim, signal.SIGKILL)
    code, stderr = watched.finish()
    assert code == 1, stderr
    assert "pg_restore st_app → st_copy" in stderr and "Traceback" not in stderr
    assert_nothing_staged(world, before)

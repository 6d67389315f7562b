"""Red-team pass on restores that load a new database while its part is read.

Crafted stored parts (reordered, duplicated, extended, cut chunks), a schema whose
post-data step must be rebuilt from a staged file cut at the table of contents (a table of
contents larger than the first probe), and failures of pg_restore, age and zstd mid-stream.
Each test documents a defence. Two were weaknesses when found, since fixed: a half-loaded
new database stayed when age, zstd or the restore itself was stopped mid-stream, and
errors pg_restore went past skipped the post-data step.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo
from reprise.repository.streams import CHUNK
from tests.integration.test_restore_streamed import (
    PART,
    _backed_up,
    _part,
    _steps,
    _stored,
)
from tests.support.backups import World, database_figures, sample_database
from tests.support.processes import Watched, process_table
from tests.support.restores import (
    assert_nothing_staged,
    database_exists,
    drop_databases,
    memory_folders,
)


def _restore(postgres: ConnectionInfo, as_name: str, *extra: str, dsn: str = "") -> list[str]:
    return ["restore", "app", "--target", dsn or postgres.dsn(), "--as", as_name, *extra]


def _clean_failure(stderr: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr.lower(), stderr


# -- 1. bytes that are not the signed backup's -------------------------------------------


def _variants(data: bytes) -> dict[str, bytes]:
    """Stored parts built from the genuine one's own bytes: every chunk of each is a chunk
    of the signed backup, or the genuine bytes with something added or taken away."""
    chunks = [data[at : at + CHUNK] for at in range(0, len(data), CHUNK)]
    assert len(chunks) >= 3
    return {
        "first two chunks swapped": chunks[1] + chunks[0] + b"".join(chunks[2:]),
        "a chunk duplicated": chunks[0] + chunks[1] + chunks[1] + b"".join(chunks[2:]),
        "a middle chunk left out": chunks[0] + b"".join(chunks[2:]),
        "extra trailing bytes": data + b"\0" * 17,
        "a whole extra chunk": data + chunks[0],
        "last chunk one byte short": data[:-1],
        "cut one byte into the last chunk": data[: (len(chunks) - 1) * CHUNK + 1],
        "chunks shifted by one byte": data[1:] + data[:1],
    }


def test_stored_bytes_other_than_the_signed_ones_never_load(
    world: World, postgres: ConnectionInfo
) -> None:
    backup = _backed_up(world, postgres, megabytes=36)
    stored = _stored(world, backup)
    genuine = stored.read_bytes()
    assert _part(world, backup)["chunk_size"] == CHUNK
    before = memory_folders()
    for index, (name, forged) in enumerate(_variants(genuine).items()):
        drop_databases(postgres, "st_copy")
        stored.write_bytes(forged)
        jobs = ("1", "2", "4")[index % 3]  # no staged file, and staged files cut or not
        result = world.reprise(*_restore(postgres, "st_copy", "--jobs", jobs))
        assert result.returncode == 3, (name, jobs, result.stderr)
        assert PART in result.stderr, (name, result.stderr)
        _clean_failure(result.stderr)
        assert not database_exists(postgres, "st_copy"), name
        assert_nothing_staged(world, before)
    # The genuine bytes, put back, restore (the variants were refused for their bytes).
    stored.write_bytes(genuine)
    drop_databases(postgres, "st_copy")
    result = world.reprise(*_restore(postgres, "st_copy", "--jobs", "1"))
    assert result.returncode == 0, result.stderr
    assert database_figures(postgres, "st_copy") == database_figures(postgres, "st_app")


# -- 2. post-data from a staged file cut at the table of contents ------------------------

_COMMENT = "x" * (3 * 1024 * 1024)  # the table of contents passes the first probe (1 MiB)

_RICH_SCHEMA = """
CREATE SCHEMA ledger;
CREATE SCHEMA audit;
CREATE TABLE ledger.accounts (id int PRIMARY KEY, code text NOT NULL UNIQUE);
CREATE TABLE audit.moves (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account int NOT NULL REFERENCES ledger.accounts ON DELETE CASCADE,
    amount numeric(12, 2) CHECK (amount <> 0),
    at date NOT NULL
);
CREATE INDEX moves_account ON audit.moves (account, at) WHERE amount > 0;
COMMENT ON INDEX audit.moves_account IS 'positive moves by account';
COMMENT ON CONSTRAINT moves_amount_check ON audit.moves IS 'no empty move';
CREATE TABLE audit.parted (id int, at date NOT NULL, account int REFERENCES ledger.accounts)
    PARTITION BY RANGE (at);
CREATE TABLE audit.parted_2025 PARTITION OF audit.parted
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE audit.parted_2026 PARTITION OF audit.parted
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
ALTER TABLE audit.parted ADD PRIMARY KEY (id, at);
CREATE INDEX parted_account ON audit.parted (account);
CREATE MATERIALIZED VIEW ledger.totals AS
    SELECT account, sum(amount) AS total, count(*) AS moves FROM audit.moves GROUP BY account;
CREATE UNIQUE INDEX totals_account ON ledger.totals (account);
CREATE STATISTICS audit.moves_stats (dependencies, ndistinct) ON account, at FROM audit.moves;
CREATE FUNCTION audit.stamp() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN NEW.at := coalesce(NEW.at, current_date); RETURN NEW; END $$;
CREATE TRIGGER moves_stamp BEFORE INSERT ON audit.moves FOR EACH ROW EXECUTE FUNCTION audit.stamp();
CREATE FUNCTION public.ddl_note() RETURNS event_trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE NOTICE 'ddl'; END $$;
CREATE EVENT TRIGGER note_ddl ON ddl_command_end EXECUTE FUNCTION public.ddl_note();
CREATE PUBLICATION moves_pub FOR TABLE audit.moves, ledger.accounts;
ALTER TABLE ledger.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_accounts ON ledger.accounts USING (code <> 'hidden');
CREATE RULE no_delete AS ON DELETE TO audit.parted DO INSTEAD NOTHING;
CREATE VIEW ledger.big AS SELECT * FROM ledger.totals WHERE total > 100;
INSERT INTO ledger.accounts SELECT i, 'acc' || i FROM generate_series(1, 300) i;
INSERT INTO audit.moves (account, amount, at)
    SELECT 1 + i % 300, (i % 97) + 1, date '2026-01-01' + i % 200 FROM generate_series(1, 5000) i;
INSERT INTO audit.parted SELECT i, date '2025-06-01' + i % 400, 1 + i % 300
    FROM generate_series(1, 3000) i;
REFRESH MATERIALIZED VIEW ledger.totals;
CREATE TABLE public.zz_padding (data bytea);
INSERT INTO public.zz_padding
    SELECT decode(string_agg(md5(random()::text), ''), 'hex')
    FROM generate_series(1, 3) i, generate_series(1, 65536) j GROUP BY i;
"""


def _rich_source(postgres: ConnectionInfo) -> None:
    drop_databases(postgres, "st_app")
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "st_app"')
    with psycopg.connect(postgres.dsn("st_app"), autocommit=True) as connection:
        connection.execute(_RICH_SCHEMA)
        connection.execute(
            "SELECT lo_from_bytea(0, convert_to('large object ' || i, 'UTF8')) "
            "FROM generate_series(1, 20) i"
        )
        for oid in [
            row[0] for row in connection.execute("SELECT oid FROM pg_largeobject_metadata")
        ]:
            connection.execute(f"COMMENT ON LARGE OBJECT {oid} IS 'lo {oid}'")
            connection.execute(f"GRANT SELECT ON LARGE OBJECT {oid} TO PUBLIC")
        connection.execute(f"COMMENT ON TABLE audit.moves IS '{_COMMENT}'")


def _schema_dump(postgres: ConnectionInfo, database: str) -> str:
    env = {**os.environ, **postgres.env(database)}
    text = subprocess.run(
        [str(find_tool("pg_dump")), "--schema-only", "--no-publications", "-d", database],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return re.sub(r"^\\(un)?restrict .*$", "", text, flags=re.MULTILINE)


def _contents(postgres: ConnectionInfo, database: str) -> list[object]:
    """What a schema-only dump leaves out: rows, large objects, publications."""
    with psycopg.connect(postgres.dsn(database)) as connection:

        def rows(query: str) -> list[tuple[object, ...]]:
            return sorted(connection.execute(query).fetchall(), key=repr)

        return [
            rows("SELECT count(*), sum(amount) FROM audit.moves"),
            rows("SELECT count(*) FROM audit.parted"),
            rows("SELECT * FROM ledger.totals"),
            rows("SELECT length(data), md5(data) FROM public.zz_padding"),
            rows(
                "SELECT obj_description(oid, 'pg_largeobject'), lomacl::text, "
                "convert_from(lo_get(oid), 'UTF8') FROM pg_largeobject_metadata"
            ),
            rows(
                "SELECT pubname, schemaname, tablename FROM pg_publication_tables "
                "JOIN pg_publication USING (pubname)"
            ),
            rows("SELECT evtname, evtenabled FROM pg_event_trigger"),
            rows("SELECT stxname FROM pg_statistic_ext"),
            rows("SELECT length(obj_description('audit.moves'::regclass, 'pg_class'))"),
        ]


def test_post_data_from_a_file_cut_at_the_table_of_contents_rebuilds_everything(
    world: World, postgres: ConnectionInfo
) -> None:
    """Indexes on partitions, a materialized view refreshed with its index, comments on an
    index and a constraint, extended statistics, an event trigger, a publication, foreign
    keys across schemas, large objects with comments and privileges, and a table of
    contents of more than 3 MiB (the first probe, at 1 MiB, finds it incomplete): each of
    --jobs 1, 2 and 4 gives the source's database."""
    _rich_source(postgres)
    backup = _backed_up(world, postgres, fresh=False)
    part = _part(world, backup)
    assert int(str(part["plain_size"])) > 8 * 1024 * 1024  # the probe cuts the staged file
    expected = (_schema_dump(postgres, "st_app"), _contents(postgres, "st_app"))
    for built in ("CREATE EVENT TRIGGER", "INDEX parted_account", "STATISTICS audit"):
        assert built in expected[0]
    before = memory_folders()
    for jobs in ("1", "2", "4"):
        copy = f"st_copy{jobs}"
        drop_databases(postgres, copy)
        result = world.reprise(*_restore(postgres, copy, "--jobs", jobs))
        assert result.returncode == 0, (jobs, result.stderr)
        assert f"fetch, verify and pg_restore st_app → {copy}" in _steps(result)
        got = (_schema_dump(postgres, copy), _contents(postgres, copy))
        assert got[0] == expected[0], jobs
        assert got[1] == expected[1], jobs
        assert_nothing_staged(world, before)
        drop_databases(postgres, copy)


# -- 3. failures mid-stream ---------------------------------------------------------------

_SLOW_INDEX = """
CREATE FUNCTION public.slowly(value int) RETURNS int LANGUAGE sql IMMUTABLE
    AS $$ SELECT value FROM pg_catalog.pg_sleep(0.06) $$;
CREATE INDEX blobs_slowly ON public.blobs (public.slowly(id));
ALTER TABLE public.blobs ADD CONSTRAINT loaded_slowly CHECK (public.slowly(id) = id);
"""


def _slow_backup(world: World, postgres: ConnectionInfo) -> None:
    """A backup whose data takes a few seconds to load (24 MiB, a check calling pg_sleep
    for each of 24 rows) and whose post-data step takes a few seconds more (an index
    calling it again): a signal lands while the stream is still being read, or after."""
    sample_database(postgres, "st_app", rows=200)
    with psycopg.connect(postgres.dsn("st_app"), autocommit=True) as connection:
        connection.execute("CREATE TABLE blobs (id int PRIMARY KEY, data bytea)")
        connection.execute(
            "INSERT INTO blobs SELECT i, decode(string_agg(md5(random()::text), ''), 'hex') "
            "FROM generate_series(1, 24) i, generate_series(1, 65536) j GROUP BY i"
        )
        connection.execute(_SLOW_INDEX)
    _backed_up(world, postgres, fresh=False)


def _post_data_restore() -> int | None:
    """The pid of the post-data pg_restore (the step built from the staged file), if any."""
    with os.scandir("/proc") as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--section=post-data" in argv and any(b"st_copy" in word for word in argv):
                return int(entry.name)
    return None


def _live_child(watched: Watched, name: str, timeout: float = 60) -> int:
    """The pid of a descendant called ``name`` that runs now (the globals part was decoded
    by an age and a zstd that have ended), while a pg_restore runs too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        table = process_table()
        seen = dict(watched.seen)
        found = [pid for pid, known in seen.items() if known == name and _alive(table, pid, name)]
        loading = any(_alive(table, pid, "pg_restore") for pid in seen)
        if found and loading:
            return max(found)
        assert watched.process.poll() is None, watched.process.communicate()
        time.sleep(0.01)
    raise AssertionError(f"no {name} process running")


def _alive(table: dict[int, tuple[int, str, str]], pid: int, name: str) -> bool:
    return pid in table and table[pid][1] == name and table[pid][2] != "Z"


def _wait_post_data(watched: Watched, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = _post_data_restore()
        if pid is not None:
            return pid
        assert watched.process.poll() is None, watched.process.communicate()
        time.sleep(0.02)
    raise AssertionError("the post-data step never started")


@pytest.mark.parametrize(
    ("victim", "how"),
    [
        # zstd killed and SIGTERM during the post-data step end the same ways (checked
        # once by hand; left out for the suite's time).
        ("age", signal.SIGKILL),
        ("reprise", signal.SIGTERM),
        ("post-data pg_restore", signal.SIGKILL),
    ],
)
def test_a_stream_broken_midway_ends_cleanly(
    world: World, postgres: ConnectionInfo, victim: str, how: signal.Signals
) -> None:
    """Whatever stops mid-stream, the restore ends (no hang) with an error that is not a
    traceback nor exit 70, leaves no program running and nothing staged. Stopped before
    the data is whole (age, zstd, the restore itself), the half-loaded database it created
    is dropped, as after a damaged chunk."""
    _slow_backup(world, postgres)
    drop_databases(postgres, "st_copy")
    before = memory_folders()
    watched = Watched(world, *_restore(postgres, "st_copy", "--jobs", "2"))
    if victim in ("age", "zstd"):
        os.kill(_live_child(watched, victim), how)
    elif victim == "reprise":
        watched.child("pg_restore")
        time.sleep(0.3)  # the data load (1.4 s) has started; the stream is not whole yet
        assert _post_data_restore() is None
        watched.process.send_signal(how)
    elif victim == "post-data":
        _wait_post_data(watched)
        time.sleep(0.3)
        watched.process.send_signal(how)
    else:
        pid = _wait_post_data(watched)
        time.sleep(0.3)
        os.kill(pid, how)
    code, stderr = watched.finish(timeout=90)
    _clean_failure(stderr)
    expected = {"reprise": 130, "post-data": 130}.get(victim, 1)
    assert code == expected, (victim, code, stderr)
    if victim in ("age", "zstd"):
        assert f"{victim} was killed by signal 9" in stderr, stderr
    assert_nothing_staged(world, before)
    if victim in ("age", "zstd", "reprise"):
        assert not database_exists(postgres, "st_copy"), stderr  # dropped, as after a damaged chunk
    else:  # the data was whole: pg_restore's own failure leaves it, with the way out
        assert database_exists(postgres, "st_copy")
        if how == signal.SIGKILL:
            assert "was killed by signal 9" in stderr, stderr


def test_a_target_user_who_cannot_create_databases_is_told_so(
    world: World, postgres: ConnectionInfo
) -> None:
    _backed_up(world, postgres)
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS st_nocreate")
        connection.execute("CREATE ROLE st_nocreate LOGIN PASSWORD 'secret' NOCREATEDB")
    drop_databases(postgres, "st_copy")
    dsn = f"postgresql://st_nocreate:secret@{postgres.host}:{postgres.port}/postgres"
    before = memory_folders()
    result = world.reprise(*_restore(postgres, "st_copy", "--jobs", "2", dsn=dsn))
    _clean_failure(result.stderr)
    assert result.returncode == 1, result.stderr
    assert "st_copy" in result.stderr
    assert not database_exists(postgres, "st_copy")
    assert_nothing_staged(world, before)


def test_ignorable_pg_restore_errors_still_leave_the_indexes_built(
    world: World, postgres: ConnectionInfo
) -> None:
    """A target user with CREATEDB but not a superuser, owner of the backed-up database:
    pg_restore reports errors (the tables' owner it cannot set) and exits 1 at the end, yet
    loads everything. Restored staged (into an existing empty database), the copy has every
    index; streamed too (the post-data step runs after errors pg_restore went past)."""
    sample_database(postgres, "st_app", rows=200)
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute("DROP ROLE IF EXISTS st_creator")
        connection.execute("CREATE ROLE st_creator LOGIN PASSWORD 'secret' CREATEDB")
        connection.execute('ALTER DATABASE "st_app" OWNER TO st_creator')
    _backed_up(world, postgres, fresh=False)
    drop_databases(postgres, "st_copy", "st_staged")
    dsn = f"postgresql://st_creator:secret@{postgres.host}:{postgres.port}/postgres"
    streamed = world.reprise(*_restore(postgres, "st_copy", "--jobs", "2", dsn=dsn))
    _clean_failure(streamed.stderr)
    assert streamed.returncode == 1, streamed.stderr
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        connection.execute('CREATE DATABASE "st_staged" OWNER st_creator')
    staged = world.reprise(*_restore(postgres, "st_staged", "--jobs", "2", dsn=dsn))
    assert staged.returncode == 1, staged.stderr

    def indexes(database: str) -> list[str]:
        with psycopg.connect(postgres.dsn(database)) as connection:
            rows = connection.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
            ).fetchall()
        return [str(row[0]) for row in rows]

    assert indexes("st_staged"), "the staged restore builds the indexes"
    assert indexes("st_copy") == indexes("st_staged")

"""A logical restore gives back the server that was backed up: an awkward cluster of our
own (owners, settings, privileges and comments on databases, quoted names, large objects,
extensions, partitions, materialized views, sequences, generated columns, triggers,
non-ASCII text, LATIN1 and ICU databases) is backed up with the real program, restored
onto a fresh server, and ``pg_dumpall`` of both must be the same, save the lines listed
and explained below."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from reprise.pg.binaries import find_tool
from reprise.pg.scratch import ConnectionInfo, ScratchPostgres
from tests.support.backups import World

pytestmark = pytest.mark.postgres

WEIRD_DATABASE = 'Compta "été"'
WEIRD_QUOTED = '"Compta ""été"""'

GLOBALS = """
CREATE ROLE app_owner LOGIN PASSWORD 'mot de passe du propriétaire' CONNECTION LIMIT 20;
CREATE ROLE "Comptable Été" LOGIN;
CREATE ROLE lecteur NOLOGIN;
CREATE ROLE analyste LOGIN IN ROLE lecteur VALID UNTIL '2030-01-01 00:00:00+00';
CREATE ROLE "weird""role" NOLOGIN;
CREATE ROLE archiviste LOGIN CREATEDB;
GRANT lecteur TO "Comptable Été" WITH ADMIN OPTION;
GRANT "weird""role" TO analyste;
ALTER ROLE analyste SET statement_timeout = '5min';
"""

# A database per awkwardness: ICU French with an owner and every database-level property;
# LATIN1 with a read-only default; a name that needs quoting everywhere.
DATABASES = f"""
CREATE DATABASE ventes OWNER app_owner TEMPLATE template0 ENCODING 'UTF8'
    LOCALE_PROVIDER icu ICU_LOCALE 'fr-FR' LC_COLLATE 'C.utf8' LC_CTYPE 'C.utf8'
    CONNECTION LIMIT 50;
CREATE DATABASE archives OWNER archiviste TEMPLATE template0 ENCODING 'LATIN1'
    LC_COLLATE 'C' LC_CTYPE 'C';
CREATE DATABASE {WEIRD_QUOTED} OWNER "Comptable Été";
ALTER DATABASE ventes SET search_path = "Ventes 2026", public, "weird""quote";
ALTER DATABASE ventes SET work_mem = '8MB';
ALTER DATABASE ventes SET "DateStyle" = 'ISO, DMY';
ALTER ROLE analyste IN DATABASE ventes SET work_mem = '64MB';
ALTER ROLE "Comptable Été" IN DATABASE ventes SET lc_monetary = 'C';
ALTER ROLE "Comptable Été" IN DATABASE ventes SET statement_timeout = '1min';
ALTER DATABASE archives SET default_transaction_read_only = on;
REVOKE CONNECT, TEMPORARY ON DATABASE ventes FROM PUBLIC;
GRANT CONNECT ON DATABASE ventes TO lecteur;
GRANT CONNECT, TEMPORARY ON DATABASE ventes TO "Comptable Été" WITH GRANT OPTION;
SET ROLE "Comptable Été";
GRANT CONNECT ON DATABASE ventes TO analyste;
RESET ROLE;
REVOKE ALL ON DATABASE {WEIRD_QUOTED} FROM PUBLIC;
GRANT TEMPORARY ON DATABASE {WEIRD_QUOTED} TO "weird""role";
COMMENT ON DATABASE ventes IS 'Ventes — données clients, l''an 2026 🧾';
COMMENT ON DATABASE archives IS 'Archives (LATIN1)';
"""

VENTES = """
CREATE EXTENSION pgcrypto;
CREATE EXTENSION citext;
CREATE SCHEMA "Ventes 2026" AUTHORIZATION app_owner;
CREATE SCHEMA "weird""quote" AUTHORIZATION "Comptable Été";
COMMENT ON SCHEMA "Ventes 2026" IS 'Exercice 2026 — ventes ✨';
SET ROLE app_owner;
CREATE TABLE "Ventes 2026".commandes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    client citext NOT NULL,
    nom text COLLATE "fr-FR-x-icu",
    montant numeric(12,2) NOT NULL,
    tva numeric(12,2) GENERATED ALWAYS AS (round(montant * 0.2, 2)) STORED,
    passee date NOT NULL,
    PRIMARY KEY (id, passee)
) PARTITION BY RANGE (passee);
CREATE TABLE "Ventes 2026"."Commandes T1" PARTITION OF "Ventes 2026".commandes
    FOR VALUES FROM ('2026-01-01') TO ('2026-04-01');
CREATE TABLE "Ventes 2026".commandes_t2 PARTITION OF "Ventes 2026".commandes
    FOR VALUES FROM ('2026-04-01') TO ('2026-07-01');
CREATE TABLE "Ventes 2026".commandes_autres PARTITION OF "Ventes 2026".commandes DEFAULT;
CREATE INDEX commandes_client ON "Ventes 2026".commandes (client);
RESET ROLE;
CREATE TABLE "weird""quote".journal (
    id serial PRIMARY KEY, quoi text NOT NULL, empreinte bytea NOT NULL);
ALTER TABLE "weird""quote".journal OWNER TO "Comptable Été";
CREATE FUNCTION "weird""quote".journaliser() RETURNS trigger LANGUAGE plpgsql
    SET search_path = public AS $$
BEGIN
    INSERT INTO "weird""quote".journal (quoi, empreinte)
        VALUES (TG_OP || ' ' || NEW.client, digest(NEW.client::text, 'sha256'));
    RETURN NEW;
END $$;
CREATE TRIGGER "après commande" AFTER INSERT ON "Ventes 2026".commandes
    FOR EACH ROW EXECUTE FUNCTION "weird""quote".journaliser();
INSERT INTO "Ventes 2026".commandes (client, nom, montant, passee)
SELECT 'Client' || i || '@Exemple.fr',
       (ARRAY['Crème brûlée 🍮', 'Noël à Paris ✨', 'Œuvre d''été', 'Ça va ? 👍'])[1 + i % 4],
       i * 3.17, date '2026-01-01' + (i * 7) % 400
FROM generate_series(1, 12000) i;  -- over 1 MiB of dump: see the custom case below
CREATE MATERIALIZED VIEW "Ventes 2026"."résumé mensuel" AS
    SELECT date_trunc('month', passee) AS mois, count(*) AS n, sum(montant) AS total
    FROM "Ventes 2026".commandes GROUP BY 1;
CREATE MATERIALIZED VIEW "Ventes 2026"."pas encore calculé" AS
    SELECT 1 AS un WITH NO DATA;
CREATE SEQUENCE "weird""quote"."numéros" START 1000 INCREMENT 7;
SELECT setval('"weird""quote"."numéros"', 424242, false);
CREATE SEQUENCE public.factures_seq CYCLE MAXVALUE 1000000000;
SELECT setval('public.factures_seq', 987654321, true);
CREATE TYPE "weird""quote".statut AS ENUM ('réglée', 'à relancer', '🚫 annulée');
GRANT USAGE ON SCHEMA "Ventes 2026" TO lecteur;
GRANT SELECT ON ALL TABLES IN SCHEMA "Ventes 2026" TO lecteur;
GRANT SELECT (quoi) ON "weird""quote".journal TO analyste;
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA "Ventes 2026"
    GRANT SELECT ON TABLES TO lecteur;
ALTER TABLE "weird""quote".journal ENABLE ROW LEVEL SECURITY;
CREATE POLICY "les siens" ON "weird""quote".journal FOR SELECT TO analyste
    USING (quoi LIKE 'INSERT%');
SELECT lo_from_bytea(424243, convert_to('contrat signé 📄', 'UTF8'));
ALTER LARGE OBJECT 424243 OWNER TO app_owner;
GRANT SELECT ON LARGE OBJECT 424243 TO lecteur;
COMMENT ON LARGE OBJECT 424243 IS 'Contrat n° 1';
SELECT lo_from_bytea(0, '\\x00ff00'::bytea);
"""

ARCHIVES = """
CREATE TABLE registre (lieu text, note text, n int GENERATED ALWAYS AS (length(lieu)) STORED)
    PARTITION BY LIST (lieu);
CREATE TABLE registre_evry PARTITION OF registre FOR VALUES IN ('Évry');
CREATE TABLE registre_autres PARTITION OF registre DEFAULT;
ALTER TABLE registre OWNER TO archiviste;
INSERT INTO registre (lieu, note) VALUES ('Évry', 'côté cour, à l''été'), ('Sète', 'œuf');
CREATE VIEW "Vue œ" AS SELECT lieu, count(*) FROM registre GROUP BY lieu;
"""

WEIRD = """
CREATE SCHEMA "Ventes 2026";
CREATE DOMAIN "Ventes 2026".montant AS numeric(10,2) CHECK (VALUE >= 0);
CREATE TABLE "Ventes 2026"."Écritures" (
    id int GENERATED BY DEFAULT AS IDENTITY (START 5 INCREMENT 5) PRIMARY KEY,
    libellé text, débit "Ventes 2026".montant, crédit "Ventes 2026".montant,
    solde numeric GENERATED ALWAYS AS (coalesce(débit, 0) - coalesce(crédit, 0)) STORED);
ALTER TABLE "Ventes 2026"."Écritures" OWNER TO "Comptable Été";
INSERT INTO "Ventes 2026"."Écritures" (libellé, débit, crédit)
    VALUES ('Café ☕', 2.5, NULL), ('Remboursement 💶', NULL, 2.5);
SELECT setval(pg_get_serial_sequence('"Ventes 2026"."Écritures"', 'id'), 9995);
"""


def _execute(dsn: str, script: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as connection:
        for statement in _statements(script):
            connection.execute(statement.encode())


def _statements(script: str) -> list[str]:
    """Split on semicolons at line ends, keeping $$ bodies whole."""
    statements, current = [], []
    in_body = False
    for line in script.splitlines():
        current.append(line)
        if line.count("$$") % 2:
            in_body = not in_body
        if line.rstrip().endswith(";") and not in_body:
            statements.append("\n".join(current))
            current = []
    return [text for text in statements if text.strip()]


@pytest.fixture(scope="module")
def awkward() -> Iterator[ConnectionInfo]:
    """A server of our own holding the awkward cluster."""
    with ScratchPostgres() as info:
        _execute(info.dsn(), GLOBALS)
        _execute(info.dsn(), DATABASES)
        _execute(info.dsn("ventes"), VENTES)
        _execute(info.dsn("archives"), "SET default_transaction_read_only = off;\n" + ARCHIVES)
        _execute(info.dsn(WEIRD_DATABASE), WEIRD)
        yield info


def _backup(
    world: World,
    server: ConnectionInfo,
    databases: str = "all",
    roles: bool = True,
    dump_format: str = "custom",
) -> str:
    jobs = 2 if dump_format == "directory" else 1
    world.write_plan(f"""\
- kind: postgres
  dsn: "{server.dsn()}"
  databases: {databases}
  globals: {str(roles).lower()}
  format: {dump_format}
  jobs: {jobs}
  table_stats: checksums
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
""")
    assert world.reprise("repo", "init").returncode == 0
    return world.backup_once()


def _dumpall(server: ConnectionInfo) -> str:
    pg_dumpall = find_tool("pg_dumpall")
    argv = [str(pg_dumpall), "--no-password", "--quote-all-identifiers"]
    usage = subprocess.run(
        [str(pg_dumpall), "--help"], capture_output=True, text=True, check=False
    ).stdout
    if "--restrict-key" in usage:
        # 15.14 and later fence the script with \restrict KEY, a random KEY per run
        # unless given: the same key for both dumps instead of a filter.
        argv.append("--restrict-key=reprisefidelity")
    result = subprocess.run(
        argv, capture_output=True, text=True, check=False, env={**os.environ, **server.env()}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# Lines that legitimately differ between the source and the restored server, each
# rewritten to a placeholder (never dropped), with the reason:
TOLERATED = [
    # The bootstrap superuser (initdb -U reprise) is the role Reprise connects as: each
    # scratch server gets its own random password, and a restore deliberately never
    # changes the password of the role it connects as (it would lock itself out).
    (
        re.compile(r"^(ALTER ROLE \"reprise\" WITH .* PASSWORD )'SCRAM-SHA-256\$[^']*';$"),
        r"\1'<bootstrap password>';",
    ),
]


def _comparable(dump: str) -> list[str]:
    lines = []
    for line in dump.splitlines():
        for pattern, replacement in TOLERATED:
            line = pattern.sub(replacement, line)
        lines.append(line)
    return lines


@pytest.mark.parametrize("dump_format", ["custom", "directory"])
def test_a_restore_onto_a_fresh_server_gives_back_the_same_pg_dumpall(
    world: World, awkward: ConnectionInfo, dump_format: str
) -> None:
    # In custom format onto a fresh server, each database is loaded while its part is
    # read, and the post-data step (the triggers, policies, materialized views, foreign
    # keys) builds from a staged file cut once it holds the table of contents (1 MiB in).
    _backup(world, awkward, dump_format=dump_format)
    with ScratchPostgres() as fresh:
        result = world.reprise(
            "restore", "app", "--target", fresh.dsn(), "--jobs", "3", timeout=300
        )
        assert result.returncode == 0, result.stderr
        assert "predates" not in result.stdout
        source, restored = _comparable(_dumpall(awkward)), _comparable(_dumpall(fresh))
    # The comparison covers what a restore used to lose (pg_dumpall dumps each database
    # as pg_dump --create does): owner, locale, settings, privileges, comments.
    for expected in [
        'ALTER DATABASE "ventes" OWNER TO "app_owner";',
        "ICU_LOCALE = 'fr-FR'",
        "ENCODING = 'LATIN1'",
        'ALTER DATABASE "ventes" CONNECTION LIMIT = 50;',
        "ALTER DATABASE \"ventes\" SET \"search_path\" TO 'Ventes 2026', 'public', 'weird\"quote';",
        'ALTER ROLE "analyste" IN DATABASE "ventes" SET "work_mem" TO \'64MB\';',
        'REVOKE CONNECT,TEMPORARY ON DATABASE "ventes" FROM PUBLIC;',
        'GRANT CONNECT ON DATABASE "ventes" TO "analyste";',
        "COMMENT ON DATABASE \"archives\" IS 'Archives (LATIN1)';",
        f"REVOKE CONNECT,TEMPORARY ON DATABASE {WEIRD_QUOTED} FROM PUBLIC;",
        'ALTER DATABASE "archives" SET "default_transaction_read_only" TO \'on\';',
        "SELECT pg_catalog.lo_create('424243');",
        'SELECT pg_catalog.setval(\'"weird""quote"."numéros"\', 424242, false);',
    ]:
        assert expected in "\n".join(source), expected
    difference = "\n".join(
        difflib.unified_diff(source, restored, "source", "restored", lineterm="", n=1)
    )
    assert source == restored, difference


def _database_facts(server: ConnectionInfo, name: str) -> dict[str, Any]:
    with psycopg.connect(server.dsn()) as connection:
        row = connection.execute(
            "SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, "
            "datctype, datlocprovider, daticulocale, datconnlimit, datacl::text[], "
            "shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
        assert row is not None, f"no database {name}"
        settings = connection.execute(
            "SELECT coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '-'), s.setconfig "
            "FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = %s ORDER BY 1",
            (name,),
        ).fetchall()
    acl = sorted(row[7] or [])
    return {
        "owner": row[0],
        "encoding": row[1],
        "collate": row[2],
        "ctype": row[3],
        "provider": row[4],
        "icu": row[5],
        "limit": row[6],
        "acl": acl,
        "comment": row[8],
        "settings": settings,
    }


def test_restoring_as_a_new_name_keeps_owner_settings_privileges_and_comment(
    world: World, awkward: ConnectionInfo
) -> None:
    _backup(world, awkward, databases="[ventes]")
    new_name = 'ventes copie "2" été'
    result = world.reprise(
        "restore",
        "app",
        "--target",
        awkward.dsn(),
        "--database",
        "ventes",
        "--as",
        new_name,
        timeout=300,
    )
    try:
        assert result.returncode == 0, result.stderr
        original = _database_facts(awkward, "ventes")
        copy = _database_facts(awkward, new_name)
        with psycopg.connect(awkward.dsn(new_name)) as connection:
            # The content came along, found through the database's own search_path.
            counted = connection.execute("SELECT count(*) FROM commandes").fetchone()
    finally:
        _drop(awkward, new_name)
    assert counted == (12000,)
    assert copy == original
    assert copy["owner"] == "app_owner" and copy["provider"] == "i"
    assert copy["comment"] == "Ventes — données clients, l'an 2026 🧾"
    assert (
        "-",
        ['search_path="Ventes 2026", public, "weird""quote"', "work_mem=8MB", "DateStyle=ISO, DMY"],
    ) in copy["settings"]
    assert ("analyste", ["work_mem=64MB"]) in copy["settings"]
    assert '"Comptable Été"=c/analyste' not in copy["acl"]
    assert 'analyste=c/"Comptable Été"' in copy["acl"]


def test_a_database_whose_owner_is_missing_on_the_target_is_not_created_half_way(
    world: World, awkward: ConnectionInfo
) -> None:
    _backup(world, awkward, databases="[ventes]", roles=False)
    with ScratchPostgres() as fresh:
        result = world.reprise("restore", "app", "--target", fresh.dsn(), timeout=300)
        with psycopg.connect(fresh.dsn()) as connection:
            created = connection.execute(
                "SELECT count(*) FROM pg_database WHERE datname = 'ventes'"
            ).fetchone()
    assert result.returncode == 1, result.stderr
    message = " ".join(result.stderr.split())
    assert "cannot create database 'ventes' as it was backed up (owner app_owner" in message
    assert 'role "app_owner" does not exist' in message
    assert "restore the backup's roles first" in message and "Traceback" not in message
    assert created == (0,)


def test_a_backup_made_before_properties_were_recorded_restores_as_before_and_says_so(
    world: World, postgres: ConnectionInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reprise.backup.sources.postgres import PostgresRun
    from reprise.cli.main import main
    from tests.support.backups import sample_database

    sample_database(postgres, "fid_old", rows=50)
    _drop(postgres, "fid_old_copy")
    with psycopg.connect(postgres.dsn(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_roles WHERE rolname = 'fid_owner'").fetchone():
            connection.execute("CREATE ROLE fid_owner")
        connection.execute("ALTER DATABASE fid_old OWNER TO fid_owner")
    # Such a manifest has no "properties" for its databases.
    monkeypatch.setattr(PostgresRun, "_properties", lambda *_args: None)
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [fid_old]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
""")
    assert main(["--plan", str(world.plan), "repo", "init"]) == 0
    assert main(["--plan", str(world.plan), "backup", "run", "app"]) == 0
    planned = world.reprise(
        "restore", "app", "--target", postgres.dsn(), "--as", "fid_old_copy", "--dry-run"
    )
    assert "predates Reprise recording database properties" in planned.stdout
    result = world.reprise("restore", "app", "--target", postgres.dsn(), "--as", "fid_old_copy")
    try:
        assert result.returncode == 0, result.stderr
        assert "fid_old_copy: this backup predates" in " ".join(result.stdout.split())
        assert _database_facts(postgres, "fid_old_copy")["owner"] == postgres.user
    finally:
        _drop(postgres, "fid_old_copy")


def _drop(server: ConnectionInfo, name: str) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

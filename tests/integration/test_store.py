"""The state database, on SQLite and on a real PostgreSQL: migrations on first use, the
append-only journal, plan versions, and refusal of a database from a newer Reprise."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from reprise.errors import StateStoreError
from reprise.pg.scratch import ConnectionInfo
from reprise.store.database import (
    HEAD_REVISION,
    Store,
    current_revision,
    head_revision,
    open_store,
)
from reprise.store.events import append_event, list_events
from reprise.store.plan_versions import latest_plan_version, record_plan_version
from reprise.store.tables import metadata


def fresh_postgres_url(info: ConnectionInfo) -> str:
    name = f"state_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(info.dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return info.dsn(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'reprise.db'}"
    return fresh_postgres_url(request.getfixturevalue("postgres"))


@pytest.fixture
def store(state_url: str) -> Iterator[Store]:
    opened = open_store(state_url)
    yield opened
    opened.close()


def test_first_use_migrates_to_the_newest_schema(store: Store) -> None:
    assert current_revision(store) == head_revision() == HEAD_REVISION


def test_the_migrated_schema_matches_the_table_definitions(store: Store) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []


def test_opening_again_is_a_no_op(state_url: str) -> None:
    first = open_store(state_url)
    append_event(first, "test.kept", "x")
    first.close()
    second = open_store(state_url)
    assert [e.kind for e in list_events(second)] == ["test.kept"]
    second.close()


def test_events_are_listed_newest_first_and_filtered(store: Store) -> None:
    now = datetime.now(UTC)
    append_event(store, "backup.completed", "akig-db", {"bytes": 10}, at=now - timedelta(hours=2))
    append_event(
        store, "backup.failed", "akig-db", {"error": "disk full"}, at=now - timedelta(hours=1)
    )
    append_event(store, "check.down", "router", at=now)
    assert [e.kind for e in list_events(store)] == [
        "check.down",
        "backup.failed",
        "backup.completed",
    ]
    assert [e.kind for e in list_events(store, kind="backup")] == [
        "backup.failed",
        "backup.completed",
    ]
    assert [e.subject for e in list_events(store, subject="router")] == ["router"]
    recent = list_events(store, since=now - timedelta(minutes=90))
    assert [e.kind for e in recent] == ["check.down", "backup.failed"]
    assert recent[1].payload == {"error": "disk full"}
    assert recent[0].time.tzinfo is not None
    assert abs(recent[0].time - now) < timedelta(seconds=1)


def test_the_journal_refuses_updates_whatever_the_client(store: Store) -> None:
    append_event(store, "plan.changed", "p")
    with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as connection:
        connection.execute(text("UPDATE events SET subject = 'forged'"))
    assert list_events(store)[0].subject == "p"


def test_event_kinds_must_be_dotted_words(store: Store) -> None:
    with pytest.raises(ValueError, match="dotted"):
        append_event(store, "Backup Completed!", "x")


def test_plan_versions_are_recorded_once_per_content(store: Store) -> None:
    assert record_plan_version(store, "a" * 64, "/etc/reprise/reprise.yaml") is True
    assert record_plan_version(store, "a" * 64, "/etc/reprise/reprise.yaml") is False
    assert record_plan_version(store, "b" * 64, "/etc/reprise/reprise.yaml") is True
    latest = latest_plan_version(store)
    assert latest is not None
    assert latest.sha256 == "b" * 64
    changes = list_events(store, kind="plan.changed")
    assert [e.payload["previous_sha256"] for e in changes] == ["a" * 64, None]


def test_a_database_from_a_newer_reprise_is_refused(state_url: str) -> None:
    store = open_store(state_url)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    with pytest.raises(StateStoreError, match="newer Reprise") as caught:
        open_store(state_url)
    assert "upgrade Reprise" in (caught.value.hint or "")


def test_concurrent_first_use_migrates_once(state_url: str) -> None:
    errors: list[BaseException] = []

    def open_and_close() -> None:
        try:
            open_store(state_url).close()
        except BaseException as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = open_store(state_url)
    assert current_revision(store) == head_revision()
    store.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(StateStoreError) as caught:
        open_store("postgresql://reprise:s3cret-pass@127.0.0.1:1/state")
    assert "s3cret-pass" not in str(caught.value)
    assert "127.0.0.1:1" in caught.value.message
    assert caught.value.hint


def test_a_wrong_password_is_a_clear_error(postgres: ConnectionInfo) -> None:
    url = f"postgresql://{postgres.user}:wrong@{postgres.host}:{postgres.port}/postgres"
    with pytest.raises(StateStoreError, match="password authentication failed"):
        open_store(url)


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(StateStoreError, match="unsupported"):
        open_store("mysql://localhost/reprise")

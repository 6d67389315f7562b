"""The state database: results, events, catalog index. An index, never the only copy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import StateStoreError
from reprise.paths import default_state_dir, prepare_state_dir
from reprise.plan.model import Plan
from reprise.store.database import Store, open_store
from reprise.store.plan_versions import record_plan_version

if TYPE_CHECKING:
    from reprise.plan.loader import LoadedPlan

__all__ = ["Store", "open_plan_store", "open_state", "open_store", "state_dir", "state_url"]


def state_dir(plan: Plan) -> Path:
    """The plan's state directory: ``state.dir``, else the host default; created 0700 if
    missing, and refused (exit 2) if anyone but its owner can change it."""
    return prepare_state_dir(plan.state.dir or default_state_dir())


def state_url(plan: Plan) -> str:
    """The plan's state database: ``state.url``, else ``reprise.db`` in the state directory."""
    if plan.state.url:
        return plan.state.url
    return f"sqlite:///{state_dir(plan) / 'reprise.db'}"


def open_plan_store(plan: Plan, plan_path: Path, plan_sha256: str) -> Store:
    """Open (and migrate) the plan's state database and record the plan version in force.

    Recording is best effort: a command that only reads must work while another process
    holds the write lock; the next command that can write records the version."""
    store = open_store(state_url(plan))
    try:
        record_plan_version(store, plan_sha256, str(plan_path.resolve()))
    except StateStoreError as error:
        if not error.retryable:
            store.close()
            raise
    return store


@contextmanager
def open_state(loaded: LoadedPlan) -> Iterator[Store]:
    """``with open_state(loaded) as store:`` the plan's state database, migrated, with the
    plan version recorded, and closed however the block ends."""
    store = open_plan_store(loaded.plan, loaded.path, loaded.sha256)
    try:
        yield store
    finally:
        store.close()

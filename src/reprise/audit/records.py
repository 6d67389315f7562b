"""Audits in the state store (table ``audits``): stored when finished, listed newest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from reprise.audit.items import Audit, Item
from reprise.errors import InputError
from reprise.store.database import Store
from reprise.store.tables import audits


def store_audit(store: Store, audit: Audit, report: str) -> int:
    """Store a finished audit with its Markdown report; its id."""
    with store.engine.begin() as connection:
        result = connection.execute(
            insert(audits).values(
                started_at=audit.started_at,
                finished_at=audit.finished_at,
                result=audit.result,
                quick=audit.quick,
                services=audit.services,
                items=[item.to_record() for item in audit.items],
                language=audit.language,
                by=audit.by[:200],
                report=report,
            )
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def _audit(row: Any) -> Audit:
    return Audit(
        row.started_at,
        row.finished_at or row.started_at,
        list(row.services),
        bool(row.quick),
        row.language,
        row.by,
        [Item.from_record(item) for item in row.items],
        row.result,
        int(row.id),
    )


def list_audits(store: Store, limit: int = 100) -> list[Audit]:
    """Stored audits, newest first."""
    query = select(audits).order_by(audits.c.started_at.desc(), audits.c.id.desc()).limit(limit)
    with store.engine.connect() as connection:
        return [_audit(row) for row in connection.execute(query)]


def get_audit(store: Store, audit_id: int) -> tuple[Audit, str | None]:
    """One stored audit and its Markdown report; InputError when there is none."""
    with store.engine.connect() as connection:
        row = connection.execute(select(audits).where(audits.c.id == audit_id)).first()
    if row is None:
        raise InputError(f"no audit {audit_id}", hint="list them with `reprise audit list`")
    return _audit(row), row.report

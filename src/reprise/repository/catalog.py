"""The catalog: complete backups indexed in the state store for fast listing and metrics.

It is an index only: every row comes from a signed manifest in a repository, and
``reprise repo reindex`` rebuilds a repository's rows from the repository alone.

A folder that looks like a backup but does not verify (damaged, signed by a key the plan
does not trust, renamed or moved, replayed from another repository) is kept as a row with
a ``problem``: :func:`list_problems` shows it, :func:`list_backups` and :func:`find_backup`
never offer it for a restore, and it stays until someone runs ``reprise backup forget``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from reprise.errors import InputError, VerificationError
from reprise.repository.layout import backup_time
from reprise.repository.manifest import Manifest
from reprise.store.database import Store
from reprise.store.tables import backup_parts, backups


@dataclass(frozen=True)
class CatalogEntry:
    """One complete backup as the catalog knows it."""

    repository: str
    manifest: Manifest
    verified_at: datetime | None
    verify_status: str | None
    verify_detail: str | None

    @property
    def backup_id(self) -> str:
        """The backup's id."""
        return self.manifest.id

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of `backup list --json`."""
        manifest = self.manifest
        return {
            "id": manifest.id,
            "repository": self.repository,
            "source": manifest.source,
            "service": manifest.service,
            "kind": manifest.kind,
            "started_at": manifest.started_at.isoformat(),
            "finished_at": manifest.finished_at.isoformat(),
            "duration_seconds": round(manifest.duration, 3),
            "plain_size": manifest.plain_size,
            "stored_size": manifest.stored_size,
            "parts": len(manifest.parts),
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "verify_status": self.verify_status,
            "verify_detail": self.verify_detail,
        }


def _record(connection: Connection, repository: str, manifest: Manifest) -> None:
    _forget(connection, repository, manifest.id)
    connection.execute(
        insert(backups).values(
            repository=repository,
            backup_id=manifest.id,
            source=manifest.source,
            service=manifest.service,
            kind=manifest.kind,
            started_at=manifest.started_at,
            finished_at=manifest.finished_at,
            plain_size=manifest.plain_size,
            stored_size=manifest.stored_size,
            manifest=manifest.model_dump(mode="json"),
        )
    )
    for part in manifest.parts:
        connection.execute(
            insert(backup_parts).values(
                repository=repository,
                backup_id=manifest.id,
                name=part.name,
                stored_size=part.stored_size,
                sha256=part.sha256,
            )
        )


def _forget(connection: Connection, repository: str, backup_id: str) -> None:
    for table in (backup_parts, backups):
        connection.execute(
            delete(table).where(
                and_(table.c.repository == repository, table.c.backup_id == backup_id)
            )
        )


def record_backup(store: Store, repository: str, manifest: Manifest) -> None:
    """Index a complete backup (replacing any earlier row of the same id)."""
    with store.engine.begin() as connection:
        _record(connection, repository, manifest)


def forget_backup(store: Store, repository: str, backup_id: str) -> None:
    """Drop a backup from the index (after prune deleted it)."""
    with store.engine.begin() as connection:
        _forget(connection, repository, backup_id)


@dataclass(frozen=True)
class ProblemEntry:
    """A folder that looks like a backup and does not verify, and why."""

    repository: str
    source: str
    backup_id: str
    problem: str
    """damaged, untrusted, moved or replayed."""
    detail: str
    since: datetime
    stored_size: int = 0
    claimed: dict[str, Any] | None = None
    """What its (unverified) manifest claims, when it could be read: never trusted."""
    folder: tuple[str, str] | None = None
    """The folder's own (source, id) when the catalog keeps it under another id
    (:func:`problem_key`): a name too long or odd for the catalog, or an id a sound backup
    already has (a genuine backup copied into another source's folder)."""

    @property
    def location(self) -> tuple[str, str]:
        """The (source, id) of its folder in the repository."""
        return self.folder or (self.source, self.backup_id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (in `backup list --json`, with ``problem`` set)."""
        claimed = self.claimed or {}
        return {
            "id": self.backup_id,
            "repository": self.repository,
            "source": self.source,
            "folder": "/".join(self.location),
            "service": claimed.get("service"),
            "kind": claimed.get("kind"),
            "stored_size": self.stored_size,
            "problem": self.problem,
            "problem_detail": self.detail,
            "problem_since": self.since.isoformat(),
            "claimed_signing_key": claimed.get("signing_key"),
        }


def replace_repository(
    store: Store,
    repository: str,
    manifests: Iterable[Manifest],
    problems: Iterable[ProblemEntry] = (),
) -> int:
    """Make the repository's rows exactly ``manifests`` plus ``problems``, keeping
    verification times of backups that stay and when each problem was first seen.
    Returns how many sound backups were written."""
    manifests = list(manifests)
    with store.engine.begin() as connection:
        kept_times = {
            (row.backup_id, row.name): (row.verified_at, row.deep_verified_at)
            for row in connection.execute(
                select(backup_parts).where(backup_parts.c.repository == repository)
            )
        }
        verify_rows = {
            row.backup_id: (row.verified_at, row.verify_status, row.verify_detail)
            for row in connection.execute(select(backups).where(backups.c.repository == repository))
        }
        seen = {
            row.backup_id: (row.problem, row.problem_since)
            for row in connection.execute(
                select(backups).where(
                    and_(backups.c.repository == repository, backups.c.problem.is_not(None))
                )
            )
        }
        for table in (backup_parts, backups):
            connection.execute(delete(table).where(table.c.repository == repository))
        for manifest in manifests:
            _record(connection, repository, manifest)
            if manifest.id in verify_rows:
                at, status, detail = verify_rows[manifest.id]
                connection.execute(
                    update(backups)
                    .where(
                        and_(backups.c.repository == repository, backups.c.backup_id == manifest.id)
                    )
                    .values(verified_at=at, verify_status=status, verify_detail=detail)
                )
            for part in manifest.parts:
                times = kept_times.get((manifest.id, part.name))
                if times:
                    connection.execute(
                        update(backup_parts)
                        .where(
                            and_(
                                backup_parts.c.repository == repository,
                                backup_parts.c.backup_id == manifest.id,
                                backup_parts.c.name == part.name,
                            )
                        )
                        .values(verified_at=times[0], deep_verified_at=times[1])
                    )
        for entry in problems:
            earlier = seen.get(entry.backup_id)
            since = (
                earlier[1]
                if earlier and earlier[0] == entry.problem and earlier[1]
                else entry.since
            )
            _record_problem(connection, repository, entry, since)
    return len(manifests)


_PLAIN_NAME = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


def problem_key(
    source: str, backup_id: str, taken: set[str]
) -> tuple[str, str, tuple[str, str] | None]:
    """The (source, id) under which the catalog keeps a problem folder, and its real
    (source, id) when they differ. The catalog's key is (repository, id), ids at most 40
    characters: a folder whose name would not fit, or whose id is ``taken`` (by a sound
    backup or another problem: a genuine backup copied into another source), is kept under
    ``problem-<hash of its real name>`` instead, so that it stays visible and
    ``backup forget`` removes this row, never the genuine one. Adds the key to ``taken``."""
    if _PLAIN_NAME.match(backup_id) and len(source) <= 100 and backup_id not in taken:
        taken.add(backup_id)
        return source, backup_id, None
    digest = hashlib.sha256(f"{source}/{backup_id}".encode("utf-8", "replace")).hexdigest()
    key = f"problem-{digest[:32]}"
    taken.add(key)
    return source[:100], key, (source, backup_id)


def _record_problem(
    connection: Connection, repository: str, entry: ProblemEntry, since: datetime
) -> None:
    claimed = entry.claimed or {}
    moment = backup_time(entry.backup_id) or since

    def text(key: str, size: int) -> str:
        value = claimed.get(key)
        return value[:size] if isinstance(value, str) and value else "?"

    connection.execute(
        insert(backups).values(
            repository=repository,
            backup_id=entry.backup_id[:40],
            source=entry.source[:100],
            service=text("service", 100),
            kind=text("kind", 40),
            started_at=moment,
            finished_at=moment,
            plain_size=0,
            stored_size=entry.stored_size,
            manifest={
                "claimed": entry.claimed,
                "folder": list(entry.folder) if entry.folder else None,
            },
            verified_at=since,
            verify_status="failed",
            verify_detail=entry.detail,
            problem=entry.problem,
            problem_detail=entry.detail,
            problem_since=since,
        )
    )


def _problem(row: Any) -> ProblemEntry:
    saved = row.manifest if isinstance(row.manifest, dict) else {}
    claimed = saved.get("claimed")
    folder = saved.get("folder")
    location = (
        (str(folder[0]), str(folder[1])) if isinstance(folder, list) and len(folder) == 2 else None
    )
    return ProblemEntry(
        row.repository,
        row.source,
        row.backup_id,
        row.problem,
        row.problem_detail or "",
        row.problem_since or row.finished_at,
        row.stored_size,
        claimed if isinstance(claimed, dict) else None,
        location,
    )


def list_problems(
    store: Store, *, repository: str | None = None, source: str | None = None
) -> list[ProblemEntry]:
    """Folders kept in the catalog because they do not verify, oldest first."""
    query = _rows(backups.c.problem.is_not(None), repository=repository, source=source)
    with store.engine.connect() as connection:
        return [_problem(row) for row in connection.execute(query)]


def _rows(
    kind: Any,
    *,
    repository: str | None = None,
    source: str | None = None,
    service: str | None = None,
) -> Any:
    """The catalog rows of one kind (sound, or with a problem), filtered, oldest first."""
    query = select(backups).where(kind).order_by(backups.c.finished_at, backups.c.backup_id)
    for column, value in (
        (backups.c.repository, repository),
        (backups.c.source, source),
        (backups.c.service, service),
    ):
        if value:
            query = query.where(column == value)
    return query


def find_any(store: Store, wanted: str) -> CatalogEntry | ProblemEntry:
    """The cataloged backup or problem folder whose id is ``wanted`` or starts with it."""
    query = select(backups).where(backups.c.backup_id.startswith(wanted, autoescape=True))
    with store.engine.connect() as connection:
        rows = list(connection.execute(query.limit(5)))
    if not rows:
        raise InputError(
            f"no backup {wanted!r} in the catalog",
            hint="see `reprise backup list`; on a new machine run "
            "`reprise repo reindex NAME` first",
        )
    exact = [row for row in rows if row.backup_id == wanted]
    if len(rows) > 1 and not exact:
        ids = ", ".join(f"{row.repository}/{row.backup_id}" for row in rows)
        raise InputError(f"{wanted!r} matches several backups: {ids}", hint="give more of the id")
    row = exact[0] if exact else rows[0]
    return _problem(row) if row.problem else _entry(row)


def _entry(row: Any) -> CatalogEntry:
    return CatalogEntry(
        row.repository,
        Manifest.model_validate(row.manifest),
        row.verified_at,
        row.verify_status,
        row.verify_detail,
    )


def list_backups(
    store: Store,
    *,
    service: str | None = None,
    source: str | None = None,
    repository: str | None = None,
) -> list[CatalogEntry]:
    """Cataloged sound backups, oldest first (never a folder with a problem)."""
    query = _rows(
        backups.c.problem.is_(None), repository=repository, source=source, service=service
    )
    with store.engine.connect() as connection:
        return [_entry(row) for row in connection.execute(query)]


def find_backup(store: Store, wanted: str) -> CatalogEntry:
    """The backup whose id is ``wanted`` or starts with it (unambiguously); a folder with a
    problem is refused (VerificationError), so nothing restores it."""
    found = find_any(store, wanted)
    if isinstance(found, ProblemEntry):
        raise VerificationError(
            f"backup {found.source}/{found.backup_id} in {found.repository} is "
            f"{found.problem}: {found.detail}",
            hint="use another backup; once examined, remove it with "
            f"`reprise backup forget {found.backup_id}`",
        )
    return found


def record_verification(
    store: Store,
    repository: str,
    backup_id: str,
    *,
    ok: bool,
    detail: str | None,
    checked_parts: Iterable[str],
    deep: bool,
    at: datetime | None = None,
) -> None:
    """Remember a verification's outcome and which parts it read."""
    moment = at or datetime.now(UTC)
    with store.engine.begin() as connection:
        connection.execute(
            update(backups)
            .where(and_(backups.c.repository == repository, backups.c.backup_id == backup_id))
            .values(
                verified_at=moment, verify_status="ok" if ok else "failed", verify_detail=detail
            )
        )
        if ok:
            values: dict[str, Any] = {"verified_at": moment}
            if deep:
                values["deep_verified_at"] = moment
            names = list(checked_parts)
            if names:
                connection.execute(
                    update(backup_parts)
                    .where(
                        and_(
                            backup_parts.c.repository == repository,
                            backup_parts.c.backup_id == backup_id,
                            backup_parts.c.name.in_(names),
                        )
                    )
                    .values(**values)
                )


@dataclass(frozen=True)
class PartAge:
    """A cataloged part and when it was last checked."""

    repository: str
    backup_id: str
    name: str
    stored_size: int
    checked_at: datetime | None


def parts_least_recently_checked(store: Store, *, deep: bool) -> list[PartAge]:
    """Every part, never-checked first, then oldest check first."""
    column = backup_parts.c.deep_verified_at if deep else backup_parts.c.verified_at
    query = select(
        backup_parts.c.repository,
        backup_parts.c.backup_id,
        backup_parts.c.name,
        backup_parts.c.stored_size,
        column.label("checked_at"),
    )
    with store.engine.connect() as connection:
        rows = list(connection.execute(query))
    epoch = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda row: (row.checked_at or epoch, row.backup_id, row.name))
    return [
        PartAge(row.repository, row.backup_id, row.name, row.stored_size, row.checked_at)
        for row in rows
    ]

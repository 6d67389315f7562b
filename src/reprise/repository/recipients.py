"""Recipients are a decision: the age recipients a repository's backups are encrypted to
are pinned in the state database, and a backup whose plan recipients differ is refused
until someone accepts the change (``reprise repo recipients NAME --accept``, journaled).

Why not the plan alone: a recipients file that someone else could append to would make
every later backup readable by them, silently. Why not the repository file: whoever can
write the repository could rewrite it. The first pin comes from ``repo init`` (the set it
records), else from the newest backup of the repository signed by a key the plan trusts
(cataloged, else found in the repository), else from the plan itself on first use; each
first pin is journaled (``repository.recipients_pinned``) with its origin. The repository
file is never its source, only a witness whose disagreement is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from reprise.errors import InputError
from reprise.repository.catalog import list_backups
from reprise.store.events import append_event
from reprise.store.tables import accepted_recipients

if TYPE_CHECKING:
    from reprise.repository import Repository
    from reprise.store import Store


@dataclass(frozen=True)
class Pin:
    """The accepted recipient set of one repository."""

    repository: str
    recipients: list[str]
    accepted_at: datetime
    accepted_by: str
    origin: str


@dataclass
class RecipientsDiff:
    """The plan's recipients against the accepted ones."""

    repository: str
    accepted: list[str] | None
    plan: list[str]
    pin: Pin | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """Nothing to accept."""
        return self.accepted is not None and not self.added and not self.removed

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "repository": self.repository,
            "accepted": self.accepted,
            "plan": self.plan,
            "added": self.added,
            "removed": self.removed,
            "same": self.same,
            "accepted_at": self.pin.accepted_at.isoformat() if self.pin else None,
            "accepted_by": self.pin.accepted_by if self.pin else None,
            "origin": self.pin.origin if self.pin else None,
        }


def get_pin(store: Store, repository: str) -> Pin | None:
    """The accepted set, if one was recorded."""
    with store.engine.connect() as connection:
        row = connection.execute(
            select(accepted_recipients).where(accepted_recipients.c.repository == repository)
        ).first()
    if row is None:
        return None
    return Pin(row.repository, list(row.recipients), row.accepted_at, row.accepted_by, row.origin)


def record_pin(
    store: Store,
    repository: str,
    recipients: list[str],
    *,
    by: str,
    origin: str,
    kind: str = "repository.recipients_accepted",
) -> Pin:
    """Pin ``recipients`` for ``repository`` and journal it (same transaction)."""
    previous = get_pin(store, repository)
    pin = Pin(repository, list(recipients), datetime.now(UTC), by[:200], origin)
    before = previous.recipients if previous else []
    with store.engine.begin() as connection:
        connection.execute(
            delete(accepted_recipients).where(accepted_recipients.c.repository == repository)
        )
        connection.execute(
            insert(accepted_recipients).values(
                repository=repository,
                recipients=pin.recipients,
                accepted_at=pin.accepted_at,
                accepted_by=pin.accepted_by,
                origin=origin,
            )
        )
        append_event(
            connection,
            kind,
            repository,
            {
                "recipients": pin.recipients,
                "by": pin.accepted_by,
                "origin": origin,
                "added": sorted(set(pin.recipients) - set(before)),
                "removed": sorted(set(before) - set(pin.recipients)),
            },
        )
    return pin


def _bootstrap(store: Store, repository: Repository, plan_recipients: list[str]) -> Pin:
    """A first pin for a repository that has none, journaled with where it came from: the
    recipients of its newest backup signed by a key the plan trusts (from the catalog, else
    found in the repository), else the plan's own on first use. Never the repository file:
    whoever can write the repository can rewrite it."""
    entries = list_backups(store, repository=repository.name)
    if entries:
        return record_pin(
            store,
            repository.name,
            entries[-1].manifest.encryption.recipients,
            by="reprise",
            origin="newest backup",
            kind="repository.recipients_pinned",
        )
    signed = _newest_signed(repository)
    if signed is not None:
        return record_pin(
            store,
            repository.name,
            signed,
            by="reprise",
            origin="newest signed backup in the repository",
            kind="repository.recipients_pinned",
        )
    return record_pin(
        store,
        repository.name,
        list(plan_recipients),
        by="reprise",
        origin="plan (first use)",
        kind="repository.recipients_pinned",
    )


_NEWEST_TRIED = 20


def _newest_signed(repository: Repository) -> list[str] | None:
    """The recipients of the newest backup folder of the repository whose manifest is
    signed by a key the plan trusts for that very folder (a few tried, newest first)."""
    from reprise.errors import RepriseError
    from reprise.repository import NotFoundError, scan_folders
    from reprise.repository.layout import backup_time
    from reprise.repository.verify import load_manifest

    folders = [
        folder
        for folder in scan_folders(repository.backend)
        if folder.has_manifest and backup_time(folder.backup_id) is not None
    ]
    folders.sort(key=lambda folder: folder.backup_id[:16], reverse=True)
    for folder in folders[:_NEWEST_TRIED]:
        try:
            manifest = load_manifest(repository, folder.source, folder.backup_id)
        except InputError:
            raise  # the plan trusts no key
        except (RepriseError, NotFoundError):
            continue
        return list(manifest.encryption.recipients)
    return None


def compare(
    store: Store, repository: Repository, plan_recipients: list[str], *, bootstrap: bool = True
) -> RecipientsDiff:
    """The plan's recipients against the accepted set (pinned first if needed)."""
    pin = get_pin(store, repository.name)
    if pin is None and bootstrap:
        pin = _bootstrap(store, repository, plan_recipients)
    diff = RecipientsDiff(
        repository.name, pin.recipients if pin else None, list(plan_recipients), pin
    )
    if pin is not None:
        diff.added = [item for item in plan_recipients if item not in pin.recipients]
        diff.removed = [item for item in pin.recipients if item not in plan_recipients]
    return diff


def check_recipients(store: Store, repository: Repository, plan_recipients: list[str]) -> None:
    """Refuse (InputError) a backup whose recipients are not the accepted set."""
    diff = compare(store, repository, plan_recipients)
    fix = f"reprise repo recipients {repository.name} --accept"
    if diff.accepted is None:
        raise InputError(
            f"repository {repository.name!r} has no accepted recipient set",
            hint=f"check `reprise keys show`, then run: {fix}",
        )
    if not diff.same:
        changes = "; ".join(
            [f"added {item}" for item in diff.added] + [f"removed {item}" for item in diff.removed]
        )
        raise InputError(
            f"the plan's recipients differ from those accepted for repository "
            f"{repository.name!r} ({changes}); backups would be readable by whoever holds "
            "an added key",
            hint=f"if the change is intended, review it with `reprise repo "
            f"recipients {repository.name}` and run: {fix}; otherwise "
            "find out who changed keys.recipients or its file",
        )

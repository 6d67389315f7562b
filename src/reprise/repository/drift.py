"""Complete backups the catalog does not know: a backup killed after its signature was
written but before the catalog insert, or a repository seen from a new machine.

Found by listing only (no manifest is read or trusted), so that `backup list` can say "run
`repo reindex`" cheaply; the reindex then verifies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reprise.errors import RepriseError
from reprise.repository import Repository, scan_folders
from reprise.repository.catalog import list_backups, list_problems

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store


@dataclass(frozen=True)
class Uncatalogued:
    """Folders of one repository that hold a manifest and a signature but no catalog row."""

    repository: str
    folders: list[str]

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {"repository": self.repository, "folders": self.folders}


def uncatalogued(store: Store, repository: Repository) -> Uncatalogued:
    """The complete-looking folders of ``repository`` that the catalog lacks (raises
    RepriseError when the repository cannot be listed)."""
    known = {
        (entry.manifest.source, entry.backup_id)
        for entry in list_backups(store, repository=repository.name)
    }
    known |= {entry.location for entry in list_problems(store, repository=repository.name)}
    folders = [
        f"{folder.source}/{folder.backup_id}"
        for folder in scan_folders(repository.backend)
        if folder.has_manifest and (folder.source, folder.backup_id) not in known
    ]
    return Uncatalogued(repository.name, folders)


def uncatalogued_local(plan: Plan, store: Store) -> list[Uncatalogued]:
    """:func:`uncatalogued` for the plan's local repositories (a directory listing costs
    nothing; object storage is left to `backup verify --all`, which lists it anyway).
    A repository that cannot be listed is skipped: this is a hint, not a check."""
    from reprise.repository import open_repository
    from reprise.repository.backends import cheap_listing

    found = []
    for name, settings in sorted(plan.repositories.items()):
        if not cheap_listing(settings):
            continue
        try:
            result = uncatalogued(store, open_repository(plan, name))
        except (RepriseError, OSError):
            continue
        if result.folders:
            found.append(result)
    return found

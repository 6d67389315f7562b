"""How each backup source kind comes back: a new kind is its model in ``plan/sources.py``,
its backup maker in ``backup/sources/registry.py`` and one line below
(``tests/unit/test_registries.py`` fails when a kind of the plan has none). Then
regenerate ``docs/plan-reference.md`` (``python -m reprise.plan.reference``).

A ``Restorer`` says where a plain restore of the kind may go (``validate``), which parts of
a backup a request needs (``select``), and what else the kind is good for: picked by a
plain restore when no source is named, the base of point-in-time recovery, restorable by
a drill into a scratch PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from reprise.restore import files, logical

if TYPE_CHECKING:
    from reprise.repository.manifest import Manifest, Part
    from reprise.restore.run import RestoreRequest

Validate = Callable[["RestoreRequest", str], str]
"""(request, kind) → where the restore goes: ``server``, ``directory`` or ``files``
(InputError when the request does not fit the kind)."""

Select = Callable[["Manifest", "RestoreRequest"], "tuple[list[tuple[str, str]], list[Part]]"]
"""(manifest, request) → the (dumped, target) database pairs and the parts to fetch."""


@dataclass(frozen=True)
class Restorer:
    """How one source kind is restored."""

    validate: Validate
    select: Select
    default: bool
    """A plain restore picks a source of this kind when none is named."""
    point_in_time: bool = False
    """Its backups are the base of point-in-time recovery (with the WAL archive)."""
    drills: bool = False
    """A drill can restore it into a scratch PostgreSQL and check it."""


RESTORERS: dict[str, Restorer] = {
    "postgres": Restorer(logical.restore_mode, logical.select_parts, default=True, drills=True),
    "postgres_physical": Restorer(
        partial(files.restore_mode, special_bits=False),
        files.every_part,
        default=False,
        point_in_time=True,
    ),
    "files": Restorer(
        partial(files.restore_mode, special_bits=True), files.every_part, default=True
    ),
    "command": Restorer(
        partial(files.restore_mode, special_bits=False), files.every_part, default=True
    ),
}
"""Source kind → its restorer."""


def restorer_for(kind: str) -> Restorer:
    """The restorer of ``kind`` (KeyError for a kind nobody registered)."""
    return RESTORERS[kind]


def kinds_where(wanted: Callable[[Restorer], bool]) -> tuple[str, ...]:
    """The kinds whose restorer has ``wanted``, in registry order."""
    return tuple(kind for kind, restorer in RESTORERS.items() if wanted(restorer))


def spoken(kinds: tuple[str, ...]) -> str:
    """``postgres, files or command``."""
    if len(kinds) < 2:
        return "".join(kinds)
    return f"{', '.join(kinds[:-1])} or {kinds[-1]}"

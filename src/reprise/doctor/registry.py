"""Every check, in the order they run, and the choice of a subset (``--only``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reprise.doctor import (
    archiving,
    keys,
    modes,
    postgres,
    repositories,
    server_user,
    service,
    space,
)
from reprise.doctor.checks import Check, Context


@dataclass(frozen=True)
class Family:
    """Checks that share what they look at; ``needs_store`` when they read the state."""

    ids: Callable[[Context], list[str]]
    run: Callable[[Context, set[str]], list[Check]]
    needs_store: bool = False
    by_default: bool = True
    """False for checks run only when named (``wal.push-access``, run as the server's user
    by ``wal.server-user``)."""
    fixed: str | None = None
    """The one id of a family whose id does not depend on the plan."""


def _static(check_id: str, run: Callable[[Context], list[Check]], **options: bool) -> Family:
    return Family(
        lambda _context: [check_id],
        lambda context, _wanted: run(context),
        fixed=check_id,
        **options,
    )


FAMILIES: tuple[Family, ...] = (
    _static(postgres.IDS[0], postgres.check_reachable),
    _static(postgres.IDS[1], postgres.check_client),
    _static(postgres.IDS[2], postgres.check_clock),
    _static(archiving.ID, archiving.check),
    _static(server_user.SERVER_USER, server_user.check_server_user),
    _static(server_user.PUSH_ACCESS, server_user.check_push_access, by_default=False),
    Family(repositories.ids, repositories.check),
    _static(keys.PRESENT, keys.check_present),
    _static(keys.MATCH, keys.check_match, needs_store=True),
    _static(modes.ID, modes.check),
    _static(space.ID, space.check, needs_store=True),
    _static(service.ID, service.check, needs_store=True),
)

STATIC_IDS = tuple(
    family.fixed for family in FAMILIES if family.fixed is not None and family.by_default
)
"""The default checks whose id does not depend on the plan (``repository.<name>`` does)."""

PLAN_ID = "plan.valid"
"""The plan loads and validates (reported by the use case, which loads nothing itself)."""


def known_ids(context: Context) -> list[str]:
    """Every check id of this plan, in running order."""
    return [PLAN_ID, *(check_id for family in FAMILIES for check_id in family.ids(context))]


def chosen(context: Context, only: tuple[str, ...]) -> set[str]:
    """The ids to run: every default one, or those ``only`` names (an id, or a family
    prefix such as ``wal`` or ``repository``)."""
    if not only:
        return {
            check_id for family in FAMILIES if family.by_default for check_id in family.ids(context)
        } | {PLAN_ID}
    hidden = {
        check_id for family in FAMILIES if not family.by_default for check_id in family.ids(context)
    }
    return {
        check_id
        for check_id in known_ids(context)
        if any(
            check_id == name or (check_id.startswith(f"{name}.") and check_id not in hidden)
            for name in only
        )
    }


def unknown(context: Context, only: tuple[str, ...]) -> list[str]:
    """The names in ``only`` that select no check."""
    every = known_ids(context)
    return [
        name
        for name in only
        if not any(check_id == name or check_id.startswith(f"{name}.") for check_id in every)
    ]


def needs_store(context: Context, wanted: set[str]) -> bool:
    """Whether a chosen check reads the state."""
    return any(family.needs_store and wanted & set(family.ids(context)) for family in FAMILIES)


def run(context: Context, wanted: set[str]) -> list[Check]:
    """The verdicts of the chosen checks, in order."""
    found: list[Check] = []
    for family in FAMILIES:
        ids = set(family.ids(context)) & wanted
        if ids:
            found += [check for check in family.run(context, ids) if check.id in wanted]
    return found

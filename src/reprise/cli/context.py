"""What the root command hands to every subcommand, and the shared ways to use it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from reprise.plan.loader import LoadedPlan
    from reprise.plan.model import Plan
    from reprise.store import Store


ByOption = Annotated[
    str | None,
    typer.Option("--by", help="Who does it (default: $REPRISE_USER, else the login name)."),
]
"""The ``--by`` option of commands that record who did something (see ``who``)."""


@dataclass
class CliState:
    """Options of the root command. ``verbosity``: -1 with ``--quiet``, 0 by default, the
    number of ``-v`` otherwise (what each level means: :class:`reprise.cli.output.Verbosity`)."""

    plan_path: Path | None
    verbosity: int = 0
    log_level_given: bool = False
    """``--log-level`` (or ``$REPRISE_LOG_LEVEL``) was given: it wins over what the
    verbosity implies, and no command holds log lines back."""


def plan_path(ctx: typer.Context, override: Path | None = None) -> Path | None:
    """The plan to use: a command's own argument, else ``--plan`` / ``$REPRISE_PLAN``."""
    if override is not None:
        return override
    state = ctx.find_object(CliState)
    return state.plan_path if state else None


def load(ctx: typer.Context, override: Path | None = None, *, contacts: bool = True) -> LoadedPlan:
    """Load and validate the plan (raises PlanError), and export its ``.env`` to the
    programs and libraries the command starts; ``contacts=False`` skips the Apprise check
    of contact URLs on paths that never notify."""
    from reprise.cli.collector import building
    from reprise.cli.logs import remember_plan
    from reprise.cli.output import use_clock
    from reprise.plan.loader import export_env_file, load_plan

    with building():  # the plan and the modules it needs live until the command ends
        loaded = load_plan(plan_path(ctx, override), contacts=contacts)
    export_env_file(loaded)
    remember_plan(loaded)  # no log line shows its .env values or contact tokens
    organisation = loaded.plan.organisation
    use_clock(organisation.timezone, organisation.language)  # times in the plan's zone
    return loaded


@contextmanager
def plan_state(ctx: typer.Context) -> Iterator[tuple[LoadedPlan, Store]]:
    """``with plan_state(ctx) as (loaded, store):`` the plan and its state database, closed
    however the block ends."""
    from reprise.usecases.state import open_state

    loaded = load(ctx)
    with open_state(loaded) as store:
        yield loaded, store


def require_services(plan: Plan, services: list[str]) -> None:
    """Refuse (InputError) a service id the plan does not have, listing those it has."""
    from reprise.errors import InputError

    known = [service.id for service in plan.services]
    for service in services:
        if service not in known:
            raise InputError(f"unknown service {service!r}", hint=f"use one of: {', '.join(known)}")


def who(by: str | None) -> str:
    """The person doing something: ``--by``, else ``$REPRISE_USER``, else the login name."""
    import getpass
    import os

    if by:
        return by
    if os.environ.get("REPRISE_USER"):
        return os.environ["REPRISE_USER"]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"

"""``reprise wal``: PostgreSQL's archive_command and restore_command, and the archive's range.

    archive_command = 'reprise --plan /etc/reprise wal push %p'
    restore_command = 'reprise --plan /etc/reprise wal fetch %f %p'

Exit codes are PostgreSQL's contract. push: 0 archived (or already, identical), anything
else: PostgreSQL keeps the segment and retries. fetch: 0 delivered, 1 not in the archive
(the normal end of the WAL), 255 a fault (repository unreachable, damaged segment, wrong
key, a segment not signed by a key the plan trusts): PostgreSQL stops recovery instead of
ending it early at the wrong point. A verification failure is not exit 3 here, unlike
every other command: PostgreSQL reads any exit status up to 125 as "not in the archive"
and would end recovery (and promote) at the forged segment; only a status above 125 makes
it stop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="WAL archive: push (archive_command), fetch (restore_command), list.", no_args_is_help=True
)

FETCH_NOT_FOUND = 1
FETCH_FATAL = 255

SourceOption = Annotated[
    str | None,
    typer.Option(help="The postgres_physical source (needed when the plan has several)."),
]


@app.command("push")
def push_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The WAL file (%p).")],
    source: SourceOption = None,
) -> None:
    """Archive one WAL file: compressed, encrypted, named by its checksum, with a signed
    sidecar (<object>.sig, the signing key). Pushing the same file again succeeds without
    storing it twice; a different file under an archived name is refused."""
    from reprise.cli.context import load
    from reprise.usecases.wal import WalPushRequest, push_wal

    push_wal(load(ctx, contacts=False).plan, WalPushRequest(path, source))


@app.command("fetch")
def fetch_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The WAL file name PostgreSQL wants (%f).")],
    destination: Annotated[Path, typer.Argument(help="Where to put it (%p).")],
    source: SourceOption = None,
    spool: Annotated[
        Path | None,
        typer.Option(
            help="Folder for segments fetched ahead (default: <state dir>/wal-spool/<source>)."
        ),
    ] = None,
    prefetch: Annotated[
        int, typer.Option(min=0, max=64, help="Segments fetched ahead, in parallel.")
    ] = 8,
) -> None:
    """Deliver one archived WAL file, fetching the next segments ahead in parallel."""
    from reprise.cli.output import print_error
    from reprise.errors import RepriseError

    try:
        found = _fetch(ctx, name, destination, source, spool, prefetch)
    except RepriseError as error:
        print_error(error)
        raise typer.Exit(FETCH_FATAL) from None
    except OSError as error:
        print(f"error: {destination}: {error.strerror}", flush=True)
        raise typer.Exit(FETCH_FATAL) from None
    except Exception as error:  # noqa: BLE001 - any other exit code would end recovery early
        print(f"internal error: {type(error).__name__}: {error}", flush=True)
        raise typer.Exit(FETCH_FATAL) from None
    if not found:
        raise typer.Exit(FETCH_NOT_FOUND)


def _fetch(
    ctx: typer.Context,
    name: str,
    destination: Path,
    source: str | None,
    spool: Path | None,
    prefetch: int,
) -> bool:
    """The name is checked before the plan is read: a wrong restore_command fails fast."""
    from reprise.cli.context import load
    from reprise.usecases.wal import WalFetchRequest, check_wal_name, fetch_wal

    check_wal_name(name)
    plan = load(ctx, contacts=False).plan
    return fetch_wal(plan, WalFetchRequest(name, destination, source, spool, prefetch))


@app.command("list")
def list_command(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service with a postgres_physical source.")],
    source: SourceOption = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The archived WAL per timeline: first and last segment, count, size, newest time,
    and every gap (a missing segment stops any recovery that needs to go past it)."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.plan.units import format_size
    from reprise.usecases.wal import WalListRequest, list_wal

    with plan_state(ctx) as (loaded, store):
        archive = list_wal(loaded.plan, store, WalListRequest(service, source))
    timelines = archive.timelines
    if json:
        print_json([timeline.to_dict() for timeline in timelines])
        return
    table = Table(title=f"WAL archive of {archive.source}", title_justify="left")
    for column in ("Timeline", "First", "Last", "Segments", "Stored", "Newest (UTC)", "Gaps"):
        table.add_column(column)
    for timeline in timelines:
        gaps = _gaps(timeline.gaps)
        table.add_row(
            str(timeline.timeline),
            timeline.first or "-",
            timeline.last or "-",
            str(timeline.segments),
            format_size(timeline.stored_size),
            timeline.newest.strftime("%Y-%m-%d %H:%M:%S") if timeline.newest else "-",
            f"[red]{gaps}[/]" if gaps else "none",
        )
    stdout().print(table)
    if not timelines:
        stdout().print("Nothing archived yet: is archive_command set to `reprise wal push %p`?")


def _gaps(gaps: list[tuple[str, str]]) -> str:
    """The first three gaps (first…last missing segment), and how many more."""
    shown = ", ".join(f"{first}…{last}" if first != last else first for first, last in gaps[:3])
    return shown + (f" (+{len(gaps) - 3})" if len(gaps) > 3 else "")

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
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="WAL archive: push (archive_command), fetch (restore_command), pusher, list.",
    no_args_is_help=True,
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
    storing it twice; a different file under an archived name is refused. With the
    source's wal_async, the file goes to a durable local spool and a pusher uploads it."""
    from reprise.cli import lean

    settings, backend = _settings(ctx, source, repository=False)
    code = lean.push(settings, path, backend)
    if code:
        raise typer.Exit(code)


def _settings(ctx: typer.Context, source: str | None, *, repository: bool) -> tuple[Any, Any]:
    """The source's WAL settings from the plan just loaded, kept for the lean door, and the
    repository's backend when the command needs it (None: the spool does not)."""
    from reprise.cli.context import load
    from reprise.usecases.wal import remember_settings, wal_backend

    loaded = load(ctx, contacts=False)
    settings = remember_settings(loaded, source)
    needed = repository or settings.asynchronous is None
    return settings, wal_backend(loaded.plan, settings) if needed else None


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
    from reprise.cli import lean
    from reprise.cli.output import print_error
    from reprise.errors import RepriseError
    from reprise.usecases.wal import check_wal_name

    try:
        check_wal_name(name)  # before the plan is read: a wrong restore_command fails fast
        settings, backend = _settings(ctx, source, repository=True)
    except RepriseError as error:
        print_error(error)
        raise typer.Exit(FETCH_FATAL) from None
    except Exception as error:  # noqa: BLE001 - any other exit code would end recovery early
        print(f"internal error: {type(error).__name__}: {error}", flush=True)
        raise typer.Exit(FETCH_FATAL) from None
    code = lean.fetch(settings, name, destination, spool, prefetch, backend)
    if code:
        raise typer.Exit(code)


@app.command("pusher")
def pusher_command(
    ctx: typer.Context,
    source: SourceOption = None,
    idle_exit: Annotated[
        float | None,
        typer.Option(
            min=0, help="Leave once the spool has stayed empty this many seconds (default: never)."
        ),
    ] = None,
    until_empty: Annotated[
        bool, typer.Option(help="Leave as soon as the spool is empty (before a restore).")
    ] = False,
) -> None:
    """Upload the asynchronous WAL spool (wal_async) into the repository, several segments
    at a time, until SIGTERM. `reprise serve` runs one; `wal push` starts one when none runs.
    Exits at once when another pusher holds the spool."""
    import signal
    import threading

    from reprise.cli.context import load
    from reprise.cli.output import stdout
    from reprise.usecases.wal import WalPusherRequest, run_pusher

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _number, _frame: stop.set())
    loaded = load(ctx, contacts=False)
    report = run_pusher(loaded, WalPusherRequest(source, 0.0 if until_empty else idle_exit, stop))
    if not report.ran:
        stdout().print("Another pusher is uploading this spool; nothing to do.")
        return
    stdout().print(f"{report.pushed} WAL file(s) archived, {report.failures} failed attempt(s).")


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
    from reprise.cli.output import print_json, shown, stdout
    from reprise.plan.units import format_size
    from reprise.usecases.wal import WalListRequest, list_wal

    with plan_state(ctx) as (loaded, store):
        archive = list_wal(loaded.plan, store, WalListRequest(service, source))
    timelines = archive.timelines
    if json:
        print_json([timeline.to_dict() for timeline in timelines])
        return
    table = Table(title=f"WAL archive of {archive.source}", title_justify="left")
    for column in ("Timeline", "First", "Last", "Segments", "Stored", "Newest", "Gaps"):
        table.add_column(column)
    for timeline in timelines:
        gaps = _gaps(timeline.gaps)
        table.add_row(
            str(timeline.timeline),
            timeline.first or "-",
            timeline.last or "-",
            str(timeline.segments),
            format_size(timeline.stored_size),
            shown(timeline.newest, seconds=True) if timeline.newest else "-",
            f"[red]{gaps}[/]" if gaps else "none",
        )
    stdout().print(table)
    if not timelines:
        stdout().print("Nothing archived yet: is archive_command set to `reprise wal push %p`?")
    if archive.spool is not None:
        stdout().print(_spool_line(archive.spool))


def _spool_line(spool: Any) -> str:
    """One line on what still waits in the asynchronous spool of this host."""
    from rich.markup import escape

    from reprise.cli.output import shown
    from reprise.plan.units import format_size

    text = (
        f"Spool {escape(spool.spool)}: {spool.segments} file(s) waiting ({format_size(spool.size)})"
    )
    if spool.oldest:
        text += f", oldest {spool.oldest} since {shown(spool.oldest_since, seconds=True)}"
    text += "; pusher running" if spool.pusher_running else "; no pusher running"
    if spool.last_error:
        text += f"\n[red]Pusher's last error:[/] {escape(spool.last_error)}"
    return text


@app.command("spool")
def spool_command(
    ctx: typer.Context,
    service: Annotated[str, typer.Argument(help="Service with a postgres_physical source.")],
    source: SourceOption = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """What waits in the asynchronous WAL spool on this host (wal_async): files, size,
    the oldest, whether a pusher runs and its last error. Exit 1 when the source archives
    synchronously."""
    from reprise.cli.context import load
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.wal import WalListRequest, wal_spool

    spool = wal_spool(load(ctx).plan, WalListRequest(service, source))
    if json:
        print_json(spool.to_dict())
        return
    stdout().print(_spool_line(spool))


def _gaps(gaps: list[tuple[str, str]]) -> str:
    """The first three gaps (first…last missing segment), and how many more."""
    shown = ", ".join(f"{first}…{last}" if first != last else first for first, last in gaps[:3])
    return shown + (f" (+{len(gaps) - 3})" if len(gaps) > 3 else "")

"""``reprise backup``: make, list, show, verify and prune backups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reprise.cli.context import ByOption

if TYPE_CHECKING:
    from reprise.usecases.backups import BackupResult, CatalogEntry, JobOutcome, ProblemEntry
    from reprise.usecases.verify import Outcome

app = typer.Typer(
    help="Encrypted, signed backups: run, list, show, verify, forget, prune.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _size(value: int) -> str:
    from reprise.plan.units import format_size

    return format_size(value)


@app.command("run")
def run_command(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Argument(help="Service whose backups to run.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every service with backups.")] = False,
    source: Annotated[
        str | None,
        typer.Option(
            help="Only this source (its repository folder name, e.g. akig-db-postgres): sources "
            "of one service often have different schedules."
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Back up a service (every `backups` entry of it), or all of them with --all.

    Each part streams through zstd and age into the repository; the signed manifest is
    written last. Exit 0 when every backup completed, 1 when one failed (the others still
    run).
    """
    from reprise.cli import progress
    from reprise.cli.collector import building
    from reprise.cli.context import plan_state
    from reprise.cli.interrupts import terminate_as_interrupt
    from reprise.cli.output import info, print_json

    with building():  # some 300 modules, kept until the command ends
        from reprise.usecases.backups import BackupRequest, run_backups

    if (service is None) == (not all_):
        raise typer.BadParameter("give a SERVICE or --all (not both)", param_hint="SERVICE")
    with (
        plan_state(ctx) as (loaded, store),
        terminate_as_interrupt(),
        progress.byte_bars(progress.wanted(json)) as bars,
    ):
        run = run_backups(
            loaded.plan,
            store,
            BackupRequest(
                service,
                source,
                progress=bars,
                on_outcome=lambda outcome: _print_outcome(outcome, json),
            ),
        )
    if json:
        print_json(run.to_dict())
    elif len(run.outcomes) > 1:
        info(f"{run.completed} of {len(run.outcomes)} backups completed.")
    if run.failures:
        raise typer.Exit(run.exit_code)


def _print_outcome(outcome: JobOutcome, json: bool) -> None:
    """A failed backup's error at once; a completed one's line and warnings for people."""
    from reprise.cli.output import print_error, stderr

    if outcome.error is not None:
        print_error(outcome.error)
        return
    if not json and outcome.result is not None:
        _print_done(outcome.result)
        for warning in outcome.result.warnings:
            stderr().print(f"[yellow]warning:[/] {warning}")


def _print_done(result: BackupResult) -> None:
    """One completed backup: sizes, duration, throughput (not under --quiet: success says
    nothing there); under --verbose, each part too."""
    from reprise.cli.output import detail, info

    manifest = result.manifest
    info(
        f"[green]✓[/] {manifest.source} {manifest.id}: "
        f"{_size(manifest.plain_size)} → {_size(manifest.stored_size)} in "
        f"{manifest.duration:.1f} s ({_size(int(result.throughput))}/s), "
        f"{len(manifest.parts)} part(s), repository {result.repository}"
    )
    for part in manifest.parts:
        detail(
            f"  {part.name}: {_size(part.plain_size)} → {_size(part.stored_size)}, "
            f"sha256 {part.sha256[:16]}…",
            markup=False,
        )


def _verified(entry: CatalogEntry) -> str:
    if entry.verify_status is None:
        return "never"
    from reprise.cli.output import shown

    when = shown(entry.verified_at) if entry.verified_at else "?"
    return f"{entry.verify_status} {when}"


@app.command("list")
def list_command(
    ctx: typer.Context,
    service: Annotated[str | None, typer.Option(help="Only this service's backups.")] = None,
    json: JsonOption = False,
) -> None:
    """Complete backups from the catalog, oldest first (incomplete ones never appear),
    then folders kept with a problem (damaged, untrusted, moved, replayed), marked."""
    from rich.markup import escape
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, shown, stderr, stdout
    from reprise.usecases.backups import ListRequest, list_catalog

    with plan_state(ctx) as (loaded, store):
        listing = list_catalog(loaded.plan, store, ListRequest(service))
    entries, problems = listing.entries, listing.problems
    for found in listing.uncatalogued:  # on stderr: the JSON on stdout keeps its shape
        folders = ", ".join(found.folders[:3]) + (" …" if len(found.folders) > 3 else "")
        stderr().print(
            f"note: repository {found.repository} holds {len(found.folders)} "
            f"complete-looking backup(s) the catalog lacks ({folders}): run "
            f"`reprise repo reindex {found.repository}` to verify and list them",
            markup=False,
            highlight=False,
        )
    if json:
        print_json(listing.to_dict())
        return
    table = Table(title=f"Backups ({len(entries)})", title_justify="left")
    for column in (
        "ID",
        "Service",
        "Source",
        "Time",
        "Plain",
        "Stored",
        "Duration",
        "Verified",
    ):
        table.add_column(
            column, justify="right" if column in ("Plain", "Stored", "Duration") else "left"
        )
    for entry in entries:
        manifest = entry.manifest
        table.add_row(
            manifest.id,
            manifest.service,
            manifest.source,
            shown(manifest.finished_at, seconds=True),
            _size(manifest.plain_size),
            _size(manifest.stored_size),
            f"{manifest.duration:.1f} s",
            _verified(entry),
        )
    for problem in problems:
        claimed = problem.claimed or {}
        table.add_row(
            f"[red]{problem.backup_id}[/]",
            escape(str(claimed.get("service", "?"))),
            problem.source,
            shown(problem.since, seconds=True),
            "-",
            _size(problem.stored_size),
            "-",
            f"[red]{problem.problem.upper()}[/]",
        )
    stdout().print(table)
    for problem in problems:
        stdout().print(
            f"[red]{problem.problem}:[/] {problem.source}/{problem.backup_id} in "
            f"{problem.repository}: {escape(problem.detail)}"
        )
    if problems:
        stdout().print("Never restored; `reprise backup forget ID` removes one once examined.")


@app.command("show")
def show_command(
    ctx: typer.Context,
    backup_id: Annotated[
        str, typer.Argument(metavar="ID", help="A backup id (or its unique beginning).")
    ],
    json: JsonOption = False,
) -> None:
    """One backup: its parts, sizes, checksums, server facts and table figures."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, shown, stdout
    from reprise.usecases.backups import ShowRequest, show_backup

    with plan_state(ctx) as (_loaded, store):
        entry = show_backup(store, ShowRequest(backup_id))
    manifest = entry.manifest
    if json:
        print_json({**entry.to_dict(), "manifest": manifest.model_dump(mode="json")})
        return
    console = stdout()
    console.print(
        f"[bold]Backup {manifest.id}[/] of {manifest.service} "
        f"(source {manifest.source}, {manifest.kind}) in {entry.repository}"
    )
    console.print(
        f"  {shown(manifest.started_at, seconds=True)} → "
        f"{shown(manifest.finished_at, seconds=True)} ({manifest.duration:.1f} s) "
        f"on {manifest.host}, reprise {manifest.tool.get('version')}"
    )
    console.print(
        f"  {_size(manifest.plain_size)} plain, {_size(manifest.stored_size)} "
        f"stored (zstd {manifest.compression.level}, age to "
        f"{len(manifest.encryption.recipients)} recipient(s)); "
        f"verified: {_verified(entry)}"
    )
    if manifest.server.get("version"):
        console.print(
            f"  server PostgreSQL {manifest.server['version']}"
            + (
                f", system id {manifest.server['system_identifier']}"
                if manifest.server.get("system_identifier")
                else ""
            )
        )
    console.print("[bold]Parts[/]")
    for part in manifest.parts:
        console.print(
            f"  {part.name}  {_size(part.plain_size)} → {_size(part.stored_size)}  "
            f"sha256 {part.sha256[:16]}…"
        )
    for database in manifest.databases:
        tables = database.get("tables", [])
        rows = sum(table.get("rows", 0) for table in tables)
        console.print(
            f"[bold]Database {database['name']}[/]: {len(tables)} table(s), "
            f"{rows} row(s) ({database.get('table_stats', 'none')})"
        )
    for warning in manifest.warnings:
        console.print(f"[yellow]warning:[/] {warning}")


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    backup_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="One backup.")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every backup of every repository of the plan.")
    ] = False,
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Also decrypt and decompress every part (needs the identity)."),
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option(
            help="Check only the least recently verified share of the bytes, e.g. 10%: ten "
            "runs cover everything. Implies --all."
        ),
    ] = None,
    repository: Annotated[
        str | None, typer.Option(help="With --all or --budget: only this repository of the plan.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Prove backups intact: signature, then size and SHA-256 of each stored part.

    Exit 0 when everything checked is intact, 3 when anything failed (the message names
    the file).
    """
    from reprise.cli import progress
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json
    from reprise.usecases.verify import VerifyRequest, verify_backups

    fraction = _budget(budget) if budget else None
    if backup_id is None and not all_ and fraction is None:
        raise typer.BadParameter("give an ID, --all or --budget", param_hint="ID")
    if backup_id is not None and (all_ or fraction is not None):
        raise typer.BadParameter("an ID cannot be combined with --all or --budget", param_hint="ID")
    with plan_state(ctx) as (loaded, store):
        if repository is not None and repository not in loaded.plan.repositories:
            raise typer.BadParameter(
                f"no repository {repository!r} in the plan", param_hint="--repository"
            )
        with progress.byte_bars(progress.wanted(json)) as bars:
            report = verify_backups(
                loaded.plan,
                store,
                VerifyRequest(
                    backup_id,
                    all_backups=all_,
                    budget=fraction,
                    repository=repository,
                    deep=deep,
                    progress=lambda key, size: bars(key.rsplit("/", 1)[-1], size),
                ),
            )
    if json:
        print_json(report.to_dict())
        if report.exit_code:
            raise typer.Exit(report.exit_code)
        return
    _print_outcomes(report.outcomes, report.incomplete, deep)
    _print_problems(report.problems, report.warnings)
    error = report.error()
    if error is not None:
        raise error


def _print_outcomes(outcomes: list[Outcome], incomplete: list[str], deep: bool) -> None:
    from reprise.cli.output import stdout

    console = stdout()
    for outcome in outcomes:
        mark = "[green]✓[/]" if outcome.ok else "[red]✗[/]"
        console.print(
            f"{mark} {outcome.source} {outcome.backup_id}: "
            f"{len(outcome.checked_parts)} part(s) "
            f"{'decrypted and ' if deep else ''}checked"
        )
        for problem in outcome.problems:
            console.print(f"    [red]{_escape(problem)}[/]")
    for folder in incomplete:
        console.print(
            f"[yellow]incomplete leftover:[/] {_escape(folder)} (removed by "
            "`reprise backup prune` after the grace period)"
        )
    failed = sum(1 for outcome in outcomes if not outcome.ok)
    checked = sum(outcome.checked_bytes for outcome in outcomes)
    console.print(
        f"{len(outcomes) - failed} of {len(outcomes)} backup(s) intact, "
        f"{_size(checked)} read{' and decrypted' if deep else ''}."
    )


def _print_problems(problems: list[ProblemEntry], warnings: list[str]) -> None:
    from reprise.cli.output import shown, stderr, stdout

    console = stdout()
    for entry in problems:
        console.print(
            f"[red]✗ {entry.problem}:[/] {entry.source} {entry.backup_id} "
            f"({entry.repository}, since {shown(entry.since)}): "
            f"{_escape(entry.detail)}"
        )
    for warning in warnings:
        stderr().print(f"[yellow]warning:[/] {_escape(warning)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _budget(text: str) -> float:
    value = text.strip().rstrip("%")
    try:
        number = float(value)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a percentage; write e.g. 10%", param_hint="--budget"
        ) from None
    if not 0 < number <= 100:
        raise typer.BadParameter(
            "the budget is a percentage above 0 and at most 100", param_hint="--budget"
        )
    return number / 100


@app.command("forget")
def forget_command(
    ctx: typer.Context,
    backup_id: Annotated[
        str, typer.Argument(metavar="ID", help="A backup id (or its unique beginning).")
    ],
    delete: Annotated[
        bool, typer.Option("--delete", help="Also delete its folder from the repository.")
    ] = False,
    by: ByOption = None,
    json: JsonOption = False,
) -> None:
    """Remove a backup from the catalog, typically one kept with a problem (damaged,
    untrusted, moved, replayed) once examined; with --delete, its folder too.

    Journaled as a `backup.forgotten` event. Without --delete the folder stays in the
    repository and the next `repo reindex` finds it again.
    """
    from reprise.cli.context import plan_state, who
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.backups import ForgetRequest, forget_backup

    with plan_state(ctx) as (loaded, store):
        result = forget_backup(loaded.plan, store, ForgetRequest(backup_id, delete, who(by)))
    if json:
        print_json(result.to_dict())
        return
    what = f" ({result.problem})" if result.problem else ""
    gone = (
        f"; {result.deleted_objects} object(s) deleted from {result.repository}"
        if delete
        else "; its folder stays in the repository"
    )
    stdout().print(f"forgotten: {result.source}/{result.backup_id}{what}{gone}")


@app.command("prune")
def prune_command(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; delete nothing.")
    ] = False,
    grace: Annotated[
        str, typer.Option(help="Incomplete leftovers older than this are removed.")
    ] = "24h",
    problem_grace: Annotated[
        str,
        typer.Option(
            help="Folders kept in the catalog with a problem (damaged, untrusted…) for this "
            "long are removed."
        ),
    ] = "30d",
    repository: Annotated[
        str | None, typer.Option(help="Prune only this repository of the plan.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Apply each source's retention (restic-style) and remove incomplete leftovers.

    Every reachable repository is pruned; one that cannot be reached (an S3 endpoint
    down) is reported and the command exits 1, the others pruned all the same.

    Never removes the newest verified backup or the newest backup of a source, nor a
    backup under Object Lock. A folder that does not verify (damaged, untrusted…) is
    reported and kept as evidence until it has been cataloged with that problem for
    --problem-grace.
    """
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.cli.values import duration_option
    from reprise.errors import EXIT_FAILED
    from reprise.usecases.prune import PruneRequest, prune_backups, unreachable_error

    request = PruneRequest(
        dry_run=dry_run,
        grace=duration_option("--grace", grace),
        problem_grace=duration_option("--problem-grace", problem_grace),
        repository=repository,
    )
    with plan_state(ctx) as (loaded, store):
        result = prune_backups(loaded.plan, store, request)
    decisions = result.decisions
    if json:
        print_json({"dry_run": dry_run, **result.to_dict()})
        if result.unreachable:
            raise typer.Exit(EXIT_FAILED)
        return
    verb = {
        "forget": "would forget" if dry_run else "forgotten",
        "leftover": "would remove" if dry_run else "removed",
        "keep": "keep",
        "hold": "keep",
        "damaged": "DAMAGED",
    }
    table = Table(title="Prune" + (" (dry run)" if dry_run else ""), title_justify="left")
    for column in ("Source", "ID", "Action", "Why", "Stored"):
        table.add_column(column, justify="right" if column == "Stored" else "left")
    for decision in decisions:
        table.add_row(
            decision.source,
            decision.backup_id,
            verb[decision.action],
            ", ".join(decision.reasons),
            _size(decision.stored_size),
        )
    stdout().print(table)
    gone = [d for d in decisions if d.action in ("forget", "leftover")]
    freed = sum(d.stored_size for d in gone)
    stdout().print(
        f"{len(gone)} folder(s) {'to remove' if dry_run else 'removed'}, "
        f"{_size(freed)} {'would be ' if dry_run else ''}freed."
    )
    error = unreachable_error(result)
    if error is not None:
        raise error

"""``reprise backup``: make, list, show, verify and prune backups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from reprise.cli.context import ByOption
from reprise.errors import EXIT_FAILED

if TYPE_CHECKING:
    from reprise.repository.catalog import CatalogEntry

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
    from reprise.backup.run import run_backup, summary
    from reprise.cli import progress
    from reprise.cli.context import open_state
    from reprise.cli.output import print_error, print_json, stderr, stdout
    from reprise.errors import RepriseError
    from reprise.plan.jobs import backup_jobs
    from reprise.store import state_dir

    if (service is None) == (not all_):
        raise typer.BadParameter("give a SERVICE or --all (not both)", param_hint="SERVICE")
    loaded, store = open_state(ctx)
    results: list[dict[str, Any]] = []
    failures: list[RepriseError] = []
    try:
        jobs = backup_jobs(loaded.plan, service, source)
        work_dir = state_dir(loaded.plan) / "work"
        with progress.byte_bars(progress.wanted(json)) as bars:
            for job in jobs:
                try:
                    result = run_backup(loaded.plan, store, job, work_dir=work_dir, progress=bars)
                except RepriseError as error:
                    if len(jobs) == 1:
                        raise
                    failures.append(error)
                    print_error(error)
                    results.append(
                        {"source": job.name, "service": job.service.id, "error": error.message}
                    )
                    continue
                results.append(summary(result))
                if not json:
                    _print_done(result)
                    for warning in result.warnings:
                        stderr().print(f"[yellow]warning:[/] {warning}")
    finally:
        store.close()
    if json:
        print_json(results)
    elif len(jobs) > 1:
        stdout().print(f"{len(jobs) - len(failures)} of {len(jobs)} backups completed.")
    if failures:
        raise typer.Exit(max(error.exit_code for error in failures))


def _print_done(result: Any) -> None:
    from reprise.cli.output import stdout

    manifest = result.manifest
    stdout().print(
        f"[green]✓[/] {manifest.source} {manifest.id}: "
        f"{_size(manifest.plain_size)} → {_size(manifest.stored_size)} in "
        f"{manifest.duration:.1f} s ({_size(int(result.throughput))}/s), "
        f"{len(manifest.parts)} part(s), repository {result.repository}"
    )


def _verified(entry: CatalogEntry) -> str:
    if entry.verify_status is None:
        return "never"
    when = entry.verified_at.strftime("%Y-%m-%d %H:%M") if entry.verified_at else "?"
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

    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stderr, stdout
    from reprise.repository.catalog import list_backups, list_problems
    from reprise.repository.drift import uncatalogued_local

    loaded, store = open_state(ctx)
    try:
        entries = list_backups(store, service=service)
        problems = [
            entry
            for entry in list_problems(store)
            if service is None or (entry.claimed or {}).get("service") == service
        ]
        missing = uncatalogued_local(loaded.plan, store)
    finally:
        store.close()
    for found in missing:  # on stderr: the JSON on stdout keeps its shape
        shown = ", ".join(found.folders[:3]) + (" …" if len(found.folders) > 3 else "")
        stderr().print(
            f"note: repository {found.repository} holds {len(found.folders)} "
            f"complete-looking backup(s) the catalog lacks ({shown}): run "
            f"`reprise repo reindex {found.repository}` to verify and list them",
            markup=False,
            highlight=False,
        )
    if json:
        print_json(
            [{**entry.to_dict(), "problem": None} for entry in entries]
            + [entry.to_dict() for entry in problems]
        )
        return
    table = Table(title=f"Backups ({len(entries)})", title_justify="left")
    for column in (
        "ID",
        "Service",
        "Source",
        "Time (UTC)",
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
            manifest.finished_at.strftime("%Y-%m-%d %H:%M:%S"),
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
            f"{problem.since:%Y-%m-%d %H:%M:%S}",
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
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stdout
    from reprise.repository.catalog import find_backup

    _loaded, store = open_state(ctx)
    try:
        entry = find_backup(store, backup_id)
    finally:
        store.close()
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
        f"  {manifest.started_at:%Y-%m-%d %H:%M:%S} → "
        f"{manifest.finished_at:%H:%M:%S} UTC ({manifest.duration:.1f} s) "
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
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json
    from reprise.errors import EXIT_VERIFICATION_FAILED, OperationError, RepriseError
    from reprise.repository import keys as keyring
    from reprise.repository import open_repository
    from reprise.repository.admin import trust_warnings
    from reprise.repository.catalog import find_backup, list_backups, list_problems
    from reprise.repository.drift import uncatalogued
    from reprise.repository.verify import budget_selection, leftovers, verify_and_record

    fraction = _budget(budget) if budget else None
    if backup_id is None and not all_ and fraction is None:
        raise typer.BadParameter("give an ID, --all or --budget", param_hint="ID")
    if backup_id is not None and (all_ or fraction is not None):
        raise typer.BadParameter("an ID cannot be combined with --all or --budget", param_hint="ID")
    loaded, store = open_state(ctx)
    plan = loaded.plan
    identities = keyring.identities(plan.keys) if deep else None
    outcomes = []
    incomplete: list[str] = []
    unreachable: list[str] = []
    warnings: list[str] = []
    problems = []
    try:
        if backup_id is not None:
            entry = find_backup(store, backup_id)
            targets: list[tuple[str, str, str, set[str] | None]] = [
                (entry.repository, entry.manifest.source, entry.backup_id, None)
            ]
        elif fraction is not None:
            selection = budget_selection(store, fraction, deep=deep)
            sources = {
                (entry.repository, entry.backup_id): entry.manifest.source
                for entry in list_backups(store)
            }
            targets = [
                (repo, sources[(repo, bid)], bid, names)
                for (repo, bid), names in sorted(selection.items())
            ]
        else:
            targets = [
                (entry.repository, entry.manifest.source, entry.backup_id, None)
                for entry in list_backups(store)
            ]
        if repository is not None:
            if repository not in plan.repositories:
                raise typer.BadParameter(
                    f"no repository {repository!r} in the plan", param_hint="--repository"
                )
            targets = [target for target in targets if target[0] == repository]
        repositories = {
            name: open_repository(plan, name) for name in {target[0] for target in targets}
        }
        if all_ or fraction is not None:
            used = {
                source.repository for service in plan.services for source in service.backups
            } | set(repositories)
            if repository is not None:
                used = {repository}
            for name in sorted(used):
                opened = repositories.setdefault(name, open_repository(plan, name))
                try:
                    incomplete += [opened.where(folder.prefix) for folder in leftovers(opened)]
                    warnings += trust_warnings(store, opened)
                    warnings += [
                        f"{name}: {folder} is complete-looking but not in the "
                        f"catalog, so it was not verified: run `reprise repo "
                        f"reindex {name}`"
                        for folder in uncatalogued(store, opened).folders
                    ]
                except RepriseError as error:
                    unreachable.append(f"{name}: {error.message}")
            problems = [
                entry
                for entry in list_problems(store, repository=repository)
                if entry.repository in used
            ]
        with progress.byte_bars(progress.wanted(json)) as bars:
            for repo_name, source, bid, names in targets:
                outcomes.append(
                    verify_and_record(
                        store,
                        repositories[repo_name],
                        source,
                        bid,
                        deep=deep,
                        identities=identities,
                        only_parts=names,
                        progress=lambda key, size: bars(key.rsplit("/", 1)[-1], size),
                    )
                )
    finally:
        store.close()
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if json:
        print_json(
            {
                "ok": not failed and not problems,
                "deep": deep,
                "backups": [o.to_dict() for o in outcomes],
                "problems": [entry.to_dict() for entry in problems],
                "incomplete": incomplete,
                "unreachable": unreachable,
                "warnings": warnings,
            }
        )
        if failed or problems:
            raise typer.Exit(EXIT_VERIFICATION_FAILED)
        if unreachable:
            raise typer.Exit(EXIT_FAILED)
        return
    _print_outcomes(outcomes, incomplete, deep)
    _print_problems(problems, warnings)
    if problems and not failed:
        from reprise.errors import VerificationError

        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise VerificationError(
            f"{first.source}/{first.backup_id} in {first.repository} is {first.problem}: "
            f"{first.detail}{more}",
            hint="examine it, then remove it with `reprise backup forget ID` (add "
            "--delete to remove its folder too)",
        )
    if unreachable and not failed:
        raise OperationError(
            "could not list repository " + "; ".join(unreachable),
            hint="the backups listed above were checked; fix access to "
            "this repository and run again",
        )
    if failed:
        from reprise.errors import VerificationError

        more = f" (and {len(failed) - 1} more backup(s))" if len(failed) > 1 else ""
        raise VerificationError(
            f"verification failed: {failed[0].problems[0]}{more}",
            hint=failed[0].hint
            or "use another backup; find out who or what altered the repository",
        )


def _print_outcomes(outcomes: list[Any], incomplete: list[str], deep: bool) -> None:
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


def _print_problems(problems: list[Any], warnings: list[str]) -> None:
    from reprise.cli.output import stderr, stdout

    console = stdout()
    for entry in problems:
        console.print(
            f"[red]✗ {entry.problem}:[/] {entry.source} {entry.backup_id} "
            f"({entry.repository}, since {entry.since:%Y-%m-%d %H:%M}): "
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
    from reprise.cli.context import open_state, who
    from reprise.cli.output import print_json, stdout
    from reprise.repository.admin import forget

    loaded, store = open_state(ctx)
    try:
        result = forget(loaded.plan, store, backup_id, delete_folder=delete, by=who(by))
    finally:
        store.close()
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

    from reprise.backup.prune import prune
    from reprise.cli.context import open_state
    from reprise.cli.output import print_json, stdout
    from reprise.cli.values import duration_option
    from reprise.errors import OperationError

    grace_period = duration_option("--grace", grace)
    problem_period = duration_option("--problem-grace", problem_grace)
    loaded, store = open_state(ctx)
    try:
        result = prune(
            loaded.plan,
            store,
            dry_run=dry_run,
            grace=grace_period,
            problem_grace=problem_period,
            repository=repository,
        )
    finally:
        store.close()
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
    if result.unreachable:
        raise OperationError(
            "not pruned, unreachable: "
            + "; ".join(f"{name} ({why})" for name, why in sorted(result.unreachable.items())),
            hint="the other repositories were pruned; fix access and run again, or "
            "--repository NAME for one",
            retryable=True,
        )

"""``reprise doctor``: check an installation end to end, as ``pgbackrest check`` does, with
a stable id and a fix for each check (docs/doctor.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from reprise.errors import EXIT_FAILED

if TYPE_CHECKING:
    from reprise.usecases.doctor import DoctorReport

MARKS = {"ok": "[green]✔[/]", "warn": "[yellow]![/]", "fail": "[bold red]✘[/]", "skip": "[dim]–[/]"}


def doctor_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Run only this check, or this family (`wal`, `repository`); repeatable."
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds to wait for a switched WAL segment in the repository."
        ),
    ] = 60.0,
) -> None:
    """Check this installation end to end; exit 1 listing every failing check id.

    PostgreSQL client and server versions, the archive_command really archiving a switched
    segment, the server's user able to run `wal push`, repositories writable, keys present
    and matching, file modes, free space, clock skew, the service. Verdicts: ok, warn, fail,
    skip (does not apply here, with why). Each check's id and fix: docs/doctor.md.
    """
    from contextlib import ExitStack

    from reprise.cli.context import load
    from reprise.errors import PlanError, RepriseError
    from reprise.usecases.doctor import (
        DoctorRequest,
        doctor_needs_store,
        refused_plan,
        run_doctor,
    )

    request = DoctorRequest(tuple(only or ()), timeout)
    try:
        loaded = load(ctx, contacts=False)
    except PlanError as error:
        report = refused_plan(error, request)
    else:
        with ExitStack() as stack:
            store = None
            if doctor_needs_store(loaded, request):
                from reprise.usecases.state import open_state

                try:
                    store = stack.enter_context(open_state(loaded))
                except RepriseError:
                    store = None  # the checks that read it say they were skipped
            report = run_doctor(loaded, store, request)
    _show(report, json)
    if report.failing:
        raise typer.Exit(EXIT_FAILED)


def _show(report: DoctorReport, json: bool) -> None:
    from reprise.cli.output import print_json, stderr, stdout

    failing = report.failing
    if json:
        print_json(report.rendered())
        if failing:
            stderr().print(report.heading("failing", ids=", ".join(failing)))
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=True)
    for key in ("column.check", "column.verdict", "column.detail"):
        table.add_column(report.heading(key), overflow="fold")
    for item in report.rendered():
        detail = escape(item["detail"] or "")
        if item["fix"]:
            detail += f"\n[bold]{escape(report.heading('fix'))}[/] {escape(item['fix'])}"
        verdict = f"{MARKS[item['status']]} {report.heading('status.' + item['status'])}"
        table.add_row(f"{escape(item['title'])}\n[dim]{item['id']}[/]", verdict, detail)
    out = stdout()
    out.print(table)
    counts = {status: sum(1 for c in report.checks if c.status == status) for status in MARKS}
    out.print(report.heading("summary", **counts))
    if failing:
        out.print(f"[bold red]{escape(report.heading('failing', ids=', '.join(failing)))}[/]")

"""``reprise audit``: the plan's promises measured now against their objectives, with a
compliance report; ``audit list`` and ``audit show ID`` read the stored ones."""

from __future__ import annotations

from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from reprise.cli.context import ByOption

if TYPE_CHECKING:
    from collections.abc import Iterator


class _RunByDefault(TyperGroup):
    """``reprise audit`` and ``reprise audit --quick`` mean ``audit run …``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=False,
    help="Compliance audit: `reprise audit` measures every promise of the plan now and writes "
    "a ✅/❌ report; `reprise audit list` and `reprise audit show ID` read the stored ones.",
)


class Format(StrEnum):
    """Report formats."""

    md = "md"
    html = "html"
    json = "json"


class Language(StrEnum):
    """Report languages."""

    fr = "fr"
    en = "en"


JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
FormatOption = Annotated[
    Format | None, typer.Option("--format", help="Report format (default: md).")
]
LangOption = Annotated[
    Language | None, typer.Option("--lang", help="Report language (default: the plan's).")
]


@contextmanager
def _display(enabled: bool, language: str, zone: str) -> Iterator[tuple[Any, Any]]:
    """A Rich display on a terminal: a spinner on the item being measured, byte bars for
    the fresh backup's and the drill's parts, a ✅/❌ line for each item done. Yields the
    item callback and the byte-bar factory (both None when not shown)."""
    if not enabled:
        yield None, None
        return
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        ProgressColumn,
        SpinnerColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    from reprise.cli.output import stderr
    from reprise.usecases.audit import MARKS, word

    class Bytes(ProgressColumn):
        """Bytes done (and the size, when known) for the part bars only."""

        download = DownloadColumn()

        def render(self, task: Task) -> Text:
            return self.download.render(task) if task.fields.get("bytes") else Text("")

    display = RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        Bytes(),
        TimeElapsedColumn(),
        console=stderr(),
    )
    tasks: dict[str, Any] = {}

    def show(item_id: str, title: Any, item: Any) -> None:
        label = escape(word(title, language, zone))
        if item is None:
            tasks[item_id] = display.add_task(label, total=None)
            return
        display.remove_task(tasks.pop(item_id))
        measured = word(item.measured, language, zone)
        display.console.print(
            f"{MARKS[item.status]} {label}" + (f" — {escape(measured)}" if measured else "")
        )

    @contextmanager
    def bar(label: str, extra: str | int) -> Iterator[Any]:
        total = extra if isinstance(extra, int) else None
        description = escape(label if isinstance(extra, int) else f"{label} {extra}")
        task = display.add_task(f"  {description}", total=total, bytes=True)

        def advance(count: int) -> None:
            display.advance(task, count)

        try:
            yield advance
        finally:
            display.remove_task(task)

    with display:
        yield show, bar


@app.command("run")
def run_command(
    ctx: typer.Context,
    service: Annotated[
        str | None, typer.Option("--service", help="Audit only this service.")
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Skip the slow items: the fresh backup and the drill.")
    ] = False,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Skip the fresh backup (throughput item).")
    ] = False,
    page: Annotated[
        bool,
        typer.Option("--page", help="Also send the channel test to the roles' contacts (on-call)."),
    ] = False,
    json: JsonOption = False,
    format_: FormatOption = None,
    lang: LangOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
    by: ByOption = None,
) -> None:
    """Measure every promise of the plan now against its objective and write the compliance
    report (✅/❌ per item, value measured, objective, what to do about each ❌).

    Per service: its checks pass now; the newest verified backup is within the RPO; a fresh
    backup's throughput against the previous ones; a drill into a scratch PostgreSQL (RTO
    and integrity); the WAL archive and PITR window. Plan-wide: repository verification
    within a budget, the scheduler, the alert channels (the test contacts; on-call only
    with --page) and the security checklist. The audit is stored (`reprise audit list`).
    Exit 0 compliant, 3 not compliant, 1 could not run, 2 bad input.
    """
    from reprise.cli import progress
    from reprise.cli.context import plan_state, who
    from reprise.cli.output import stdout
    from reprise.usecases.audit import AuditRequest, audit, render_report
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        plan = loaded.plan
        request = AuditRequest(
            loaded.path,
            service=service,
            quick=quick,
            no_backup=no_backup,
            page=page,
            language=lang.value if lang else None,
            by=who(by),
        )
        language = request.language or plan.organisation.language
        with _display(progress.wanted(json), language, plan.organisation.timezone) as shown:
            show, bars = shown
            outcome = audit(
                plan, store, request, progress=show, bytes_progress=bars, part_progress=bars
            )
    fmt = "json" if json else (format_.value if format_ else "md")
    text = outcome.report if fmt == "md" else render_report(plan, outcome.audit, fmt)
    if output is not None:
        from reprise.security import write_private_file

        write_private_file(output, text.encode("utf-8"))
        written = say(language, "audit.written", path=str(output), id=outcome.audit.id)
        stdout().print(written, markup=False)
    else:
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


@app.command("list")
def list_command(ctx: typer.Context, json: JsonOption = False) -> None:
    """Stored audits, newest first: when, result, counts of ✅ and ❌."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import local_time, print_json, stdout
    from reprise.usecases.audit import list_stored

    with plan_state(ctx) as (loaded, store):
        found = list_stored(store)
    zone = loaded.plan.organisation.timezone
    if json:
        print_json(
            [
                {
                    "id": one.id,
                    "started_at": one.started_at.isoformat(),
                    "finished_at": one.finished_at.isoformat(),
                    "seconds": round(one.seconds, 3),
                    "result": one.result,
                    "quick": one.quick,
                    "services": one.services,
                    "language": one.language,
                    "by": one.by,
                    "ok": one.count("ok"),
                    "failed": one.count("failed"),
                    "failed_items": [item.id for item in one.failed],
                }
                for one in found
            ]
        )
        return
    table = Table(title=f"Audits ({len(found)})", title_justify="left")
    for column in ("ID", "Started", "Duration", "Services", "Quick", "✅", "❌", "Result"):
        table.add_column(column)
    for one in found:
        style = "green" if one.result == "compliant" else "red"
        table.add_row(
            str(one.id),
            local_time(zone, one.started_at),
            f"{one.seconds:.0f} s",
            ", ".join(one.services),
            "yes" if one.quick else "no",
            str(one.count("ok")),
            str(one.count("failed")),
            f"[{style}]{one.result}[/]",
        )
    stdout().print(table)


@app.command("show")
def show_command(
    ctx: typer.Context,
    audit_id: Annotated[int, typer.Argument(metavar="ID", help="The audit's id.")],
    format_: FormatOption = None,
    lang: LangOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
) -> None:
    """A stored audit's report (md, html or json; in its language or another)."""
    import sys

    from reprise.cli.context import plan_state
    from reprise.usecases.audit import ShowRequest, show_stored

    with plan_state(ctx) as (loaded, store):
        _found, text = show_stored(
            loaded.plan,
            store,
            ShowRequest(audit_id, format_.value if format_ else "md", lang.value if lang else None),
        )
    if output is not None:
        from reprise.security import write_private_file

        write_private_file(output, text.encode("utf-8"))
        return
    sys.stdout.write(text)
    sys.stdout.flush()

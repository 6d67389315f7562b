"""``reprise sla``: uptime, outages, RPO achieved and RTO measured over a period, against
the plan's objectives (the seed's METRICS.md as a command)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    """Report formats."""

    md = "md"
    html = "html"


class Language(StrEnum):
    """Report languages."""

    fr = "fr"
    en = "en"


def sla_command(
    ctx: typer.Context,
    period: Annotated[
        str | None, typer.Option("--period", help="A calendar month, YYYY-MM (default: this one).")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD), with --to.")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, included (YYYY-MM-DD).")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Only this service (repeatable).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Machine-readable figures.")] = False,
    format_: Annotated[
        Format | None,
        typer.Option("--format", help="Print the report in this format (md or html)."),
    ] = None,
    lang: Annotated[
        Language | None, typer.Option("--lang", help="Report language (default: the plan's).")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file.")
    ] = None,
) -> None:
    """Uptime, outages, MTTR/MTBF, RPO achieved and RTO measured over a period, per service
    and for the whole plan, each against its objective ✅/❌, with the incidents of the
    period and the trend of the last 12 months (a chart in the HTML report).

    Maintenance windows are left out of the measured time; time without check results is
    shown apart, never counted as up. Exit 0 whatever the verdict (`reprise audit` is the
    check that fails); 2 for a bad period or service.
    """
    import sys

    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.sla import SlaRequest, sla_figures, sla_report
    from reprise.words import say

    with plan_state(ctx) as (loaded, store):
        plan = loaded.plan
        figures = sla_figures(
            plan, store, SlaRequest(period=period, start=start, end=end, services=service)
        )
    if json:
        print_json(figures.to_dict())
        return
    language = lang.value if lang else plan.organisation.language
    fmt = format_.value if format_ else ("html" if output and output.suffix == ".html" else "md")
    text = sla_report(plan, figures, fmt, language)
    if output is not None:
        from reprise.security import write_private_file

        write_private_file(output, text.encode("utf-8"))
        stdout().print(say(language, "sla.written", path=str(output)), markup=False)
    elif format_ is None and sys.stdout.isatty():
        from rich.markdown import Markdown

        stdout().print(Markdown(text))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()

"""Pages rendered on the server with Jinja2 (autoescaped): the words of the page's
language, times in the plan's time zone with its abbreviation, durations and percentages
as people read them in that language."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from reprise import __version__
from reprise.plan.redaction import redact_text
from reprise.words import words
from reprise.words.format import duration, number, percent, size, when

if TYPE_CHECKING:
    from fastapi import Request

    from reprise.web.auth import Who
    from reprise.web.site import Site


@functools.cache
def environment() -> Environment:
    """The templates shipped in the package."""
    env = Environment(
        loader=PackageLoader("reprise.web", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["redact"] = redact_text  # passwords in URLs, tokens of contact URLs
    return env


def language_of(request: Request) -> str:
    """The page's language: the person's choice, else the plan's."""
    session = getattr(request.state, "session", None)
    chosen = session.language if session is not None else None
    site: Site = request.app.state.site
    return chosen or site.language


class Formats:
    """Formatting for one page: language and time zone fixed."""

    def __init__(self, language: str, zone: str, now: datetime) -> None:
        self.language, self.zone, self.now = language, zone, now

    def time(self, value: datetime | None) -> str:
        """A moment in the plan's zone, labelled (26/11/2026 12:34 CET)."""
        if value is None:
            return "—"
        return when(value, self.language, self.zone, zone=True)

    def iso(self, value: datetime | None) -> str:
        """The machine-readable form, for <time datetime>."""
        return "" if value is None else value.isoformat()

    def ago(self, value: datetime | None) -> str:
        """How long ago."""
        if value is None:
            return "—"
        return duration(max(self.now - value, timedelta(0)), self.language)

    def duration(self, value: float | timedelta | None) -> str:
        """A duration for people."""
        return duration(value, self.language, none="—")

    def percent(self, value: float | None, digits: int = 2) -> str:
        """A percentage, or a dash."""
        return "—" if value is None else percent(value, self.language, digits)

    def number(self, value: float, digits: int | None = None) -> str:
        """A number in the language's form."""
        return number(value, self.language, digits)

    def bars(self, days: Any, label: str, title: str, none: str, every_title: bool) -> Any:
        """The 90-day bar of a service (see ``charts.day_bars``)."""
        from reprise.web.charts import day_bars

        return day_bars(days, label, title, none, self.language, every_title=every_title)

    def size(self, value: int | None) -> str:
        """A size in binary units."""
        return "—" if value is None else size(value, self.language)


def page(
    request: Request,
    template: str,
    who: Who | None,
    status_code: int = 200,
    /,
    **context: Any,
) -> HTMLResponse:
    """Render a page of the app (the layout gets the person, the CSRF token, the words)."""
    site: Site = request.app.state.site
    language = language_of(request)
    session = getattr(request.state, "session", None)
    flash = None
    if session is not None and session.flash:
        flash, session.flash = session.flash, None
        session.changed = True
    html = (
        environment()
        .get_template(template)
        .render(
            t=words(language, "web"),
            lang=language,
            who=who,
            csrf=session.csrf if session is not None else "",
            fmt=Formats(language, site.plan.organisation.timezone, site.clock()),
            organisation=site.plan.organisation.name,
            version=__version__,
            path=request.url.path,
            flash=flash,
            public_status=bool(site.plan.status_page.services),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)


class RedactedJSON(JSONResponse):
    """The API's answers with the same masking as the pages (check messages and run errors
    may quote a URL with a password)."""

    def render(self, content: Any) -> bytes:
        """JSON, then masked (the patterns never match across a JSON string's quotes)."""
        return redact_text(super().render(content).decode()).encode()

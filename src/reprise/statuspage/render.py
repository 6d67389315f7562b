"""The public status page as HTML: a standalone page (it does not share the signed-in
app's layout), its words from the catalog, every value escaped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from reprise.plan.model import Plan
from reprise.statuspage.model import DayBar, PublicService, PublicStatus
from reprise.words import words
from reprise.words.format import day, percent, when

TEMPLATE = "status.html.j2"


def render_status_page(plan: Plan, status: PublicStatus) -> str:
    """The page's HTML, in the language ``status`` was gathered in, times in the plan's
    time zone."""
    language = status.language
    t = words(language, "status_page")
    zone = plan.organisation.timezone

    def moment(value: datetime) -> str:
        return when(value, language, zone, zone=True)

    def bar_title(bar: DayBar) -> str:
        return day_title(bar, t, language)

    def uptime(service: PublicService) -> str:
        value = service.uptime_percent
        if value is None:
            return t["uptime_none"]
        return t["uptime"].format(percent=percent(_floor(value), language))

    template = _environment().get_template(TEMPLATE)
    return template.render(
        page=status,
        t=t,
        lang=language,
        when=moment,
        bar_title=bar_title,
        uptime=uptime,
    )


def day_title(bar: DayBar, t: Mapping[str, str], language: str) -> str:
    """What a day of the bar says on hover: the date and the share of the time down."""
    shown = day(bar.day, language)
    share = bar.down_share
    if share is None:
        key = "day_maintenance" if bar.maintenance > 0 else "day_no_data"
        return t[key].format(day=shown, colon=t["colon"])
    if bar.down_seconds <= 0:
        return t["day_up"].format(day=shown, colon=t["colon"])
    return t["day_down"].format(
        day=shown, colon=t["colon"], share=percent(_ceil(100 * share), language)
    )


def _floor(value: float) -> float:
    """Uptime shown with two decimals, never rounded up to a better figure (99.999 → 99.99)."""
    return int(value * 100) / 100


def _ceil(value: float) -> float:
    """A share down with two decimals, never rounded down to nothing (0.001 → 0.01)."""
    scaled = value * 100
    return (int(scaled) + (1 if scaled > int(scaled) else 0)) / 100


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=_loader(),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _loader() -> BaseLoader:
    """The web package's templates; their folder directly while that package has no
    ``__init__`` yet."""
    try:
        return PackageLoader("reprise.web", "templates")
    except (ModuleNotFoundError, ValueError):
        return FileSystemLoader(Path(__file__).resolve().parent.parent / "web" / "templates")

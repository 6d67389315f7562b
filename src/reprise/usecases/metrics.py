"""The Prometheus page (``/metrics``): what the plan promises and what the state measured,
in the text exposition format."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from reprise import __version__
from reprise.metrics import read_state, render, results_window

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

__all__ = ["metrics_page"]


def metrics_page(plan: Plan, store: Store, now: datetime) -> tuple[bytes, str]:
    """The body of a scrape and its content type (``CONTENT_TYPE_LATEST``)."""
    ids = [service.id for service in plan.services]
    readings = read_state(store, ids, results_window(plan), now)
    return render(plan, readings, now, __version__)

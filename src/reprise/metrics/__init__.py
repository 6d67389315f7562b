"""Prometheus metrics: the state read in a few grouped queries (:mod:`.readings`), exposed
in the text format by a prometheus-client collector (:mod:`.exposition`). The web serves
them at ``/metrics`` through :func:`reprise.usecases.metrics.metrics_page`."""

from __future__ import annotations

from reprise.metrics.exposition import RepriseCollector, render, results_window, safe_label
from reprise.metrics.readings import Readings, read_state

__all__ = ["Readings", "RepriseCollector", "read_state", "render", "results_window", "safe_label"]

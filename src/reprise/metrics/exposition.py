"""The Prometheus metrics of Reprise: a collector over one reading of the state, rendered
in the text exposition format by prometheus-client.

Names follow Prometheus conventions (base units, ``_total`` counters, ``_timestamp_seconds``
for moments). Labels carry only the plan's identifiers (service, source, job, priority) and
check names stripped of URL credentials and query strings: never a DSN, a password or a
contact. The metric list is documented in docs/metrics.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from reprise.metrics.readings import Readings
from reprise.plan.checks import Check
from reprise.plan.model import Plan, Service
from reprise.probes.run import service_checks

STATES = ("up", "degraded", "down", "unknown")
"""The one-hot values of ``reprise_service_state``; any other state counts as unknown."""
UP_VALUE = {"up": 1.0, "degraded": 1.0, "down": 0.0}
"""``_up`` gauges: a degraded service still answers."""
PRIORITIES = ("P1", "P2", "P3")

FRESH_AT_LEAST = timedelta(minutes=5)
FRESH_AT_MOST = timedelta(hours=1)


def freshness(check: Check) -> timedelta:
    """How long a check's newest result is reported: twice its interval, within
    [5 min, 1 h]. Older, it is stale (the monitor stopped) and its samples are absent."""
    return min(max(2 * check.interval, FRESH_AT_LEAST), FRESH_AT_MOST)


def results_window(plan: Plan) -> timedelta:
    """How far back check results are read: the longest freshness of the plan's checks."""
    return max(
        (freshness(check) for service in plan.services for check in service.checks),
        default=FRESH_AT_LEAST,
    )


_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?:[^\s@?#]*@)?(?P<rest>[^?#\s]*)\S*")


def safe_label(text: str) -> str:
    """A check name fit for a label: a URL in it loses its user, password, query string
    and fragment (where tokens hide); the rest of the name is kept as written."""
    return _URL.sub(r"\g<scheme>\g<rest>", text)


def check_labels(service: Service) -> list[str]:
    """The ``check`` label of each of the service's checks, in order: its safe name,
    numbered (``#2``) when two names become one once their URLs are stripped."""
    labels: list[str] = []
    for name, _check in service_checks(service):
        label, number = safe_label(name), 1
        while label in labels:
            number += 1
            label = f"{safe_label(name)} #{number}"
        labels.append(label)
    return labels


@dataclass(frozen=True, eq=False)  # registered by identity: the plan is not hashable
class RepriseCollector(Collector):
    """The metrics of one scrape: the plan's services against one reading of the state."""

    plan: Plan
    readings: Readings
    now: datetime
    version: str

    def collect(self) -> Iterator[Metric]:
        """Every metric family, in a stable order."""
        yield InfoMetricFamily("reprise", "Reprise version.", value={"version": self.version})
        yield from self._services()
        yield from self._checks()
        yield from self._backups()
        yield from self._objectives()
        yield from self._drills()
        yield from self._alerts()
        yield from self._jobs()
        yield from self._heartbeat()
        yield from self._wal()
        yield from self._spools()

    def _age(self, moment: datetime) -> float:
        return (self.now - moment).total_seconds()

    def _services(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "reprise_service_up",
            "1 when the service is up or degraded, 0 when down (absent when unknown).",
            labels=["service", "priority"],
        )
        state = GaugeMetricFamily(
            "reprise_service_state",
            "Current state of the service, one-hot (up, degraded, down, unknown).",
            labels=["service", "state"],
        )
        for service in self.plan.services:
            current = self.readings.states.get(service.id, "unknown")
            current = current if current in STATES else "unknown"
            if current in UP_VALUE:
                up.add_metric([service.id, service.effective_priority], UP_VALUE[current])
            for name in STATES:
                state.add_metric([service.id, name], 1.0 if name == current else 0.0)
        yield up
        yield state

    def _checks(self) -> Iterator[Metric]:
        def limit(check: Check) -> float:
            return freshness(check).total_seconds()

        latency = GaugeMetricFamily(
            "reprise_check_latency_seconds",
            "Latency of the check's newest result.",
            labels=["service", "check"],
        )
        up = GaugeMetricFamily(
            "reprise_check_up",
            "1 when the check's newest result is up or degraded, 0 when down.",
            labels=["service", "check"],
        )
        for service in self.plan.services:
            for (name, check), label in zip(
                service_checks(service), check_labels(service), strict=True
            ):
                reading = self.readings.checks.get((service.id, name))
                if reading is None or self.now.timestamp() - reading.at > limit(check):
                    continue
                labels = [service.id, label]
                if reading.latency is not None:
                    latency.add_metric(labels, reading.latency)
                if reading.state in UP_VALUE:
                    up.add_metric(labels, UP_VALUE[reading.state])
        yield latency
        yield up

    def _backups(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "reprise_backup_last_success_timestamp_seconds",
            "When the source's newest complete backup finished.",
            labels=["service", "source"],
        )
        size = GaugeMetricFamily(
            "reprise_backup_last_size_bytes",
            "Stored (compressed, encrypted) size of the source's newest backup.",
            labels=["service", "source"],
        )
        duration = GaugeMetricFamily(
            "reprise_backup_last_duration_seconds",
            "How long the source's newest backup took.",
            labels=["service", "source"],
        )
        for source, reading in sorted(self.readings.backups.items()):
            labels = [reading.service, source]
            success.add_metric(labels, reading.finished_at.timestamp())
            size.add_metric(labels, float(reading.stored_size))
            duration.add_metric(labels, reading.duration)
        yield success
        yield size
        yield duration

    def _objectives(self) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "reprise_restore_point_age_seconds",
            "Age of the newest verified backup (+Inf when none is verified).",
            labels=["service"],
        )
        rpo = GaugeMetricFamily(
            "reprise_rpo_objective_seconds", "RPO objective of the plan.", labels=["service"]
        )
        rto = GaugeMetricFamily(
            "reprise_rto_objective_seconds", "RTO objective of the plan.", labels=["service"]
        )
        for service in self.plan.services:
            rto.add_metric([service.id], self.plan.rto(service).total_seconds())
            if not service.backups:
                continue
            rpo.add_metric([service.id], self.plan.rpo(service).total_seconds())
            point = self.readings.restore_points.get(service.id)
            age.add_metric([service.id], float("inf") if point is None else self._age(point))
        yield age
        yield rpo
        yield rto

    def _drills(self) -> Iterator[Metric]:
        rto = GaugeMetricFamily(
            "reprise_drill_last_rto_seconds",
            "RTO achieved by the service's latest restore drill.",
            labels=["service"],
        )
        success = GaugeMetricFamily(
            "reprise_drill_last_success",
            "1 when the service's latest restore drill passed, else 0.",
            labels=["service"],
        )
        moment = GaugeMetricFamily(
            "reprise_drill_last_timestamp_seconds",
            "When the service's latest restore drill finished.",
            labels=["service"],
        )
        for service in self.plan.services:
            reading = self.readings.drills.get(service.id)
            if reading is None:
                continue
            if reading.rto_seconds is not None:
                rto.add_metric([service.id], reading.rto_seconds)
            success.add_metric([service.id], 1.0 if reading.passed else 0.0)
            moment.add_metric([service.id], reading.finished_at.timestamp())
        yield rto
        yield success
        yield moment

    def _alerts(self) -> Iterator[Metric]:
        alerts = GaugeMetricFamily(
            "reprise_alerts_open", "Alerts not resolved yet.", labels=["priority"]
        )
        counts = self.readings.alerts_open
        for priority in sorted(set(PRIORITIES) | set(counts)):
            alerts.add_metric([priority], float(counts.get(priority, 0)))
        yield alerts
        yield GaugeMetricFamily(
            "reprise_incidents_open",
            "Incidents not closed (exercises left out).",
            value=float(self.readings.incidents_open),
        )

    def _jobs(self) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "reprise_job_runs", "Finished runs of scheduled jobs.", labels=["job", "status"]
        )
        success = GaugeMetricFamily(
            "reprise_job_last_success_timestamp_seconds",
            "When the job last ended well.",
            labels=["job"],
        )
        failure = GaugeMetricFamily(
            "reprise_job_last_failure_timestamp_seconds",
            "When the job last failed, timed out or was lost.",
            labels=["job"],
        )
        for job, reading in sorted(self.readings.jobs.items()):
            for status, count in sorted(reading.runs.items()):
                runs.add_metric([job, status], float(count))
            if reading.last_success is not None:
                success.add_metric([job], reading.last_success.timestamp())
            if reading.last_failure is not None:
                failure.add_metric([job], reading.last_failure.timestamp())
        yield runs
        yield success
        yield failure

    def _heartbeat(self) -> Iterator[Metric]:
        if self.readings.heartbeat is None:
            return  # never started: absent, which `absent()` alerts on
        yield GaugeMetricFamily(
            "reprise_service_heartbeat_age_seconds",
            "Age of the newest heartbeat of a `reprise serve` process.",
            value=self._age(self.readings.heartbeat),
        )

    def _wal(self) -> Iterator[Metric]:
        newest = self.readings.wal_newest
        if not newest:
            return
        family = GaugeMetricFamily(
            "reprise_wal_archive_lag_seconds",
            "Age of the newest WAL segment in the repository (services archiving WAL).",
            labels=["service"],
        )
        for service, moment in sorted(newest.items()):
            family.add_metric([service], self._age(moment))
        yield family

    def _spools(self) -> Iterator[Metric]:
        spools = self.readings.wal_spools
        if not spools:
            return
        families = {
            "files": GaugeMetricFamily(
                "reprise_wal_spool_files",
                "WAL files waiting in an asynchronous spool of this host.",
                labels=["service", "source"],
            ),
            "size": GaugeMetricFamily(
                "reprise_wal_spool_bytes",
                "Bytes of WAL waiting in an asynchronous spool of this host.",
                labels=["service", "source"],
            ),
            "failing": GaugeMetricFamily(
                "reprise_wal_pusher_failing",
                "1 when the spool's pusher failed its last attempt (see `reprise wal spool`).",
                labels=["service", "source"],
            ),
        }
        for source, spool in sorted(spools.items()):
            labels = [spool.service, source]
            families["files"].add_metric(labels, spool.files)
            families["size"].add_metric(labels, spool.size)
            families["failing"].add_metric(labels, 1 if spool.failing else 0)
        yield from families.values()


def render(plan: Plan, readings: Readings, now: datetime, version: str) -> tuple[bytes, str]:
    """The exposition text of one scrape and its content type (a fresh registry each
    time: nothing is kept between scrapes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RepriseCollector(plan, readings, now, version))
    return generate_latest(registry), CONTENT_TYPE_LATEST

"""The live state of every service: each check's confirmed state (after its retries), the
service's state (all / any of its checks), and what its dependencies say about it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from reprise.plan.model import Plan
from reprise.probes.result import SEVERITY, ProbeResult
from reprise.probes.run import check_line, service_checks

BAD = ("down", "degraded")


@dataclass
class CheckState:
    """One check: its confirmed state and its current streak of failures."""

    name: str
    retries: int
    patience: timedelta
    """Longest time from a first failure to a confirmed one: (retries + 1) × interval +
    timeout."""
    period: timedelta = timedelta(0)
    """One check period: interval + timeout (a run begun within an interval has ended)."""
    state: str = "unknown"
    failures: int = 0
    failing_since: datetime | None = None
    last: ProbeResult | None = None
    last_at: datetime | None = None
    started_at: datetime | None = None
    """When the latest run seen began (its result's ``started_at``, else when it was
    observed): a result speaks only for what happened after this moment."""

    def observe(self, result: ProbeResult, at: datetime, *, confirm: bool = False) -> None:
        """Take a result; a failure changes the state only after ``retries`` more (or at
        once with ``confirm``, for a one-shot `reprise status`)."""
        self.last, self.last_at = result, at
        started = result.started_at or at
        self.started_at = started if self.started_at is None else max(self.started_at, started)
        if result.state == "down":
            if self.failures == 0:
                self.failing_since = at
            self.failures += 1
            if confirm or self.failures > self.retries:
                self.state = "down"
        else:
            self.failures, self.failing_since = 0, None
            self.state = result.state

    @property
    def pending(self) -> bool:
        """Failing, but not confirmed yet."""
        return self.failures > 0 and self.state != "down"


def aggregate(states: list[str], rule: str) -> str:
    """A service's state from its checks': the worst (rule all) or the best (rule any);
    unknown while nothing is known."""
    if not states:
        return "unknown"
    if rule == "any":
        known = [state for state in states if state != "unknown"]
        if "up" in known:
            return "up"
        if "degraded" in known:
            return "degraded"
        return "down" if known and len(known) == len(states) else "unknown"
    return max(states, key=lambda state: SEVERITY[state])


class Board:
    """Every service's checks and state, for one plan."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.checks: dict[str, dict[str, CheckState]] = {}
        for service in plan.services:
            self.checks[service.id] = {
                name: CheckState(
                    name,
                    check.retries,
                    check.interval * (check.retries + 1) + check.timeout,
                    check.interval + check.timeout,
                )
                for name, check in service_checks(service)
            }
        self.rules = {service.id: service.check_rule for service in plan.services}
        self.state = {service.id: "unknown" for service in plan.services}
        self.changed_at: dict[str, datetime | None] = {s.id: None for s in plan.services}
        self.ancestors = {service.id: self._ancestors(service.id) for service in plan.services}
        self.dependents = {
            service.id: [
                other.id for other in plan.services if service.id in self.ancestors[other.id]
            ]
            for service in plan.services
        }
        """The services behind each service (directly or through others), in plan order."""

    def _ancestors(self, service_id: str) -> list[str]:
        seen: list[str] = []
        todo = list(self.plan.service(service_id).depends_on)
        while todo:
            current = todo.pop(0)
            if current not in seen:
                seen.append(current)
                todo.extend(self.plan.service(current).depends_on)
        return seen

    def observe(
        self,
        service_id: str,
        check_name: str,
        result: ProbeResult,
        at: datetime,
        *,
        confirm: bool = False,
    ) -> tuple[str, str] | None:
        """Record a result; return (old, new) when the service's state changed."""
        self.checks[service_id][check_name].observe(result, at, confirm=confirm)
        checks = self.checks[service_id]
        if len(checks) == 1:  # the common case, without a list
            new = next(iter(checks.values())).state
        else:
            new = aggregate([check.state for check in checks.values()], self.rules[service_id])
        old = self.state[service_id]
        if new == old:
            return None
        self.state[service_id], self.changed_at[service_id] = new, at
        return old, new

    def failing_since(self, service_id: str) -> datetime | None:
        """When the current failure of the service began (its first failed check run)."""
        moments = [
            check.failing_since
            for check in self.checks[service_id].values()
            if check.failing_since is not None
        ]
        return min(moments) if moments else None

    def failures(self, service_id: str) -> list[str]:
        """``check: message`` for each check that is not up."""
        return [
            check_line(check.name, check.last.message, self.plan.organisation.language)
            for check in self.checks[service_id].values()
            if check.last is not None and check.state != "up"
        ]

    def roots(self, service_id: str) -> list[str]:
        """The failed dependencies at the bottom of the chain (the router, not the VPN
        behind it) — empty when no dependency is down."""
        return [
            dep
            for dep in self.ancestors[service_id]
            if self.state[dep] == "down"
            and not any(self.state[a] == "down" for a in self.ancestors[dep])
        ]

    def impacted(self, service_id: str) -> bool:
        """Failing while a dependency is down: the dependency is the cause."""
        return self.state[service_id] in BAD and bool(self.roots(service_id))

    def impacted_by(self, root_id: str) -> list[str]:
        """Services failing because of ``root_id``."""
        return [
            service.id
            for service in self.plan.services
            if service.id != root_id
            and self.state[service.id] in BAD
            and root_id in self.roots(service.id)
        ]

    def held(self, service_id: str, now: datetime) -> bool:
        """Whether to wait before alerting about a failing service: a dependency is failing
        but not confirmed yet, has not been checked since the service began failing (so
        that a router failure gives one alert, not one per service behind it), or changed
        after the service's last check began (the router just came back).

        Causality goes by when a check began: a dependency's result whose run began before
        the service's failure was seen cannot show the dependency up after that failure,
        and counts neither for nor against it."""
        since = self.failing_since(service_id) or self.changed_at[service_id] or now
        own = [check for check in self.checks[service_id].values() if check.started_at]
        began = max((check.started_at for check in own if check.started_at), default=None)
        patience = max((check.patience for check in own), default=timedelta(0))
        for dep in self.ancestors[service_id]:
            # A dependency that changed (recovered) after our last run began: our failure
            # may be stale; wait for our next run rather than alert on old news.
            changed = self.changed_at[dep]
            if began and changed and changed > began and now - changed <= patience:
                return True
            for check in self.checks[dep].values():
                if now - since > check.patience:
                    continue
                if check.pending or check.started_at is None or check.started_at <= since:
                    return True
        return False

    def awaiting_dependents(self, service_id: str, now: datetime, limit: timedelta) -> bool:
        """Whether a down service's alert should still wait for the services behind it: one
        of them, not known to be failing, has a check not run since the failure began
        (begun at or after it), and that check's period (at most ``limit``) has not passed
        since. Waiting lets the root cause's alert name every one of them with its state."""
        if self.state[service_id] != "down":
            return False
        began = self.failing_since(service_id) or self.changed_at[service_id]
        if began is None:
            return False
        for dep in self.dependents[service_id]:
            if self.state[dep] in BAD:
                continue
            for check in self.checks[dep].values():
                if now - began >= min(limit, check.period):
                    continue
                if check.started_at is None or check.started_at < began:
                    return True
        return False

    def dependent_state(self, root_id: str, service_id: str) -> str:
        """How a service behind ``root_id`` stands since the root's failure began:
        ``down`` or ``degraded`` (confirmed), ``pending`` (failing, or not checked since,
        so not confirmed yet) or ``up`` (checked since and still up)."""
        state = self.state[service_id]
        if state in BAD:
            return state
        began = self.failing_since(root_id) or self.changed_at[root_id]
        checks = self.checks[service_id].values()
        if any(check.pending for check in checks):
            return "pending"
        if state == "up" and (
            began is None
            or all(check.started_at is not None and check.started_at >= began for check in checks)
        ):
            return "up"
        return "pending"

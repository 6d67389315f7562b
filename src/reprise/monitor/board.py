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
    state: str = "unknown"
    failures: int = 0
    failing_since: datetime | None = None
    last: ProbeResult | None = None
    last_at: datetime | None = None

    def observe(self, result: ProbeResult, at: datetime, *, confirm: bool = False) -> None:
        """Take a result; a failure changes the state only after ``retries`` more (or at
        once with ``confirm``, for a one-shot `reprise status`)."""
        self.last, self.last_at = result, at
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
                    name, check.retries, check.interval * (check.retries + 1) + check.timeout
                )
                for name, check in service_checks(service)
            }
        self.state = {service.id: "unknown" for service in plan.services}
        self.changed_at: dict[str, datetime | None] = {s.id: None for s in plan.services}
        self.ancestors = {service.id: self._ancestors(service.id) for service in plan.services}

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
        rule = self.plan.service(service_id).check_rule
        new = aggregate([check.state for check in self.checks[service_id].values()], rule)
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
            check_line(check.name, check.last.message)
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
        after the service's last check (the router just came back)."""
        since = self.failing_since(service_id) or self.changed_at[service_id] or now
        own = [check for check in self.checks[service_id].values() if check.last_at]
        checked = max((check.last_at for check in own if check.last_at), default=None)
        patience = max((check.patience for check in own), default=timedelta(0))
        for dep in self.ancestors[service_id]:
            # A dependency that changed (recovered) after our last run: our failure may be
            # stale; wait for our next run rather than alert on old news.
            changed = self.changed_at[dep]
            if checked and changed and changed > checked and now - changed <= patience:
                return True
            for check in self.checks[dep].values():
                if now - since > check.patience:
                    continue
                if check.pending or check.last_at is None or check.last_at <= since:
                    return True
        return False

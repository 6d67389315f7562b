"""What a probe gets besides its check: the run's shared context and its service."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reprise.probes.http import HttpClients

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store.database import Store


class LoopLag:
    """How late the event loop is: a heartbeat asks to wake every ``period`` seconds and
    notes how much later than asked it woke. A loop starved of CPU (other processes on
    the cores, a blocking call, too many callbacks) wakes late; probes use this to tell a
    timeout caused by the peer from one caused by the monitor itself."""

    def __init__(self, period: float = 0.1, keep: float = 120.0) -> None:
        self.period, self.keep = period, keep
        self.samples: deque[tuple[float, float]] = deque()
        """(loop time of the wake-up, seconds late), the last ``keep`` seconds."""
        self._expected: float | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the heartbeat on the running loop (again after the loop changed)."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._task.get_loop() is loop:
            return
        self.samples.clear()
        self._expected = None
        self._task = loop.create_task(self._beat())

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._expected = loop.time() + self.period
            await asyncio.sleep(self.period)
            now = loop.time()
            self.samples.append((now, max(0.0, now - self._expected)))
            while self.samples and self.samples[0][0] < now - self.keep:
                self.samples.popleft()

    def worst_since(self, since: float) -> float:
        """The largest lag (seconds) seen since loop time ``since``, including the one
        building up now (a heartbeat overdue at this very moment)."""
        if self._task is None or self._task.done():
            return 0.0
        now = self._task.get_loop().time()
        worst = max(0.0, now - self._expected) if self._expected is not None else 0.0
        for woke, lag in reversed(self.samples):
            if woke < since:
                break
            worst = max(worst, lag)
        return worst

    async def aclose(self) -> None:
        """Stop the heartbeat."""
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@dataclass
class ProbeContext:
    """What probes share during one run of the monitor (or of `reprise status`)."""

    plan: Plan
    store: Store | None = None
    http: HttpClients = field(default_factory=HttpClients)
    lag: LoopLag = field(default_factory=LoopLag)
    """The event loop's lag, to judge timeouts (started by the first check run)."""

    @property
    def language(self) -> str:
        """The plan's language, for probe messages ("en" without a plan)."""
        plan: Plan | None = self.plan
        return plan.organisation.language if plan is not None else "en"

    async def aclose(self) -> None:
        """Release shared connections and stop the heartbeat."""
        await self.lag.aclose()
        await self.http.aclose()


@dataclass(frozen=True)
class ProbeRun:
    """One check being run: the shared context and the service the check belongs to."""

    context: ProbeContext
    service_id: str

    @property
    def language(self) -> str:
        """The language the probe speaks in."""
        return self.context.language

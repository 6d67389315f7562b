"""Run one check: pick the probe for its kind, enforce its timeout, never raise.

Whatever happens inside a probe (a timeout, a bug, a library error) becomes a ``down``
result with a message: a monitor must outlive every check it runs. The timeout counts from
the probe's I/O, and a timeout that expired while the monitor itself was starved of CPU is
not taken for the peer's failure (:func:`judge_check`)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from reprise.plan.checks import (
    Check,
    CommandCheck,
)
from reprise.plan.model import Service
from reprise.probes.context import ProbeContext, ProbeRun
from reprise.probes.registry import probe_for
from reprise.probes.result import ProbeResult, down
from reprise.words import say

__all__ = [
    "ProbeContext",
    "check_line",
    "describe_check",
    "judge_check",
    "run_check",
    "service_checks",
]

logger = logging.getLogger(__name__)


def describe_check(check: Check) -> str:
    """A check's display name: its ``name``, else its kind and target."""
    return check.name or check.target()


_COLONS = ("\u202f: ", ": ")
"""How a probe's message follows its target: in French (narrow no-break space), in English."""


def check_line(name: str, message: str, language: str | None = None) -> str:
    """``name: message`` without saying the target twice (``tcp 10.0.0.1:22: connection
    refused``, not ``tcp 10.0.0.1:22: 10.0.0.1:22: connection refused``), with the colon of
    ``language`` (French: ``tcp 10.0.0.1:22\u202f: connexion refusée``); without one, the
    colon the message set after its target, else the English one."""
    target = name.split(" ", 1)[-1]
    colon = say(language, "report.colon") + " " if language else None
    for prefix in (target + after for after in _COLONS):
        if message.startswith(prefix):
            message = message[len(prefix) :]
            colon = colon or prefix[len(target) :]
            break
    return f"{name}{colon or _COLONS[-1]}{message}"


def service_checks(service: Service) -> list[tuple[str, Check]]:
    """The service's checks with unique display names (``#2`` added to repeats)."""
    seen: dict[str, int] = {}
    named: list[tuple[str, Check]] = []
    for check in service.checks:
        name = describe_check(check)
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name} #{seen[name]}", check))
    return named


STARVED_SHARE = 0.25
"""A timeout proves nothing when the event loop lagged by more than this share of it."""


async def judge_check(check: Check, service_id: str, context: ProbeContext) -> ProbeResult | None:
    """Run ``check``: its result, or None when no verdict can be given (monitor overloaded).

    The timeout starts when the probe's I/O starts: the clock is read inside the running
    task, after the concurrency gate, right before the probe's first I/O; ``started_at``
    (UTC) and ``latency`` are measured from that moment, so time spent waiting for the
    CPU or the gate before it never counts.

    The rule for timeouts under load. While the probe runs, a heartbeat
    (:class:`~reprise.probes.context.LoopLag`) measures how late the event loop wakes. A
    ``down`` that took at least three quarters of the timeout is a timeout in effect (the
    runner's own, or a probe's: an HTTP read, a DNS lifetime). It is *starved* when the
    loop's worst lag during the attempt, or the lateness of the timeout itself, exceeded
    ``STARVED_SHARE`` (a quarter) of the timeout: the peer may have answered in time and
    the monitor not been there to read it. A starved timeout is not a finding: the check
    is tried once more at once, with a fresh timeout, and that second attempt's result
    stands (up, degraded, or down when it failed, or timed out with a responsive loop).
    When the second attempt is a starved timeout too, there is no verdict: None (unknown,
    monitor overloaded). An answer that came (a refusal, a wrong status, a quick error)
    always stands, and a starved timeout only leads to another attempt or to no verdict,
    never to ``up`` by itself."""
    result, conclusive = await _judge(check, service_id, context)
    return result if conclusive else None


async def run_check(check: Check, service_id: str, context: ProbeContext) -> ProbeResult:
    """Run ``check`` within its timeout; a failure of any kind is a ``down`` result.

    As :func:`judge_check`, for callers that need a result for every check (a one-shot
    `reprise status`): when no verdict could be given, the last starved timeout is
    returned as it was seen, marked ``details["overloaded"] = True``. The monitor uses
    :func:`judge_check` and records no result then."""
    result, conclusive = await _judge(check, service_id, context)
    if conclusive:
        return result
    return replace(result, details={**result.details, "overloaded": True})


async def _judge(check: Check, service_id: str, context: ProbeContext) -> tuple[ProbeResult, bool]:
    """The result of one attempt, or of a second one after a starved timeout; and whether
    it is a verdict."""
    result, starved = await _attempt(check, service_id, context)
    if not starved:
        return result, True
    logger.info(
        "check %s of %s timed out while the monitor was overloaded; trying again",
        describe_check(check),
        service_id,
    )
    result, starved = await _attempt(check, service_id, context)
    if starved:
        logger.warning(
            "check %s of %s: no verdict, its timeouts expired while the monitor was overloaded",
            describe_check(check),
            service_id,
        )
    return result, not starved


async def _attempt(
    check: Check, service_id: str, context: ProbeContext
) -> tuple[ProbeResult, bool]:
    """One run of the probe: its result, and whether it is a starved timeout."""
    context.lag.start()
    timeout = check.timeout.total_seconds()
    loop = asyncio.get_running_loop()
    started_at = datetime.now(UTC)
    begun = loop.time()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            result = await _probe(check, service_id, context)
    except TimeoutError:
        key = "probe.timeout_command" if isinstance(check, CommandCheck) else "probe.timeout"
        message = say(context.language, key, seconds=f"{timeout:g}")
        result = down(message, time.perf_counter() - started)
    except Exception as error:  # a probe bug must not stop the monitor
        logger.exception("check %s of %s failed unexpectedly", describe_check(check), service_id)
        message = say(context.language, "probe.error", error=f"{type(error).__name__}: {error}")
        result = down(message, time.perf_counter() - started)
    result = replace(result, started_at=started_at)
    elapsed = time.perf_counter() - started
    if result.state != "down" or elapsed < (1 - STARVED_SHARE) * timeout:
        return result, False
    lag = max(context.lag.worst_since(begun), elapsed - timeout)
    if lag <= STARVED_SHARE * timeout:
        return result, False
    return replace(result, details={**result.details, "loop_lag": round(lag, 3)}), True


async def _probe(check: Check, service_id: str, context: ProbeContext) -> ProbeResult:
    return await probe_for(check.kind)(check, ProbeRun(context, service_id))

"""Run one check: pick the probe for its kind, enforce its timeout, never raise.

Whatever happens inside a probe (a timeout, a bug, a library error) becomes a ``down``
result with a message: a monitor must outlive every check it runs."""

from __future__ import annotations

import asyncio
import logging
import time

from reprise.plan.checks import (
    Check,
    CommandCheck,
)
from reprise.plan.model import Service
from reprise.probes.context import ProbeContext, ProbeRun
from reprise.probes.registry import probe_for
from reprise.probes.result import ProbeResult, down
from reprise.words import say

__all__ = ["ProbeContext", "check_line", "describe_check", "run_check", "service_checks"]

logger = logging.getLogger(__name__)


def describe_check(check: Check) -> str:
    """A check's display name: its ``name``, else its kind and target."""
    return check.name or check.target()


def check_line(name: str, message: str) -> str:
    """``name: message`` without saying the target twice (``tcp 10.0.0.1:22: connection
    refused``, not ``tcp 10.0.0.1:22: 10.0.0.1:22: connection refused``)."""
    target = name.split(" ", 1)[-1]
    if message.startswith(f"{target}: "):
        message = message[len(target) + 2 :]
    return f"{name}: {message}"


def service_checks(service: Service) -> list[tuple[str, Check]]:
    """The service's checks with unique display names (``#2`` added to repeats)."""
    seen: dict[str, int] = {}
    named: list[tuple[str, Check]] = []
    for check in service.checks:
        name = describe_check(check)
        seen[name] = seen.get(name, 0) + 1
        named.append((name if seen[name] == 1 else f"{name} #{seen[name]}", check))
    return named


async def run_check(check: Check, service_id: str, context: ProbeContext) -> ProbeResult:
    """Run ``check`` within its timeout; a failure of any kind is a ``down`` result."""
    timeout = check.timeout.total_seconds()
    language = context.language
    started = time.perf_counter()
    try:
        return await asyncio.wait_for(_probe(check, service_id, context), timeout)
    except TimeoutError:
        key = "probe.timeout_command" if isinstance(check, CommandCheck) else "probe.timeout"
        return down(say(language, key, seconds=f"{timeout:g}"), time.perf_counter() - started)
    except Exception as error:  # a probe bug must not stop the monitor
        logger.exception("check %s of %s failed unexpectedly", describe_check(check), service_id)
        return down(
            say(language, "probe.error", error=f"{type(error).__name__}: {error}"),
            time.perf_counter() - started,
        )


async def _probe(check: Check, service_id: str, context: ProbeContext) -> ProbeResult:
    return await probe_for(check.kind)(check, ProbeRun(context, service_id))

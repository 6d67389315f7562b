"""``dns``: a name resolves (through a given resolver), with the expected values."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from reprise.plan.checks import DnsCheck
from reprise.probes.result import ProbeResult, down, up
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_dns(check: DnsCheck, run: ProbeRun) -> ProbeResult:
    """Ask for ``record_type`` of ``lookup`` and compare with ``expect``."""
    import dns.asyncresolver
    import dns.exception
    import dns.resolver

    resolver = dns.asyncresolver.Resolver(configure=check.resolver is None)
    if check.resolver is not None:
        resolver.nameservers = [check.resolver]
        resolver.port = check.resolver_port
    lifetime = check.timeout.total_seconds() * 0.9  # answer before the runner gives up
    language = run.language
    at = (
        say(language, "probe.dns_at", server=f"{check.resolver}:{check.resolver_port}")
        if check.resolver
        else ""
    )
    lookup, record = check.lookup, check.record_type
    started = time.perf_counter()
    try:
        answer = await resolver.resolve(
            check.lookup, check.record_type, lifetime=lifetime, search=False
        )
    except dns.resolver.NXDOMAIN:
        message = say(language, "probe.dns_nxdomain", lookup=lookup, at=at)
        return down(message, time.perf_counter() - started)
    except dns.resolver.NoAnswer:
        message = say(language, "probe.dns_no_record", lookup=lookup, type=record, at=at)
        return down(message, time.perf_counter() - started)
    except dns.exception.Timeout:
        seconds = f"{lifetime:g}"
        message = say(language, "probe.dns_timeout", lookup=lookup, at=at, seconds=seconds)
        return down(message, time.perf_counter() - started)
    except (dns.exception.DNSException, OSError) as error:
        message = say(language, "probe.dns_failed", lookup=lookup, at=at, reason=error)
        return down(message, time.perf_counter() - started)
    latency = time.perf_counter() - started
    values = sorted(_normalise(record.to_text()) for record in answer)
    missing = [value for value in check.expect if _normalise(value) not in values]
    if missing:
        return down(
            say(
                language,
                "probe.dns_missing",
                lookup=lookup,
                type=record,
                missing=", ".join(missing),
                values=", ".join(values),
            ),
            latency,
            values=values,
        )
    return up(
        f"{check.lookup} {check.record_type}: {', '.join(values)[:200]}", latency, values=values
    )


def _normalise(value: str) -> str:
    return value.strip().strip('"').rstrip(".").lower()

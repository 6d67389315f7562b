"""``dns``: a name resolves (through a given resolver), with the expected values."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from reprise.plan.checks import DnsCheck
from reprise.probes.result import ProbeResult, down, up

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_dns(check: DnsCheck, _run: ProbeRun) -> ProbeResult:
    """Ask for ``record_type`` of ``lookup`` and compare with ``expect``."""
    import dns.asyncresolver
    import dns.exception
    import dns.resolver

    resolver = dns.asyncresolver.Resolver(configure=check.resolver is None)
    if check.resolver is not None:
        resolver.nameservers = [check.resolver]
        resolver.port = check.resolver_port
    lifetime = check.timeout.total_seconds() * 0.9  # answer before the runner gives up
    where = f" at {check.resolver}:{check.resolver_port}" if check.resolver else ""
    started = time.perf_counter()
    try:
        answer = await resolver.resolve(
            check.lookup, check.record_type, lifetime=lifetime, search=False
        )
    except dns.resolver.NXDOMAIN:
        return down(f"{check.lookup}: name does not exist{where}", time.perf_counter() - started)
    except dns.resolver.NoAnswer:
        return down(
            f"{check.lookup}: no {check.record_type} record{where}", time.perf_counter() - started
        )
    except dns.exception.Timeout:
        return down(
            f"{check.lookup}: no answer{where} within {lifetime:g} s", time.perf_counter() - started
        )
    except (dns.exception.DNSException, OSError) as error:
        return down(
            f"{check.lookup}: lookup failed{where} ({error})", time.perf_counter() - started
        )
    latency = time.perf_counter() - started
    values = sorted(_normalise(record.to_text()) for record in answer)
    missing = [value for value in check.expect if _normalise(value) not in values]
    if missing:
        return down(
            f"{check.lookup} {check.record_type}: {', '.join(missing)} missing "
            f"(got {', '.join(values)})",
            latency,
            values=values,
        )
    return up(
        f"{check.lookup} {check.record_type}: {', '.join(values)[:200]}", latency, values=values
    )


def _normalise(value: str) -> str:
    return value.strip().strip('"').rstrip(".").lower()

"""``tls``: the certificate served on host:port is valid and not about to expire."""

from __future__ import annotations

import asyncio
import ssl
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import TlsCheck
from reprise.plan.common import address
from reprise.probes.net import close_quietly, describe
from reprise.probes.result import ProbeResult, down, up
from reprise.probes.tlsinfo import (
    certificate_expiry,
    client_context,
    expiry_note,
    expiry_verdict,
)
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_tls(check: TlsCheck, run: ProbeRun) -> ProbeResult:
    """Complete a TLS handshake and judge the certificate's expiry."""
    target = address(check.host, check.port)
    language = run.language
    started = time.perf_counter()
    try:
        _reader, writer = await asyncio.open_connection(
            check.host,
            check.port,
            ssl=client_context(check.verify_tls),
            server_hostname=check.server_name or check.host,
        )
    except (OSError, ssl.SSLError) as error:
        latency = time.perf_counter() - started
        note = (
            await expiry_note(language, check.host, check.port, check.server_name)
            if isinstance(error, ssl.SSLCertVerificationError)
            else ""
        )
        return down(f"{target}: {describe(language, error, target)}{note}", latency)
    try:
        latency = time.perf_counter() - started
        expiry = certificate_expiry(writer.get_extra_info("ssl_object"))
        if expiry is None:
            return down(say(language, "probe.no_certificate", target=target), latency)
        valid = say(language, "probe.cert_valid", target=target, when=f"{expiry:%Y-%m-%d}")
        return expiry_verdict(
            language,
            up(valid, latency),
            expiry,
            check.warn_days,
            check.critical_days,
        )
    finally:
        await close_quietly(writer)

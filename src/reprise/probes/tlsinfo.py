"""TLS for probes: a verifying context by default, the certificate's expiry, and errors in
words. Standard-library clients (and asyncio) only verify when handed such a context."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime

from reprise.probes.result import ProbeResult, degraded, down
from reprise.words import say

_VERIFY_WORDS = {
    9: "probe.tls.not_yet_valid",
    10: "probe.tls.expired",
    18: "probe.tls.self_signed",
    19: "probe.tls.self_signed_chain",
    20: "probe.tls.unknown_issuer",
}
"""OpenSSL verification codes (X509_V_ERR_*) with words in the catalog; the English is
OpenSSL 3's own text, any other code keeps OpenSSL's."""


def client_context(verify: bool) -> ssl.SSLContext:
    """A client context: the system's trust store and host-name check, or none at all."""
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def certificate_expiry(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> datetime | None:
    """When the peer's certificate expires (also readable when verification is off)."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc


def days_left(expiry: datetime, now: datetime | None = None) -> float:
    """Days until ``expiry`` (negative once expired)."""
    return (expiry - (now or datetime.now(UTC))).total_seconds() / 86400


def expiry_verdict(
    language: str,
    result: ProbeResult,
    expiry: datetime | None,
    warn_days: int,
    critical_days: int | None = None,
) -> ProbeResult:
    """``result`` made degraded (or down) when the certificate expires soon or has expired."""
    if expiry is None or result.state == "down":
        return result
    left = days_left(expiry)
    details = {
        **result.details,
        "certificate_expires": expiry.isoformat(),
        "certificate_days_left": round(left, 1),
    }
    when = expiry.strftime("%Y-%m-%d")
    days = f"{left:.0f}"
    if left < 0:
        return down(say(language, "probe.cert_expired", when=when), result.latency, **details)
    if critical_days is not None and left < critical_days:
        message = say(language, "probe.cert_expires", days=days, when=when)
        return down(message, result.latency, **details)
    if left < warn_days:
        return degraded(
            say(language, "probe.cert_expires_soon", message=result.message, days=days, when=when),
            result.latency,
            **details,
        )
    return ProbeResult(result.state, result.message, result.latency, details)


def describe_ssl_error(language: str, error: ssl.SSLError) -> str:
    """An SSL failure in words: why the certificate was refused, when that is the cause."""
    if isinstance(error, ssl.SSLCertVerificationError):
        key = _VERIFY_WORDS.get(error.verify_code)
        reason = say(language, key) if key else error.verify_message or error.reason
        return say(language, "probe.tls_refused", reason=reason)
    return say(language, "probe.tls_failed", reason=error.reason or error)


async def expiry_note(language: str, host: str, port: int, server_name: str | None = None) -> str:
    """After a refused certificate, look at it unverified: "; it also expired on …" when
    it has, so that the operator learns both problems at once ("" otherwise)."""
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                host, port, ssl=client_context(False), server_hostname=server_name or host
            ),
            3,
        )
        try:
            expiry = certificate_expiry(writer.get_extra_info("ssl_object"))
        finally:
            # Not close(): a graceful TLS close outlives the probe's loop, socket open.
            writer.transport.abort()
            await asyncio.sleep(0)
        if expiry is not None and days_left(expiry) < 0:
            return say(language, "probe.cert_also_expired", when=f"{expiry:%Y-%m-%d}")
    return ""

"""``http``: a request returns an expected status, body, JSON value and certificate.

Plain GET/HEAD checks over http:// go to the lean probe (:mod:`reprise.probes.http_lean`,
a tenth of httpx's CPU per request); the others (TLS, credentials, other methods) to
httpx. Both ask for an uncompressed body (``Accept-Encoding: identity``): body_regex and
json_path are matched against the bytes the server sent, so those bytes must be text."""

from __future__ import annotations

import ssl
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import HttpCheck
from reprise.probes.http_lean import LeanPool, fits, probe_http_lean
from reprise.probes.http_verdict import BODY_LIMIT, judge_response
from reprise.probes.net import describe
from reprise.probes.result import ProbeResult, down, slow
from reprise.probes.tlsinfo import certificate_expiry, expiry_note, expiry_verdict
from reprise.words import say

if TYPE_CHECKING:
    import httpx

    from reprise.probes.context import ProbeRun


class HttpClients:
    """Two shared clients (verifying, and not) for every HTTP check of a monitor run: one
    connection pool and one TLS context instead of one per request."""

    def __init__(self) -> None:
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self.lean = LeanPool()
        """Keep-alive connections of the lean probe."""

    def get(self, verify: bool) -> httpx.AsyncClient:
        """The client for this verification setting, created on first use (httpx is
        imported then: a monitor whose HTTP checks all go to the lean probe never loads
        it)."""
        import httpx

        if verify not in self._clients:
            self._clients[verify] = httpx.AsyncClient(
                verify=verify,
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": "reprise-monitor", "Accept-Encoding": "identity"},
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            )
        return self._clients[verify]

    async def aclose(self) -> None:
        """Close every connection."""
        self.lean.close()
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


async def probe_http(check: HttpCheck, run: ProbeRun) -> ProbeResult:
    """The lean probe for a plain GET/HEAD over http://, else httpx."""
    if fits(check):
        return await probe_http_lean(check, run)
    return await probe_httpx(check, run)


async def probe_httpx(check: HttpCheck, run: ProbeRun) -> ProbeResult:
    """Send the request with httpx and judge status, body, JSON value, latency and
    certificate."""
    import httpx

    client = run.context.http.get(check.verify_tls)
    language = run.language
    timeout = check.timeout.total_seconds()
    started = time.perf_counter()
    try:
        async with client.stream(
            check.method, check.url, headers=check.headers, timeout=timeout
        ) as response:
            body = await _read_limited(response)
            latency = time.perf_counter() - started
            stream = response.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream else None
            expiry = certificate_expiry(ssl_object)
    except httpx.TimeoutException:
        message = say(language, "probe.http_no_answer", target=check.url, seconds=f"{timeout:g}")
        return down(message, time.perf_counter() - started)
    except httpx.HTTPError as error:
        latency = time.perf_counter() - started
        chain = _causes(error)
        message = _describe_http(language, error, chain, check.url)
        if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in chain):
            url = httpx.URL(check.url)
            message += await expiry_note(language, url.host, url.port or 443)
        return down(message, latency)
    result = judge_response(language, check, response.status_code, body, latency)
    result = slow(language, result, check.degraded_latency)
    return expiry_verdict(language, result, expiry, check.cert_expiry_days)


async def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_LIMIT:
            break
    return b"".join(chunks)[:BODY_LIMIT]


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it, outermost first."""
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    return chain


def _describe_http(
    language: str, error: httpx.HTTPError, chain: list[BaseException], url: str
) -> str:
    import httpx

    # The useful cause (refused, unresolvable, certificate) is the innermost one.
    for cause in reversed(chain):
        if isinstance(cause, ssl.SSLError):
            return f"{url}: {describe(language, cause, url)}"
        if isinstance(cause, OSError) and cause.errno:
            return describe(language, cause, url)
    if isinstance(error, httpx.ConnectError):
        return say(language, "probe.http_connect", target=url, reason=error)
    return say(language, "probe.failed", target=url, reason=error or type(error).__name__)

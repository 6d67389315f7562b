"""``http``: a request returns an expected status, body, JSON value and certificate."""

from __future__ import annotations

import json
import re
import ssl
import time
from typing import TYPE_CHECKING, Any

import httpx

from reprise.plan.checks import HttpCheck
from reprise.probes.net import describe
from reprise.probes.result import ProbeResult, down, slow, up
from reprise.probes.tlsinfo import certificate_expiry, expiry_note, expiry_verdict
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun

_BODY_LIMIT = 1024 * 1024
"""Bytes of body read for body_regex / json_path; a huge page never fills the memory."""


class HttpClients:
    """Two shared clients (verifying, and not) for every HTTP check of a monitor run: one
    connection pool and one TLS context instead of one per request."""

    def __init__(self) -> None:
        self._clients: dict[bool, httpx.AsyncClient] = {}

    def get(self, verify: bool) -> httpx.AsyncClient:
        """The client for this verification setting, created on first use."""
        if verify not in self._clients:
            self._clients[verify] = httpx.AsyncClient(
                verify=verify,
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": "reprise-monitor"},
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            )
        return self._clients[verify]

    async def aclose(self) -> None:
        """Close every connection."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


async def probe_http(check: HttpCheck, run: ProbeRun) -> ProbeResult:
    """Send the request and judge status, body, JSON value, latency and certificate."""
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
    result = _judge(language, check, response.status_code, body, latency)
    result = slow(language, result, check.degraded_latency)
    return expiry_verdict(language, result, expiry, check.cert_expiry_days)


async def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= _BODY_LIMIT:
            break
    return b"".join(chunks)[:_BODY_LIMIT]


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
    # The useful cause (refused, unresolvable, certificate) is the innermost one.
    for cause in reversed(chain):
        if isinstance(cause, ssl.SSLError):
            return f"{url}: {describe(language, cause, url)}"
        if isinstance(cause, OSError) and cause.errno:
            return describe(language, cause, url)
    if isinstance(error, httpx.ConnectError):
        return say(language, "probe.http_connect", target=url, reason=error)
    return say(language, "probe.failed", target=url, reason=error or type(error).__name__)


def _judge(
    language: str, check: HttpCheck, status: int, body: bytes, latency: float
) -> ProbeResult:
    details: dict[str, Any] = {"status": status}
    if status not in check.expect_status:
        expected = ", ".join(str(code) for code in check.expect_status)
        message = say(language, "probe.http_status", status=status, expected=expected)
        return down(message, latency, **details)
    text = body.decode("utf-8", "replace")
    if check.body_regex and not re.search(check.body_regex, text):
        message = say(language, "probe.http_body", status=status, pattern=repr(check.body_regex))
        return down(message, latency, **details)
    if check.json_path:
        found, value = _json_value(text, check.json_path)
        if not found:
            message = say(language, "probe.http_json_missing", status=status, path=check.json_path)
            return down(message, latency, **details)
        details["json_value"] = value
        if (
            check.json_equals is not None
            and value != check.json_equals
            and str(value) != str(check.json_equals)
        ):
            return down(
                say(
                    language,
                    "probe.http_json_value",
                    path=check.json_path,
                    value=repr(value),
                    expected=repr(check.json_equals),
                ),
                latency,
                **details,
            )
    message = say(language, "probe.http_ok", status=status, latency=f"{latency * 1000:.0f}")
    return up(message, latency, **details)


def _json_value(text: str, path: str) -> tuple[bool, Any]:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return False, None
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value

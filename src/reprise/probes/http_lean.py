"""``http`` for plain checks: a GET or HEAD over ``http://`` spoken on raw asyncio streams.

httpx costs about a millisecond of CPU per request; a monitor with thousands of HTTP
checks spends most of its time there. The checks most plans have (GET a page, expect a
status, maybe a body) need none of its features, so they go through this probe: one
request line and a few headers written, the status line, headers and at most
``BODY_LIMIT`` bytes of body read back (Content-Length, chunked, or up to the close), and
the connection kept for the next run when the server allows it. Everything else (TLS,
credentials in the URL, other methods) goes to httpx (:func:`fits` decides).

The verdict is the httpx probe's: the same status, body, JSON and latency rules
(:func:`reprise.probes.http_verdict.judge_response`) and the same messages for a timeout, a
refusal, a reset or an unresolvable name (tests/integration/test_http_lean.py runs both
against the same servers)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from reprise.plan.checks import HttpCheck
from reprise.probes.http_verdict import BODY_LIMIT, judge_response
from reprise.probes.net import describe
from reprise.probes.result import ProbeResult, down, slow
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun

_FRAMING = {"host", "content-length", "transfer-encoding", "connection"}
"""Header names a check may not set for this probe (they would change the framing)."""
IDLE_PER_PEER = 100
"""Keep-alive connections kept per host and port."""
_NO_ANSWER = "Server disconnected without sending a response."
"""What httpx says when the connection closes before a status line."""

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(frozen=True)
class Target:
    """Where a plain check's request goes, and its bytes (built once per URL)."""

    host: str
    port: int
    request: bytes


class _Stale(Exception):
    """A kept connection closed before the answer: try once more on a new one."""


class _Unanswered(Exception):
    """A new connection closed before the answer."""


_PATH_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in ' "<>`{}'})
_QUERY_ESCAPES = str.maketrans({c: f"%{ord(c):02X}" for c in ' "<>'})
"""What httpx (as the URL standard) percent-encodes in a path and in a query."""

_targets: dict[tuple[str, str, tuple[tuple[str, str], ...]], Target | None] = {}


def target(check: HttpCheck) -> Target | None:
    """The request for ``check`` when this probe can send it, else None (httpx then)."""
    key = (check.method, check.url, tuple(sorted(check.headers.items())))
    if key not in _targets:
        _targets[key] = _build(check)
    return _targets[key]


def fits(check: HttpCheck) -> bool:
    """Whether ``check`` is a plain GET/HEAD over http:// this probe speaks."""
    return target(check) is not None


def _build(check: HttpCheck) -> Target | None:
    if check.method not in ("GET", "HEAD") or not check.url.isascii():
        return None
    if any(name.lower() in _FRAMING or not name.isascii() for name in check.headers):
        return None
    if not all(value.isascii() for value in check.headers.values()):
        return None
    try:
        parts = urlsplit(check.url)
        port = parts.port or 80
    except ValueError:
        return None
    if parts.scheme != "http" or not parts.hostname or parts.username or parts.password:
        return None
    if "@" in parts.netloc:
        return None
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    path = (parts.path or "/").translate(_PATH_ESCAPES)
    if parts.query:
        path += "?" + parts.query.translate(_QUERY_ESCAPES)
    headers = {
        "Host": shown if port == 80 else f"{shown}:{port}",
        "Accept": "*/*",
        "Accept-Encoding": "identity",
        "Connection": "keep-alive",
        "User-Agent": "reprise-monitor",
    }
    lowered = {name.lower(): name for name in headers}
    for name, value in check.headers.items():
        headers.pop(lowered.get(name.lower(), name), None)
        headers[name] = value
    lines = [f"{check.method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return Target(host, port, ("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))


class LeanPool:
    """Idle keep-alive connections per (host, port), for one event loop."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], list[Connection]] = {}

    def take(self, peer: tuple[str, int]) -> Connection | None:
        """An idle connection to ``peer`` still open, or None."""
        idle = self.idle.get(peer)
        while idle:
            reader, writer = idle.pop()
            if not writer.is_closing() and not reader.at_eof():
                return reader, writer
            writer.transport.abort()
        return None

    def give(self, peer: tuple[str, int], connection: Connection) -> None:
        """Keep a connection whose answer was read to its end."""
        idle = self.idle.setdefault(peer, [])
        if len(idle) < IDLE_PER_PEER:
            idle.append(connection)
        else:
            connection[1].transport.abort()

    def close(self) -> None:
        """Close every idle connection."""
        for idle in self.idle.values():
            for _, writer in idle:
                writer.transport.abort()
        self.idle.clear()


async def probe_http_lean(check: HttpCheck, run: ProbeRun) -> ProbeResult:
    """Send the request and judge status, body, JSON value and latency, as httpx does."""
    plan = target(check)
    assert plan is not None, "probe_http_lean called for a check it does not fit"
    pool = run.context.http.lean
    language = run.language
    timeout = check.timeout.total_seconds()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            kept = pool.take((plan.host, plan.port))
            status, body = None, b""
            if kept is not None:
                try:
                    status, body = await _exchange(pool, plan, kept, check.method == "HEAD")
                except (_Stale, ConnectionResetError, BrokenPipeError):
                    status = None
            if status is None:
                fresh = await asyncio.open_connection(plan.host, plan.port)
                try:
                    status, body = await _exchange(pool, plan, fresh, check.method == "HEAD")
                except _Stale as error:
                    raise _Unanswered from error
    except TimeoutError:
        message = say(language, "probe.http_no_answer", target=check.url, seconds=f"{timeout:g}")
        return down(message, time.perf_counter() - started)
    except OSError as error:
        return down(describe(language, error, check.url), time.perf_counter() - started)
    except _Unanswered:
        message = say(language, "probe.failed", target=check.url, reason=_NO_ANSWER)
        return down(message, time.perf_counter() - started)
    except (ValueError, IndexError, EOFError, asyncio.LimitOverrunError) as error:
        reason = f"malformed answer ({type(error).__name__}: {error})"
        message = say(language, "probe.failed", target=check.url, reason=reason)
        return down(message, time.perf_counter() - started)
    latency = time.perf_counter() - started
    result = judge_response(language, check, status, body, latency)
    return slow(language, result, check.degraded_latency)


async def _exchange(
    pool: LeanPool, plan: Target, connection: Connection, head: bool
) -> tuple[int, bytes]:
    """Send the request on ``connection``, read the answer; the connection goes back to
    the pool when it can serve another request, else it is closed."""
    reader, writer = connection
    kept = False
    try:
        writer.write(plan.request)
        status, body, reusable = await _read_answer(reader, head)
        if reusable:
            pool.give((plan.host, plan.port), connection)
            kept = True
        return status, body
    finally:
        if not kept:
            writer.transport.abort()


async def _read_answer(reader: asyncio.StreamReader, head: bool) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection can be reused)."""
    while True:
        line = await reader.readline()
        if not line:
            raise _Stale
        version, _, rest = line.decode("latin-1").rstrip("\r\n").partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1 status line: {line[:80]!r}")
        status = int(rest.split(" ", 1)[0])
        headers: dict[str, str] = {}
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n"):
                break
            if not header:
                raise asyncio.IncompleteReadError(header, None)
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue): the real one follows
        break
    connection = headers.get("connection", "").lower()
    reusable = "close" not in connection and (version != "HTTP/1.0" or "keep-alive" in connection)
    if head or status in (204, 304) or 100 <= status < 200:
        return status, b"", reusable
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, complete = await _read_chunked(reader)
        return status, body, reusable and complete
    if "content-length" in headers:
        length = int(headers["content-length"])
        body = await reader.readexactly(min(length, BODY_LIMIT))
        return status, body, reusable and length <= BODY_LIMIT
    return status, await _read_to_close(reader), False


async def _read_chunked(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """The body of a chunked answer (at most the limit), and whether it was read whole."""
    chunks: list[bytes] = []
    size = 0
    while True:
        length = int((await reader.readline()).split(b";", 1)[0].strip(), 16)
        if length == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks), True
        if size + length > BODY_LIMIT:
            chunks.append(await reader.readexactly(BODY_LIMIT - size))
            return b"".join(chunks), False
        chunks.append(await reader.readexactly(length))
        size += length
        await reader.readline()


async def _read_to_close(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < BODY_LIMIT:
        chunk = await reader.read(65536)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:BODY_LIMIT]

"""The lean HTTP probe gives the httpx probe's verdict: both run against the same real
servers on loopback (HTTP/1.0 and keep-alive HTTP/1.1, Content-Length, chunked and
read-to-close bodies, redirects, HEAD, 204, timeouts, refusals, resets, a server that
hangs up without answering) and must agree on state, status and message."""

from __future__ import annotations

import asyncio
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import TypeAdapter

from reprise.plan.checks import Check, HttpCheck
from reprise.probes.context import ProbeRun
from reprise.probes.http import probe_http, probe_httpx
from reprise.probes.http_lean import fits, probe_http_lean, target
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext
from tests.support.peers import free_port, http_server, serving

CHECK = TypeAdapter(Check)
LATENCY = re.compile(r"\d+ ms")


class _Eleven(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: redirects, chunked bodies, 204, HEAD, closing answers."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Transfer_Encoding" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self._send(301, b"moved", Location="/")
        elif self.path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b'{"status": ', b'{"db": "ok"}}'):
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close":
            self._send(200, b"closing", Connection="close")
            self.close_connection = True
        elif self.path == "/agent":
            agent = self.headers.get("User-Agent", "")
            extra = self.headers.get("X-Check", "")
            self._send(200, f"{agent} {extra}".encode())
        elif self.path == "/big":
            self._send(200, b"x" * (2 * 1024 * 1024) + b"TAIL")
        else:
            self._send(200, b"<html>AKIG OK</html>")


@contextmanager
def eleven() -> Iterator[int]:
    """A keep-alive HTTP/1.1 server on loopback; yields its port."""
    with serving(ThreadingHTTPServer(("127.0.0.1", 0), _Eleven)) as port:
        yield port


@contextmanager
def rude(mode: str) -> Iterator[int]:
    """A server that reads the request, then: ``silent`` (never answers), ``hangup``
    (closes without answering), ``reset`` (closes with a TCP reset), ``raw`` (answers
    HTTP/1.0 with no length and closes), ``once`` (answers as if the connection stayed
    open, then closes it)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    running = True

    def serve() -> None:
        while running:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.recv(65536)
            if mode == "silent":
                held.append(connection)
                continue
            if mode == "reset":
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "raw":
                connection.sendall(b"HTTP/1.0 200 OK\r\nServer: raw\r\n\r\nAKIG raw body")
            elif mode == "once":
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nAKIG one")
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        running = False
        listener.close()
        for connection in held:
            connection.close()


def both(spec: dict[str, Any], repeat: int = 1) -> list[tuple[ProbeResult, ProbeResult]]:
    """(httpx result, lean result) for the check, ``repeat`` times on one context (kept
    connections are reused from the second time on)."""
    check = CHECK.validate_python({"kind": "http", **spec})
    assert isinstance(check, HttpCheck) and fits(check)

    async def go() -> list[tuple[ProbeResult, ProbeResult]]:
        context = ProbeContext(plan=None)  # type: ignore[arg-type]
        run = ProbeRun(context, "svc")
        pairs = []
        try:
            for _ in range(repeat):
                full = await asyncio.wait_for(probe_httpx(check, run), 30)
                lean = await asyncio.wait_for(probe_http_lean(check, run), 30)
                pairs.append((full, lean))
        finally:
            await context.aclose()
        return pairs

    return asyncio.run(go())


def same(spec: dict[str, Any], repeat: int = 1) -> ProbeResult:
    """Assert both probes agree (state, message without the latency figure, details);
    return the lean result."""
    for full, lean in both(spec, repeat):
        assert lean.state == full.state, (full, lean)
        assert LATENCY.sub("N ms", lean.message) == LATENCY.sub("N ms", full.message)
        assert lean.details == full.details
        assert lean.latency is not None and lean.latency >= 0
    return lean


def test_http_1_0_server_status_body_and_json() -> None:
    with http_server() as (port, _):
        base = f"http://127.0.0.1:{port}"
        assert same({"url": f"{base}/", "body_regex": "AKIG OK"}).state == "up"
        assert same({"url": f"{base}/", "body_regex": "nope"}).state == "down"
        assert "HTTP 500" in same({"url": f"{base}/500"}).message
        assert same({"url": f"{base}/500", "expect_status": [500]}).state == "up"
        assert (
            same({"url": f"{base}/json", "json_path": "status.db", "json_equals": "ok"}).state
            == "up"
        )
        assert (
            same({"url": f"{base}/json", "json_path": "status.db", "json_equals": "no"}).state
            == "down"
        )
        assert same({"url": f"{base}/json", "json_path": "status.none"}).state == "down"
        slow = same({"url": f"{base}/slow/0.3", "degraded_latency": "100ms"})
        assert slow.state == "degraded"


def test_keep_alive_server_redirect_chunked_head_204_close() -> None:
    with eleven() as port:
        base = f"http://127.0.0.1:{port}"
        assert same({"url": f"{base}/", "body_regex": "AKIG"}, repeat=3).state == "up"
        moved = same({"url": f"{base}/redirect"}, repeat=2)
        assert moved.state == "down" and moved.details["status"] == 301
        assert same({"url": f"{base}/redirect", "expect_status": [301]}).state == "up"
        chunked = same({"url": f"{base}/chunked", "json_path": "status.db"}, repeat=2)
        assert chunked.state == "up" and chunked.details["json_value"] == "ok"
        assert same({"url": f"{base}/", "method": "HEAD"}, repeat=2).state == "up"
        assert same({"url": f"{base}/empty", "expect_status": [204]}, repeat=2).state == "up"
        assert same({"url": f"{base}/close", "body_regex": "closing"}, repeat=2).state == "up"
        assert same({"url": f"{base}/big", "body_regex": "^x+$"}).state == "up"
        assert same({"url": f"{base}/big", "body_regex": "TAIL"}).state == "down"
        agent = same(
            {
                "url": f"{base}/agent",
                "headers": {"X-Check": "akig"},
                "body_regex": "^reprise-monitor akig$",
            }
        )
        assert agent.state == "up"


def test_refused_timeout_reset_hangup_and_raw_answers() -> None:
    refused = same({"url": f"http://127.0.0.1:{free_port()}/"})
    assert refused.state == "down" and "refused" in refused.message
    with rude("silent") as port:
        started = time.monotonic()
        timed_out = same({"url": f"http://127.0.0.1:{port}/", "timeout": "1s", "interval": "10s"})
        assert timed_out.state == "down" and "1 s" in timed_out.message
        assert time.monotonic() - started < 10
    with rude("reset") as port:
        assert same({"url": f"http://127.0.0.1:{port}/"}).state == "down"
    with rude("hangup") as port:
        hung = same({"url": f"http://127.0.0.1:{port}/"})
        assert hung.state == "down" and "without sending a response" in hung.message
    with rude("raw") as port:
        assert same({"url": f"http://127.0.0.1:{port}/", "body_regex": "AKIG raw"}).state == "up"
    nowhere = same({"url": "http://no-such-host.invalid/"})
    assert nowhere.state == "down"


def test_a_kept_connection_the_server_closed_is_replaced() -> None:
    """A server that says nothing of closing, then closes: the kept connection is found
    closed (or fails before the answer) and the run goes on a new one, without a failure."""
    with rude("once") as port:
        check = CHECK.validate_python({"kind": "http", "url": f"http://127.0.0.1:{port}/"})

        async def go() -> list[ProbeResult]:
            context = ProbeContext(plan=None)  # type: ignore[arg-type]
            run = ProbeRun(context, "svc")
            results = []
            for pause in (0.0, 0.3, 0.3):
                # Blocking: the loop does not see the server's close before the next run.
                time.sleep(pause)
                results.append(await probe_http_lean(check, run))
            results.append(await probe_httpx(check, run))
            await context.aclose()
            return results

        results = asyncio.run(go())
        assert [result.state for result in results] == ["up"] * 4, results
        assert len({LATENCY.sub("N ms", result.message) for result in results}) == 1


@pytest.mark.parametrize(
    ("spec", "lean"),
    [
        ({"url": "http://127.0.0.1/"}, True),
        ({"url": "http://127.0.0.1/", "method": "HEAD"}, True),
        ({"url": "http://127.0.0.1/", "headers": {"Authorization": "Bearer x"}}, True),
        ({"url": "https://127.0.0.1/"}, False),
        ({"url": "http://user:secret@127.0.0.1/"}, False),
        ({"url": "http://127.0.0.1/", "method": "POST"}, False),
        ({"url": "http://127.0.0.1/", "headers": {"Host": "other"}}, False),
    ],
)
def test_which_probe_runs(spec: dict[str, Any], lean: bool) -> None:
    check = CHECK.validate_python({"kind": "http", **spec})
    assert isinstance(check, HttpCheck)
    assert fits(check) is lean


def test_probe_http_dispatches_to_the_lean_probe_for_plain_checks() -> None:
    with eleven() as port:
        check = CHECK.validate_python({"kind": "http", "url": f"http://127.0.0.1:{port}/"})

        async def go() -> tuple[str, int]:
            context = ProbeContext(plan=None)  # type: ignore[arg-type]
            result = await probe_http(check, ProbeRun(context, "svc"))
            kept = sum(len(idle) for idle in context.http.lean.idle.values())
            await context.aclose()
            return result.state, kept

        assert asyncio.run(go()) == ("up", 1)


@pytest.mark.parametrize(
    "url",
    [
        'http://h/a|b{c}"d^e`?q=1|2&x={y}',
        "http://h/%41?a=%20",
        "http://h?x=1",
        "http://h/p;a?b#frag",
        "http://[::1]:8080/x",
        "http://H:80/",
        "http://h:8080",
    ],
)
def test_the_request_line_and_host_are_those_httpx_sends(url: str) -> None:
    import httpx

    check = CHECK.validate_python({"kind": "http", "url": url})
    assert isinstance(check, HttpCheck)
    lean = target(check)
    assert lean is not None
    line, host = lean.request.decode().split("\r\n")[:2]
    request = httpx.Request("GET", url)
    assert line == f"GET {request.url.raw_path.decode()} HTTP/1.1"
    assert host == f"Host: {request.headers['Host']}"

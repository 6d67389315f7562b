"""Shared by network probes: failures in words a sysadmin acts on ("connection refused",
"does not resolve") rather than an exception name, in the plan's language; addresses, and
closing quietly."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import ssl
import time
from collections.abc import Awaitable, Callable

from reprise.plan.common import address
from reprise.probes.reasons import os_reason
from reprise.probes.result import ProbeResult, down
from reprise.probes.tlsinfo import describe_ssl_error
from reprise.words import say


class ProtocolError(Exception):
    """The server said something a healthy server would not: a ``probe.*`` key of the
    catalog and its parameters, said in the plan's language by ``converse``."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def say(self, language: str) -> str:
        """The complaint in ``language``."""
        return say(language, self.key, **self.params)


def describe(language: str, error: BaseException, target: str) -> str:
    """What went wrong reaching ``target`` (``host:port`` or a URL), in ``language``."""
    if isinstance(error, ssl.SSLError):
        return describe_ssl_error(language, error)
    if isinstance(error, socket.gaierror):
        return say(language, "probe.unresolvable", target=target, reason=os_reason(language, error))
    if isinstance(error, ConnectionRefusedError):
        return say(language, "probe.refused", target=target)
    if isinstance(error, ConnectionResetError):
        return say(language, "probe.reset", target=target)
    if isinstance(error, TimeoutError):
        return say(language, "probe.timed_out", target=target)
    if isinstance(error, OSError) and error.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return say(language, "probe.unreachable", target=target, reason=os_reason(language, error))
    if isinstance(error, OSError) and error.strerror:
        return say(language, "probe.failed", target=target, reason=os_reason(language, error))
    return say(language, "probe.failed", target=target, reason=error or type(error).__name__)


async def close_quietly(writer: asyncio.StreamWriter) -> None:
    """Close a probe's connection at once, whatever state it is in.

    A probe has its answer and owes the peer no TLS goodbye: a graceful TLS close waits up
    to 30 s for the peer's close_notify, and a check's timeout cancelling that wait used to
    leave the socket open (an unclosed transport when the loop ended). ``abort()`` closes
    the socket (a plain FIN), also for the plain transport left behind a failed STARTTLS.
    """
    with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
        writer.transport.abort()
    # connection_lost, which closes the socket, runs on the loop's next turn.
    await asyncio.sleep(0)


Talk = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[ProbeResult]]
"""A protocol dialogue on an open connection, ending in a result."""


async def converse(
    language: str, host: str, port: int, tls: ssl.SSLContext | None, talk: Talk
) -> ProbeResult:
    """Connect (TLS from the first byte when ``tls`` is given), let ``talk`` run the
    protocol, and turn protocol, network and TLS failures into down results in
    ``language``; the connection is always closed."""
    target = address(host, port)
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(
            host, port, ssl=tls, server_hostname=host if tls is not None else None
        )
    except (OSError, ssl.SSLError) as error:
        return down(describe(language, error, target), time.perf_counter() - started)
    try:
        return await talk(reader, writer)
    except ProtocolError as error:
        reason = error.say(language)
        return down(
            say(language, "probe.failed", target=target, reason=reason),
            time.perf_counter() - started,
        )
    except (OSError, ssl.SSLError) as error:
        return down(describe(language, error, target), time.perf_counter() - started)
    finally:
        await close_quietly(writer)

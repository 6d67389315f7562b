"""The web served by uvicorn inside an event loop that someone else owns (`reprise serve`
keeps its own signal handling: SIGTERM stops the service, which then stops the web)."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn

from reprise.errors import InputError, OperationError, option

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signals to its owner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The owner handles signals and sets ``should_exit``."""
        yield


def split_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as (host, port); InputError otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(
            f"cannot listen on {listen!r}", hint="write HOST:PORT, such as 127.0.0.1:8080"
        )
    return host.strip("[]"), int(port)


def bind(listen: str) -> socket.socket:
    """The listening socket, opened here so that a port in use is a clear error, not a
    server that exits the process."""
    host, port = split_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP,
    # and without it every keep-alive response waits 40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OperationError(
            f"the web cannot listen on {listen}: {error.strerror or error}",
            hint="another program listens there, or the address is not this host's: "
            f"set web.listen in the plan or pass {option('listen')} HOST:PORT",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


def make_server(app: FastAPI, listen: str) -> EmbeddedServer:
    """A server for ``app`` on ``listen``; behind a reverse proxy on loopback, it trusts the
    proxy's X-Forwarded-For and -Proto headers (uvicorn's default: from 127.0.0.1 only)."""
    host, port = split_listen(listen)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=True,
    )
    return EmbeddedServer(config)

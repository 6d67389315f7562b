"""The web, on its own (`reprise web`) or inside `reprise serve` (which gets it from its
door, `reprise.cli.serve`, as a ``WebStarter``)."""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reprise.web.app import create_app
from reprise.web.server import EmbeddedServer, bind, make_server
from reprise.web.site import Site, utc_now

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store.database import Store

__all__ = ["RunningWeb", "WebRequest", "start_web", "web"]


@dataclass(frozen=True)
class WebRequest:
    """Where to listen (None: the plan's ``web.listen``); who hears that it started."""

    listen: str | None = None
    on_start: Callable[[str], None] | None = None


@dataclass
class RunningWeb:
    """The site (its plan replaced on reload), its server and its listening socket."""

    site: Site
    server: EmbeddedServer
    sock: socket.socket

    async def serve(self) -> None:
        """Serve until ``server.should_exit``."""
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            self.sock.close()


def start_web(plan: Plan, store: Store, listen: str | None = None) -> RunningWeb:
    """The web bound to its address (OperationError when it cannot), not serving yet."""
    address = listen or plan.web.listen
    sock = bind(address)
    site = Site(plan, store, utc_now)
    return RunningWeb(site, make_server(create_app(site), address), sock)


def web(plan: Plan, store: Store, request: WebRequest) -> None:
    """Serve the web alone until SIGTERM or SIGINT (no monitor, no jobs: runs asked for
    wait for a `reprise serve`)."""
    running = start_web(plan, store, request.listen)
    server = running.server

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
        task = loop.create_task(running.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started and request.on_start is not None:
            request.on_start(request.listen or plan.web.listen)
        await task

    asyncio.run(run())

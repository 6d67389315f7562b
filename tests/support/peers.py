"""Real servers on loopback for the tests: they live in :mod:`devsupport.peers`, shared with
the demo scripts and the benchmarks."""

from __future__ import annotations

from devsupport.peers import (
    Mailbox,
    SwitchableHttp,
    SwitchableListener,
    SwitchablePostgres,
    SwitchableSmtp,
    body_of,
    dns_server,
    free_port,
    http_server,
    imap_server,
    self_signed,
    server_context,
    serving,
    smtp_server,
    subject_of,
    tcp_listener,
)

__all__ = [
    "Mailbox",
    "SwitchableHttp",
    "SwitchableListener",
    "SwitchablePostgres",
    "SwitchableSmtp",
    "body_of",
    "dns_server",
    "free_port",
    "http_server",
    "imap_server",
    "self_signed",
    "server_context",
    "serving",
    "smtp_server",
    "subject_of",
    "tcp_listener",
]

"""Which probe runs each check kind: a new kind is its model in ``plan/checks.py``, a
module here with ``async def probe_<kind>(check, run)``, and one line below
(``tests/unit/test_registries.py`` fails when a kind of the plan has none). The model's
``target()`` says what status tables show for it; then regenerate
``docs/plan-reference.md`` (``python -m reprise.plan.reference``)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun
    from reprise.probes.result import ProbeResult

ProbeFunction = Callable[[Any, "ProbeRun"], Awaitable["ProbeResult"]]

PROBES: dict[str, str] = {
    "tcp": "reprise.probes.tcp:probe_tcp",
    "http": "reprise.probes.http:probe_http",
    "icmp": "reprise.probes.icmp:probe_icmp",
    "dns": "reprise.probes.dns:probe_dns",
    "smtp": "reprise.probes.smtp:probe_smtp",
    "imap": "reprise.probes.imap:probe_imap",
    "postgres": "reprise.probes.postgres:probe_postgres",
    "disk": "reprise.probes.disk:probe_disk",
    "command": "reprise.probes.command:probe_command",
    "backup_age": "reprise.probes.backup_age:probe_backup_age",
    "tls": "reprise.probes.tls:probe_tls",
    "heartbeat": "reprise.probes.heartbeat:probe_heartbeat",
}
"""Check kind → ``module:function``, imported on first use (`reprise status` loads only
the probes its plan uses, and their libraries with them)."""


def probe_for(kind: str) -> ProbeFunction:
    """The probe of ``kind`` (KeyError for a kind nobody registered)."""
    module, _, name = PROBES[kind].partition(":")
    function: ProbeFunction = getattr(importlib.import_module(module), name)
    return function

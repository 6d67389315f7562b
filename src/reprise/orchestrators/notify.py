"""systemd's notify protocol (sd_notify(3)) without a dependency: one datagram per message
to the socket named by ``$NOTIFY_SOCKET``, a file path or an abstract name (``@…``).

Without ``$NOTIFY_SOCKET`` (not started by systemd, or not ``Type=notify``) every call does
nothing. A message that cannot be sent is logged once at warning level and never raises:
the service must not stop because its supervisor did not hear one heartbeat.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from datetime import timedelta

logger = logging.getLogger(__name__)

SEND_TIMEOUT = 2.0
"""Seconds a datagram may wait for room in systemd's queue before it is given up."""

ENVIRONMENT = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
"""What systemd sets for the main process; children must not inherit it."""


def _address(value: str | None) -> str | None:
    """The socket address of ``$NOTIFY_SOCKET``: a path, or ``\\0name`` for ``@name``."""
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock:… (systemd 254+, virtual machines): not spoken here


def _watchdog_interval(environ: Mapping[str, str], pid: int) -> timedelta | None:
    """Half of ``$WATCHDOG_USEC`` when the watchdog is meant for ``pid``, else None."""
    owner = environ.get("WATCHDOG_PID")
    if owner and owner.strip() != str(pid):
        return None
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return timedelta(microseconds=usec / 2) if usec > 0 else None


def _one_line(text: str) -> str:
    """STATUS= is one line: a newline would start another field."""
    return " ".join(text.split())


class Notifier:
    """Tells systemd about the service: ``ready``, ``status``, ``watchdog``, ``reloading``,
    ``stopping`` (the ``Notify`` protocol of ``reprise.orchestrators.service``)."""

    def __init__(self, environ: Mapping[str, str] | None = None, pid: int | None = None):
        environ = os.environ if environ is None else environ
        self.socket_name = environ.get("NOTIFY_SOCKET") or None
        self.address = _address(self.socket_name)
        self.watchdog_interval = _watchdog_interval(environ, pid or os.getpid())
        """How often to send WATCHDOG=1 (half of ``WatchdogSec=``), or None without one."""
        self._socket: socket.socket | None = None
        self._warned = False
        if self.socket_name and self.address is None:
            self._warn(f"unsupported NOTIFY_SOCKET {self.socket_name!r}")

    @classmethod
    def from_environment(cls) -> Notifier:
        """Read ``$NOTIFY_SOCKET`` and the watchdog settings, then remove them from the
        environment so that the programs the service starts (job runs, checks) do not talk
        to systemd as if they were the service."""
        notifier = cls(os.environ)
        for name in ENVIRONMENT:
            os.environ.pop(name, None)
        return notifier

    @property
    def enabled(self) -> bool:
        """Whether there is a supervisor to tell."""
        return self.address is not None

    def send(self, *fields: str) -> bool:
        """Send ``fields`` (``"READY=1"``…) as one datagram; whether it left. Never raises."""
        if self.address is None:
            return False
        message = "\n".join(fields).encode()
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.settimeout(SEND_TIMEOUT)
            self._socket.sendto(message, self.address)
        except OSError as error:
            self._warn(f"cannot notify systemd at {self.socket_name}: {error}")
            self.close()
            return False
        return True

    def ready(self, status: str) -> None:
        """Started (or reloaded): systemd marks the unit active."""
        self.send("READY=1", f"STATUS={_one_line(status)}")

    def status(self, text: str) -> None:
        """The line ``systemctl status`` shows."""
        self.send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> None:
        """Still alive: without this within ``WatchdogSec=``, systemd restarts the service."""
        self.send("WATCHDOG=1")

    def reloading(self) -> None:
        """Reloading the plan; ``ready`` follows. MONOTONIC_USEC is what systemd 253+ wants
        (``Type=notify-reload``); older versions ignore it."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        """Stopping cleanly."""
        self.send("STOPPING=1")

    def close(self) -> None:
        """Close the socket (the next message opens another)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _warn(self, message: str) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("%s (further failures are not logged)", message)

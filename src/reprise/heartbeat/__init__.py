"""Heartbeats: pings that jobs elsewhere send to Reprise (``/ping/<token>``), kept in the
state so that the ``heartbeat`` probe can judge whether a job ran, failed or is late."""

from __future__ import annotations

from reprise.heartbeat.records import (
    KEEP_PINGS,
    MAX_BODY,
    PING_KINDS,
    LastPings,
    first_seen,
    last_pings,
    record_ping,
)

__all__ = [
    "KEEP_PINGS",
    "MAX_BODY",
    "PING_KINDS",
    "LastPings",
    "first_seen",
    "last_pings",
    "record_ping",
]

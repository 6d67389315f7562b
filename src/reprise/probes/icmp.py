"""``icmp``: unprivileged ping through icmplib (no root, no setuid binary)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from reprise.plan.checks import IcmpCheck
from reprise.probes.result import ProbeResult, degraded, down, up

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun

PING_GROUP_HINT = (
    "this system forbids unprivileged ping for this user: allow it with "
    "`sysctl -w net.ipv4.ping_group_range='0 2147483647'` (persist it in "
    "/etc/sysctl.d/), or use a tcp check instead"
)


async def probe_icmp(check: IcmpCheck, _run: ProbeRun) -> ProbeResult:
    """Send ``count`` echo requests; judge loss and round-trip time."""
    from icmplib import async_ping
    from icmplib.exceptions import ICMPLibError, NameLookupError, SocketPermissionError

    per_packet = max(0.2, check.timeout.total_seconds() / (check.count + 1))
    try:
        host = await async_ping(
            check.host,
            count=check.count,
            interval=0.2,
            timeout=per_packet,
            privileged=_privileged(),
        )
    except NameLookupError:
        return down(f"{check.host}: host name does not resolve")
    except SocketPermissionError:
        return down(f"{check.host}: ping not permitted; {PING_GROUP_HINT}")
    except (ICMPLibError, OSError) as error:
        return down(f"{check.host}: ping failed ({error})")
    rtt = host.avg_rtt / 1000 if host.packets_received else None
    loss = host.packet_loss * 100
    details = {
        "sent": host.packets_sent,
        "received": host.packets_received,
        "loss_percent": round(loss, 1),
    }
    if not host.is_alive:
        return down(f"{check.host}: no reply to {host.packets_sent} pings", **details)
    message = (
        f"{check.host}: {host.packets_received}/{host.packets_sent} replies, {host.avg_rtt:.1f} ms"
    )
    if check.degraded_packet_loss is not None and loss > check.degraded_packet_loss:
        return degraded(f"{message}; {loss:.0f}% loss", rtt, **details)
    if check.degraded_latency and rtt and rtt > check.degraded_latency.total_seconds():
        return degraded(f"{message}; slow", rtt, **details)
    return up(message, rtt, **details)


def _privileged() -> bool:
    # Root may always open raw sockets; anyone else needs ping_group_range (datagram ICMP).
    return os.geteuid() == 0

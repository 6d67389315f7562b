"""``icmp``: unprivileged ping through icmplib (no root, no setuid binary)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from reprise.plan.checks import IcmpCheck
from reprise.probes.result import ProbeResult, degraded, down, up
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def probe_icmp(check: IcmpCheck, run: ProbeRun) -> ProbeResult:
    """Send ``count`` echo requests; judge loss and round-trip time."""
    from icmplib import async_ping
    from icmplib.exceptions import ICMPLibError, NameLookupError, SocketPermissionError

    language, name = run.language, check.host
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
        return down(say(language, "probe.ping_unresolvable", host=name))
    except SocketPermissionError:
        return down(say(language, "probe.ping_forbidden", host=name))
    except (ICMPLibError, OSError) as error:
        return down(say(language, "probe.ping_failed", host=name, reason=error))
    rtt = host.avg_rtt / 1000 if host.packets_received else None
    loss = host.packet_loss * 100
    details = {
        "sent": host.packets_sent,
        "received": host.packets_received,
        "loss_percent": round(loss, 1),
    }
    if not host.is_alive:
        return down(
            say(language, "probe.ping_no_reply", host=name, sent=host.packets_sent), **details
        )
    message = say(
        language,
        "probe.ping_replies",
        host=name,
        received=host.packets_received,
        sent=host.packets_sent,
        rtt=f"{host.avg_rtt:.1f}",
    )
    if check.degraded_packet_loss is not None and loss > check.degraded_packet_loss:
        lossy = say(language, "probe.ping_loss", message=message, loss=f"{loss:.0f}")
        return degraded(lossy, rtt, **details)
    if check.degraded_latency and rtt and rtt > check.degraded_latency.total_seconds():
        return degraded(say(language, "probe.ping_slow", message=message), rtt, **details)
    return up(message, rtt, **details)


def _privileged() -> bool:
    # Root may always open raw sockets; anyone else needs ping_group_range (datagram ICMP).
    return os.geteuid() == 0

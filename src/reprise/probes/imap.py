"""``imap``: the server greets and lists its capabilities, over IMAPS or STARTTLS; the
certificate is verified and its expiry judged."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import ImapCheck
from reprise.plan.common import address
from reprise.probes.net import ProtocolError, converse
from reprise.probes.result import ProbeResult, down, up
from reprise.probes.tlsinfo import certificate_expiry, client_context, expiry_verdict
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def _line(reader: asyncio.StreamReader) -> str:
    raw = await reader.readline()
    if not raw:
        raise ProtocolError("probe.closed")
    return raw.decode("utf-8", "replace").rstrip("\r\n")


async def _tagged(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, tag: str, command: str
) -> list[str]:
    writer.write(f"{tag} {command}\r\n".encode())
    await writer.drain()
    untagged: list[str] = []
    for _ in range(500):
        line = await _line(reader)
        if line.startswith(f"{tag} "):
            status = line[len(tag) + 1 :]
            if not status.upper().startswith("OK"):
                raise ProtocolError("probe.answered", command=command, reply=status[:80])
            return untagged
        untagged.append(line)
    raise ProtocolError("probe.endless_answer", command=command)


def _capabilities(lines: list[str]) -> list[str]:
    for line in lines:
        words = line.replace("[", " ").replace("]", " ").split()
        upper = [word.upper() for word in words]
        if "CAPABILITY" in upper:
            return upper[upper.index("CAPABILITY") + 1 :]
    return []


async def probe_imap(check: ImapCheck, run: ProbeRun) -> ProbeResult:
    """Greeting, CAPABILITY, STARTTLS (when asked), CAPABILITY again, LOGOUT."""
    port = check.port or (993 if check.tls == "implicit" else 143)
    target = address(check.host, port)
    language = run.language
    context = client_context(check.verify_tls)
    started = time.perf_counter()

    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> ProbeResult:
        greeting = await _line(reader)
        if not greeting.upper().startswith(("* OK", "* PREAUTH")):
            return down(
                say(language, "probe.greeting", target=target, greeting=repr(greeting[:80])),
                time.perf_counter() - started,
            )
        capabilities = _capabilities(await _tagged(reader, writer, "r1", "CAPABILITY"))
        if check.tls == "starttls":
            if "STARTTLS" not in capabilities:
                return down(
                    say(language, "probe.starttls_missing", target=target),
                    time.perf_counter() - started,
                    capabilities=capabilities,
                )
            await _tagged(reader, writer, "r2", "STARTTLS")
            await writer.start_tls(context, server_hostname=check.host)
            capabilities = _capabilities(await _tagged(reader, writer, "r3", "CAPABILITY"))
        expiry = (
            certificate_expiry(writer.get_extra_info("ssl_object")) if check.tls != "none" else None
        )
        latency = time.perf_counter() - started
        writer.write(b"r4 LOGOUT\r\n")
        await writer.drain()
        if "IMAP4REV1" not in capabilities and "IMAP4REV2" not in capabilities:
            return down(
                say(
                    language,
                    "probe.not_imap",
                    target=target,
                    capabilities=" ".join(capabilities)[:80],
                ),
                latency,
                capabilities=capabilities,
            )
        result = up(f"{target}: {greeting[5:60]}", latency, capabilities=capabilities)
        return expiry_verdict(language, result, expiry, check.cert_expiry_days)

    tls = context if check.tls == "implicit" else None
    return await converse(language, check.host, port, tls, talk)

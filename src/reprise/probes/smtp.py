"""``smtp``: the server greets, answers EHLO and offers STARTTLS (or speaks implicit TLS);
the certificate is verified and its expiry judged."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING

from reprise.plan.checks import SmtpCheck
from reprise.plan.common import address
from reprise.probes.net import ProtocolError, converse
from reprise.probes.result import ProbeResult, down, up
from reprise.probes.tlsinfo import certificate_expiry, client_context, expiry_verdict
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun


async def _reply(reader: asyncio.StreamReader) -> tuple[int, list[str]]:
    lines: list[str] = []
    while True:
        raw = await reader.readline()
        if not raw:
            raise ProtocolError("probe.closed")
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if len(line) < 3 or not line[:3].isdigit():
            raise ProtocolError("probe.not_smtp", line=repr(line[:80]))
        lines.append(line[4:])
        if line[3:4] != "-":
            return int(line[:3]), lines
        if len(lines) > 200:
            raise ProtocolError("probe.endless_reply")


async def _command(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, command: str, expect: int
) -> list[str]:
    writer.write(command.encode() + b"\r\n")
    await writer.drain()
    code, lines = await _reply(reader)
    if code != expect:
        reply = f"{code} {' '.join(lines)[:80]}"
        raise ProtocolError("probe.answered", command=command.split()[0], reply=reply)
    return lines


async def probe_smtp(check: SmtpCheck, run: ProbeRun) -> ProbeResult:
    """Greeting, EHLO, STARTTLS (when required), EHLO again, QUIT."""
    target = address(check.host, check.port)
    language = run.language
    context = client_context(check.verify_tls)
    started = time.perf_counter()

    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> ProbeResult:
        code, banner = await _reply(reader)
        if code != 220:
            greeting = f"{code} {' '.join(banner)[:80]}"
            return down(
                say(language, "probe.greeting", target=target, greeting=greeting),
                time.perf_counter() - started,
            )
        if check.expect_banner and not re.search(check.expect_banner, banner[0]):
            return down(
                say(
                    language,
                    "probe.banner_mismatch",
                    target=target,
                    banner=repr(banner[0][:80]),
                    pattern=repr(check.expect_banner),
                ),
                time.perf_counter() - started,
            )
        extensions = [
            line.split()[0].upper()
            for line in (await _command(reader, writer, "EHLO reprise.monitor", 250))[1:]
            if line
        ]
        if check.tls == "starttls":
            if "STARTTLS" not in extensions:
                return down(
                    say(language, "probe.starttls_missing", target=target),
                    time.perf_counter() - started,
                    extensions=extensions,
                )
            await _command(reader, writer, "STARTTLS", 220)
            await writer.start_tls(context, server_hostname=check.host)
            await _command(reader, writer, "EHLO reprise.monitor", 250)
        expiry = (
            certificate_expiry(writer.get_extra_info("ssl_object")) if check.tls != "none" else None
        )
        latency = time.perf_counter() - started
        writer.write(b"QUIT\r\n")
        await writer.drain()
        tls = {"starttls": ", STARTTLS", "implicit": ", TLS", "none": ""}[check.tls]
        result = up(f"{target}: {banner[0][:60]}{tls}", latency, extensions=extensions)
        return expiry_verdict(language, result, expiry, check.cert_expiry_days)

    return await converse(
        language, check.host, check.port, context if check.tls == "implicit" else None, talk
    )

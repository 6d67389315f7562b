"""``command``: a command exits with the expected code and prints what is expected.

The command runs in its own process group: at the timeout the whole group is killed, so a
hung child of the shell cannot outlive the check. Output is read as it comes (a chatty
command never blocks on a full pipe) and only its beginning and end are kept; a command flooding
its output is killed past a hard limit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reprise.plan.checks import CommandCheck
from reprise.probes.reasons import os_reason
from reprise.probes.result import ProbeResult, degraded, down, up
from reprise.security import operator_umask
from reprise.words import say

if TYPE_CHECKING:
    from reprise.probes.context import ProbeRun

KEPT_OUTPUT = 64 * 1024
"""Bytes of output kept for stdout_regex and messages."""
FLOOD_LIMIT = 16 * 1024 * 1024
"""Past this many bytes of output the command is killed: a check is not a log pump."""


@dataclass(frozen=True)
class ShellOutcome:
    """How a shell command ended and what it printed (beginning and end kept)."""

    code: int
    output: str
    flooded: bool


async def run_shell(command: str, *, flood_limit: int | None = FLOOD_LIMIT) -> ShellOutcome:
    """Run ``command`` with /bin/sh in its own process group, stdout and stderr together.

    Cancel the awaiting task (``asyncio.wait_for``) to enforce a timeout: the whole group
    is killed on the way out. Raises OSError when the shell cannot start."""
    # The plan's own commands create the operator's files (a runbook's `tar x -C /var/www`):
    # they get the umask Reprise was started with, not the private one Reprise runs under.
    process = await asyncio.create_subprocess_shell(
        command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
        umask=operator_umask(),
    )
    try:
        output, flooded = await _read_output(process, flood_limit)
        if flooded:
            await _kill_group(process)
        code = await process.wait()
    finally:
        await _kill_group(process)
    return ShellOutcome(code, output.decode("utf-8", "replace").strip(), flooded)


async def probe_command(check: CommandCheck, run: ProbeRun) -> ProbeResult:
    """Run the command with /bin/sh; judge its exit code and output."""
    language = run.language
    started = time.perf_counter()
    try:
        outcome = await run_shell(check.command)
    except OSError as error:
        return down(say(language, "probe.cannot_run", reason=os_reason(language, error)))
    latency = time.perf_counter() - started
    code, text = outcome.code, outcome.output
    last_line = text.splitlines()[-1][:200] if text else ""
    details = {"exit_code": code, "output": text[:2000]}
    if outcome.flooded:
        limit = FLOOD_LIMIT // (1024 * 1024)
        return down(say(language, "probe.output_flood", limit=limit), latency, **details)
    exited = say(language, "probe.exit_output", code=code, output=last_line)
    if code in check.degraded_exit:
        return degraded(exited, latency, **details)
    if code != check.expect_exit:
        why = (
            say(language, "probe.signal", signal=-code)
            if code < 0
            else say(language, "probe.exit", code=code)
        )
        message = say(
            language, "probe.exit_unexpected", why=why, expected=check.expect_exit, output=last_line
        )
        return down(message, latency, **details)
    if check.stdout_regex and not re.search(check.stdout_regex, text):
        message = say(
            language, "probe.output_mismatch", pattern=repr(check.stdout_regex), output=last_line
        )
        return down(message, latency, **details)
    if not last_line:
        exited = say(language, "probe.exit", code=code)
    return up(exited, latency, **details)


async def _read_output(
    process: asyncio.subprocess.Process, flood_limit: int | None
) -> tuple[bytes, bool]:
    """The first and last KEPT_OUTPUT / 2 bytes (with a marker for what was skipped)."""
    assert process.stdout is not None
    half = KEPT_OUTPUT // 2
    head = bytearray()
    tail = bytearray()
    total = 0
    while chunk := await process.stdout.read(65536):
        total += len(chunk)
        room = half - len(head)
        if room > 0:
            head += chunk[:room]
            chunk = chunk[room:]
        tail += chunk
        del tail[:-half]
        if flood_limit is not None and total > flood_limit:
            return bytes(head + tail), True
    skipped = total - len(head) - len(tail)
    middle = f"\n[… {skipped} bytes not kept …]\n".encode() if skipped else b""
    return bytes(head + middle + tail), False


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    """Kill what is left of the process group (always: children may linger after exit);
    also runs when the runner cancels the check at its timeout."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            await asyncio.shield(process.wait())
    # Close the pipes now: left to the garbage collector, a transport whose output was not
    # read to the end outlives the event loop ("Event loop is closed" at exit). asyncio has
    # no public close for a Process; its transport's close() is the documented one.
    transport = getattr(process, "_transport", None)
    if transport is not None:
        transport.close()

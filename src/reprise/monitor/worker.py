"""A monitor worker process: runs its share of the plan's checks with the ordinary
:class:`~reprise.monitor.runner.Runner` on its own event loop and sends the results, its
scheduling lag and its log records to the parent (:mod:`reprise.monitor.frames`), which
keeps the board, the alerts and the state store.

Started by :class:`reprise.monitor.shards.ShardedRunner` as ``python -m
reprise.monitor.worker``: the setup comes on stdin, frames go out on stdout (anything
printed goes to stderr instead). The worker stops when told to, and when its stdin ends:
a parent that died (even by SIGKILL) leaves no worker behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from datetime import datetime
from typing import Any

from reprise.monitor.frames import Row, Setup, encode, read_frame, to_row
from reprise.monitor.runner import Job, Runner, plan_jobs, sleep_unless_stopped
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext

FLUSH_EVERY = 0.05
"""Seconds between two batches of results sent to the parent."""
LAGS_EVERY = 1.0
"""Seconds between two reports of the scheduling lag."""


class _ShardRunner(Runner):
    """The runner, also keeping each run's lateness for the next report to the parent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_lags: list[float] = []
        """Lateness of the runs started since the last report."""

    def _note_lag(self, now: float, lag: float, job: Job) -> None:
        self.pending_lags.append(lag)
        super()._note_lag(now, lag, job)


class _Forward(logging.Handler):
    """Log records kept for the parent, which logs them as its own."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
        self.records.append(("log", record.name, record.levelno, message))


async def serve(setup: Setup, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Run the setup's jobs until told to stop (or stdin ends), sending frames."""
    loop = asyncio.get_running_loop()
    forward = _Forward()
    root = logging.getLogger()
    root.handlers[:] = [forward]
    root.setLevel(setup.log_level)
    store = None
    if setup.store_url is not None:  # only then: SQLAlchemy costs a worker 14 MB
        from reprise.store.database import Store, create_store_engine

        engine, display = create_store_engine(setup.store_url)
        store = Store(engine, display)
    jobs = plan_jobs(setup.plan)
    index_of = {(job.service, job.name): index for index, job in zip(setup.jobs, jobs, strict=True)}
    rows: list[Row] = []

    def on_result(service: str, name: str, result: ProbeResult, at: datetime) -> None:
        rows.append(to_row(index_of[(service, name)], result, at))

    context = ProbeContext(setup.plan, store)
    runner = _ShardRunner(jobs, context, on_result, setup.concurrency)
    stop = asyncio.Event()
    last_lags = loop.time()

    def send(*, final: bool = False) -> None:
        nonlocal rows, last_lags
        if rows:
            writer.write(encode(("results", rows)))
            rows = []
        if forward.records:
            records, forward.records = forward.records, []
            for record in records:
                writer.write(encode(record))
        now = loop.time()
        if final or now - last_lags >= LAGS_EVERY:
            lags, runner.pending_lags = runner.pending_lags, []
            loop_lag = context.lag.worst_since(last_lags)
            writer.write(encode(("lags", lags, runner.skipped, runner.inconclusive, loop_lag)))
            last_lags = now

    async def listen() -> None:
        while True:
            frame = await read_frame(reader)
            if frame is None or frame[0] == "stop":
                stop.set()
                return

    async def flush() -> None:
        while not stop.is_set():
            await sleep_unless_stopped(stop, FLUSH_EVERY)
            send()
            await writer.drain()

    listener = loop.create_task(listen())
    flusher = loop.create_task(flush())
    try:
        await runner.run(stop)
    finally:
        stop.set()
        listener.cancel()
        await asyncio.gather(listener, flusher, return_exceptions=True)
        await context.aclose()
        with contextlib.suppress(ConnectionError, RuntimeError):
            send(final=True)
            await writer.drain()
        writer.close()
        if store is not None:
            store.close()


async def _main(out_fd: int) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    frame = await read_frame(reader)
    if frame is None or frame[0] != "setup":
        return
    await serve(frame[1], reader, writer)


def main() -> None:
    """The worker's entry point: frames out on a private copy of stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    out_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    asyncio.run(_main(out_fd))


if __name__ == "__main__":
    main()

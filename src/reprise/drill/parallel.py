"""Report steps that run at the same time, each timed on its own.

A drill's checks are independent reads of the restored server (row counts and checksums,
amcheck); run one after the other they leave one of the two cores idle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

from reprise.errors import RepriseError
from reprise.restore.report import Report, Step

T = TypeVar("T")


def run_steps(report: Report, steps: list[tuple[str, Callable[[], list[T]]]]) -> list[T]:
    """Run each step on its own thread; record them in the given order, each with its own
    duration and result; return their results concatenated in that order. The first
    failure (in that order) is raised once all have finished."""
    records = [Step(name, datetime.now(UTC)) for name, _work in steps]
    report.steps.extend(records)

    def timed(record: Step, work: Callable[[], list[T]]) -> list[T]:
        clock = time.monotonic()
        try:
            result = work()
        except BaseException as error:
            record.result = "failed"
            record.detail = (
                error.message
                if isinstance(error, RepriseError)
                else (str(error) or type(error).__name__)
            )
            raise
        finally:
            record.seconds = time.monotonic() - clock
        record.result = "ok"
        return result

    with ThreadPoolExecutor(max_workers=max(1, len(steps)), thread_name_prefix="check") as pool:
        futures = [
            pool.submit(timed, record, work)
            for record, (_name, work) in zip(records, steps, strict=True)
        ]
        outcomes = [(future.result() if not future.exception() else None) for future in futures]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
    return [item for outcome in outcomes if outcome is not None for item in outcome]

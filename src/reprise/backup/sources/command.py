"""``command`` source: the standard output of a command as one part."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from reprise.backup.sources.base import PartSpec, SourceFacts
from reprise.backup.sources.process import producer_output
from reprise.plan.sources import CommandSource


class CommandRun:
    """Runs ``/bin/sh -c command``; its stdout is the part, its exit code must be 0."""

    def __init__(self, config: CommandSource, source_name: str) -> None:
        self.config = config
        self.source_name = source_name
        self.facts = SourceFacts(server={"command": config.command})

    def parts(self) -> Iterator[PartSpec]:
        """One part named after ``filename``."""
        config = self.config

        def open_output() -> producer_output:  # type: ignore[valid-type]
            return producer_output(
                ["/bin/sh", "-c", config.command],
                what=f"{self.source_name}: command",
                env=dict(os.environ),
                timeout=config.timeout.total_seconds(),
                hint="run the command by hand to see why; it must print the data on "
                "stdout and exit 0",
            )

        yield PartSpec(name=config.filename, role="output", open=open_output)


def open_run(config: CommandSource, source_name: str, work_dir: Path) -> CommandRun:
    """The backup of a ``command`` source (its standard output), as registered in
    ``reprise.backup.sources.registry``."""
    del work_dir  # streamed: nothing is staged on disk
    return CommandRun(config, source_name)

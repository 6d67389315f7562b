"""``files`` source: directories and files as one POSIX tar stream.

Permissions, owners (numeric and by name), times, symlinks and hard links are kept, as
GNU tar restores them; FIFOs, sockets and device nodes are left out and listed. Excludes
are glob patterns matched against the full path and the base name. With
``one_file_system``, mount points are kept as empty folders.
"""

from __future__ import annotations

import fnmatch
import os
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reprise.backup.sources.base import PartSpec, SourceFacts
from reprise.backup.sources.process import threaded_pipe
from reprise.errors import InputError, OperationError
from reprise.plan.sources import FilesSource

MAX_SKIPPED_LISTED = 50
"""Special files named in the manifest; past this only the count grows."""


class FilesRun:
    """Streams a tar of the configured paths from a thread, through a pipe."""

    def __init__(self, config: FilesSource, source_name: str) -> None:
        self.config = config
        self.source_name = source_name
        self.facts = SourceFacts(server={"paths": [str(path) for path in config.paths]})
        self.counts = {"files": 0, "directories": 0, "links": 0, "vanished": 0, "skipped": 0}
        self.skipped: list[str] = []

    def _excluded(self, path: str) -> bool:
        name = os.path.basename(path)
        return any(
            fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, pattern)
            for pattern in self.config.exclude
        )

    def _entries(self) -> Iterator[str]:
        for root in self.config.paths:
            top = str(root)
            if not os.path.lexists(top):
                raise InputError(
                    f"{self.source_name}: {top} does not exist",
                    hint="fix `paths` of this files source in the plan",
                )
            yield top
            if not os.path.isdir(top) or os.path.islink(top):
                continue
            device = os.lstat(top).st_dev
            for directory, dirs, files in os.walk(top, onerror=self._walk_error):
                dirs.sort()
                kept = []
                for name in dirs:
                    path = os.path.join(directory, name)
                    if self._excluded(path):
                        continue
                    yield path
                    same_device = os.lstat(path).st_dev == device
                    if not os.path.islink(path) and (
                        same_device or not self.config.one_file_system
                    ):
                        kept.append(name)
                dirs[:] = kept
                for name in sorted(files):
                    path = os.path.join(directory, name)
                    if not self._excluded(path):
                        yield path

    def _walk_error(self, error: OSError) -> None:
        raise OperationError(
            f"{self.source_name}: cannot read {error.filename}: {error.strerror}",
            hint="run the backup as a user who can read every path, or exclude it",
        )

    def _write_tar(self, sink: BinaryIO) -> None:
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as archive:
            for path in self._entries():
                try:
                    info = archive.gettarinfo(path, arcname=path.lstrip("/"))
                    if info is None or info.isdev():
                        # FIFOs, sockets and device nodes are made by the programs that use
                        # them, and a restore refuses them: leave them out, and say so.
                        self._skip(path)
                        continue
                    if info.isfile():
                        with Path(path).open("rb") as handle:
                            archive.addfile(info, handle)
                        self.counts["files"] += 1
                    else:
                        archive.addfile(info)
                        key = "directories" if info.isdir() else "links"
                        self.counts[key] += 1
                except FileNotFoundError:
                    self.counts["vanished"] += 1  # deleted while we walked: not an error
                except PermissionError as error:
                    raise OperationError(
                        f"{self.source_name}: cannot read {path}: {error.strerror}",
                        hint="run the backup as a user who can read it, or exclude it",
                    ) from error

    def _skip(self, path: str) -> None:
        self.counts["skipped"] += 1
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append(path)

    @contextmanager
    def _open_tar(self) -> Iterator[BinaryIO]:
        with threaded_pipe(self._write_tar, name="tar") as stream:
            yield stream
        self.facts.server["counts"] = dict(self.counts)
        if self.skipped:
            self.facts.server["skipped_special_files"] = list(self.skipped)

    def parts(self) -> Iterator[PartSpec]:
        """One tar part."""
        yield PartSpec(name="files.tar", role="files", open=self._open_tar, format="tar")


def open_run(config: FilesSource, source_name: str, work_dir: Path) -> FilesRun:
    """The backup of a ``files`` source (one tar stream of its paths), as registered in
    ``reprise.backup.sources.registry``."""
    del work_dir  # streamed: nothing is staged on disk
    return FilesRun(config, source_name)

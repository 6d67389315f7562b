"""The writing pipeline: plain bytes → zstd → age → SHA-256 → backend.

Nothing is held whole: the source is read in 1 MiB blocks, zstd compresses on its own
threads, age encrypts in 64 KiB chunks, and the backend takes the stream. Memory depends
on the block and S3 part sizes, never on the size of the data. Reading back is
``reprise.repository.streams``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, BinaryIO

from reprise.repository.backend import ObjectWriter
from reprise.repository.streams import (
    BLOCK,
    MeasuringReader,
    MeasuringWriter,
    Progress,
    original_errors,
)


@dataclass(frozen=True)
class StoredPart:
    """What the pipeline measured while storing one part."""

    name: str
    plain_size: int
    plain_sha256: str
    stored_size: int
    sha256: str


MAX_THREADS = 4
JOB_SIZE = 4 * 1024 * 1024


def compression_threads() -> int:
    """zstd worker threads: the cores, at most MAX_THREADS (zstd's workers run without the
    GIL; each holds about two jobs of JOB_SIZE, so the cap keeps memory bounded)."""
    return max(1, min(os.cpu_count() or 1, MAX_THREADS))


def _compressor(level: int) -> Any:
    import zstandard

    threads = compression_threads()
    params = zstandard.ZstdCompressionParameters.from_level(
        level,
        threads=threads if threads > 1 else 0,
        job_size=JOB_SIZE if threads > 1 else 0,
        write_checksum=True,
    )
    return zstandard.ZstdCompressor(compression_params=params)


def store_stream(
    name: str,
    source: BinaryIO,
    writer: ObjectWriter,
    recipients: list[Any],
    *,
    level: int = 3,
    progress: Progress | None = None,
) -> StoredPart:
    """Compress, encrypt and store ``source``; the caller commits or aborts ``writer``."""
    import pyrage

    plain = MeasuringReader(source, progress)
    compressor = _compressor(level)
    stored = MeasuringWriter(writer.write)
    with (
        compressor.stream_reader(plain, read_size=BLOCK, closefd=False) as compressed,
        original_errors(plain, stored),
    ):
        pyrage.encrypt_io(compressed, stored, recipients)
    return StoredPart(
        name, plain.size, plain.hash.hexdigest(), stored.size, stored.hash.hexdigest()
    )

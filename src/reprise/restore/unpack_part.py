"""Unpack one stored tar part in one pass, ``age`` and ``zstd`` decoding in their own processes.

A physical base backup is one large tar (1.3 GB of data directory: 1.1 s of zstd alone on
this class of CPU). Decompressing it in-process holds the GIL (python-zstandard's stream
reader does not release it), so the tar could not be written while the next block
decompressed. Here the stored bytes go to ``age --decrypt``, whose output goes straight to
``zstd -d`` through a pipe this process never reads (:mod:`reprise.restore.decoders`,
shared with a restore's staging); this process hashes the stored bytes
on one thread and, on another, unpacks zstd's output with
:func:`reprise.restore.unpack.unpack_stream`, counting it on the way. The three programs
share the two cores without waiting on a lock.

What is proven: the stored bytes' size and SHA-256 against the signed manifest, and the
plain size. The plain bytes are not hashed a second time (0.7 to 0.9 s of a core for
1.3 GB, on a machine whose two cores are both busy here): they are a function of the
stored bytes alone. age is authenticated encryption (its header MAC admits one file key,
every chunk is authenticated) and zstd decompression is deterministic, so stored bytes
equal to the signed ones decode to the plain bytes that were backed up, whoever re-wrote
the file; a re-encrypted or altered part fails the stored checksum. ``into`` is a
private folder that nobody uses before this returns; on any failure the caller removes
it. When ``age`` or ``zstd`` is not installed, or the identities are not native ones,
the part is decoded in-process (:func:`reprise.restore.staging.read_verified`, both
sides hashed) and unpacked the same way.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.errors import VerificationError
from reprise.repository.layout import backup_prefix
from reprise.repository.streams import BLOCK, widen
from reprise.restore.decoders import Measured, prove_stored
from reprise.restore.unpack import UnpackSummary, unpack_stream

if TYPE_CHECKING:
    from reprise.repository import Repository
    from reprise.repository.manifest import Manifest, Part
    from reprise.repository.streams import Progress


def unpack_part(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    into: Path,
    *,
    where: str,
    progress: Progress | None = None,
) -> UnpackSummary:
    """Decode one tar part into the safe unpacker in one pass, then prove it against the
    signed manifest (raises VerificationError naming the part). Not flushed to disk: the
    caller syncs once every part is in (:func:`reprise.restore.unpack.sync_file_system`)."""
    from reprise.restore.staging import decoding_programs, part_decoder

    programs = decoding_programs(identities)
    if programs is None:
        return _unpack_in_process(
            repository, manifest, part, identities, into, where=where, progress=progress
        )
    with part_decoder(repository, manifest, part, programs, progress=progress) as (
        decoder,
        location,
    ):
        try:
            summary = unpack_stream(decoder.plain, into, where=where, sync=False)  # type: ignore[arg-type]
            decoder.plain.drain()
        except BaseException:
            decoder.close(stop=True)
            failure = decoder.failure(location)
            if failure is not None:  # a damaged part ends its tar early: say what happened
                raise failure from None
            raise
        decoder.close(stop=False)
        failure = decoder.failure(location)
        if failure is not None:
            raise failure
    prove_stored(decoder, part, location, decoder.plain.size)
    return summary


def _unpack_in_process(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    into: Path,
    *,
    where: str,
    progress: Progress | None,
) -> UnpackSummary:
    """Decrypt and decompress on a thread (:func:`reprise.restore.staging.read_verified`)
    into a pipe that the unpacker reads; proven when the thread ends."""
    from reprise.restore.staging import read_verified

    read_end, write_end = os.pipe()
    widen(write_end)
    cancel = threading.Event()
    failures: list[BaseException] = []

    def feed() -> None:
        try:
            with os.fdopen(write_end, "wb", buffering=BLOCK) as sink:
                read_verified(
                    repository,
                    manifest,
                    part,
                    identities,
                    sink.write,
                    progress=progress,
                    cancel=cancel,
                    on_write_error=lambda error: error,
                )
        except BaseException as error:  # noqa: BLE001 - raised on the caller's thread
            failures.append(error)

    feeder = threading.Thread(target=feed, name="base-feed", daemon=True)
    feeder.start()
    location = repository.where(backup_prefix(manifest.source, manifest.id) + part.name)
    with os.fdopen(read_end, "rb", buffering=0) as source:
        plain = Measured(source, part.plain_size, location)  # stops a zstd bomb early
        try:
            summary = unpack_stream(plain, into, where=where, sync=False)  # type: ignore[arg-type]
            plain.drain()  # the tar's end may precede its last blocks
        except BaseException:
            cancel.set()
            source.close()  # the feeder's next write fails: it stops
            feeder.join()
            verified = [error for error in failures if isinstance(error, VerificationError)]
            if verified:  # a damaged part ends its tar early: say what really happened
                raise verified[0] from None
            raise
    feeder.join()
    if failures:
        raise failures[0]
    return summary

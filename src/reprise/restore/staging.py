"""Decrypt and decompress a backup's parts into plain files, verifying each on the way.

A part is written under a temporary name, its checksums compared with the signed manifest,
then fsynced and renamed: a staged file that exists is a verified file. A part that fails
is removed and the whole staging stops, naming it. When ``age`` and ``zstd`` are installed
they write the file themselves (:func:`write_with_programs`: the stored bytes are hashed,
the plain ones measured); otherwise it is decoded in-process, both sides hashed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from reprise.errors import InputError, OperationError, VerificationError, option
from reprise.repository import Repository
from reprise.repository.backend import NotFoundError
from reprise.repository.layout import backup_prefix
from reprise.repository.local import fsync_dir, storage_error
from reprise.repository.manifest import Manifest, Part
from reprise.repository.streams import STORED_SUFFIX, Progress, ReadBack, no_progress
from reprise.restore.decoders import Decoder, altered, prove_stored
from reprise.restore.external_age import AgeFailed, age_program, read_stream_with_age, secret_lines
from reprise.restore.pipelined import Cancelled, read_stream_pipelined
from reprise.security import create_private_file

PartProgress = Callable[[str, int], AbstractContextManager[Progress]]
"""Given (part name, stored size), a context giving the progress callback."""


def plain_name(part: Part) -> str:
    """The file name of a part once decrypted and decompressed (``db-akig.pgdump``)."""
    return part.name.removesuffix(STORED_SUFFIX)


def check_identity(manifest: Manifest, identities: list[Any], where: str) -> None:
    """Refuse early, naming the recipients, when no identity of ours can decrypt."""
    ours = {str(identity.to_public()) for identity in identities}
    needed = manifest.encryption.recipients
    if ours.isdisjoint(needed):
        raise InputError(
            f"{where}: backup {manifest.id} is encrypted to {', '.join(needed)}; the "
            f"identity of this plan is for {', '.join(sorted(ours))}",
            hint="set keys.identity to the identity of one of those recipients",
        )


@dataclass(frozen=True)
class StagedPart:
    """A verified plain file."""

    part: Part
    path: Path


def stage_part(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    directory: Path,
    *,
    final_name: str | None = None,
    progress: Progress | None = None,
    durable: bool = True,
    cancel: threading.Event | None = None,
) -> StagedPart:
    """Write one verified plain part into ``directory`` (raises VerificationError naming the
    part when its bytes do not match the signed manifest). ``durable=False`` skips the
    fsyncs, for files that are read at once and deleted (a restore's staging: after a
    crash the restore starts over, and an fsync of 1 GB costs two seconds); the file still
    gets its final name only once verified. ``cancel`` stops it (raises ``Cancelled``)."""

    name = final_name or plain_name(part)
    if "/" in part.name or "\x00" in part.name or name in ("", ".", ".."):
        # A signed manifest can still come from a compromised host: a part is one file.
        raise VerificationError(
            f"backup {manifest.id}: part name {part.name!r} is not a plain file name",
            hint="the backup cannot be trusted; use another one",
        )
    final = directory / name
    temporary = final.with_name(f".{final.name}.partial-{secrets.token_hex(4)}")
    try:
        handle = os.fdopen(create_private_file(temporary), "wb")  # 0600: plain data
    except OSError as error:
        raise storage_error(error, directory, "creating a file") from error
    try:
        with handle:
            if not write_with_programs(
                repository,
                manifest,
                part,
                identities,
                handle.fileno(),
                progress=progress,
                cancel=cancel,
                where=directory / final.name,
            ):
                read_verified(
                    repository,
                    manifest,
                    part,
                    identities,
                    handle.write,
                    progress=progress,
                    cancel=cancel,
                    on_write_error=lambda error: storage_error(
                        error, directory, f"writing {final.name}"
                    ),
                )
            try:
                handle.flush()
                if durable:
                    os.fsync(handle.fileno())
            except OSError as error:
                raise storage_error(error, directory, f"writing {final.name}") from error
        temporary.rename(final)
        if durable:
            fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return StagedPart(part, final)


def write_with_programs(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    output: int,
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    where: Path,
) -> bool:
    """Decode one part into the new empty file ``output`` (ours, private) with ``age -d |
    zstd -d`` in two processes, this process only feeding age and hashing the stored bytes
    (:mod:`reprise.restore.decoders`); then prove it: raises VerificationError naming the
    part when its stored bytes or its plain size are not the signed manifest's (the signed
    stored bytes determine the plain ones). Whatever the file holds is only trustworthy
    once this returns True. False, having done nothing, when ``age`` or ``zstd`` is not
    installed or the identities are not native ones (then :func:`read_verified`)."""
    programs = decoding_programs(identities)
    if programs is None:
        return False
    with part_decoder(
        repository,
        manifest,
        part,
        programs,
        progress=progress,
        output=output,
        cancel=cancel,
        name="stage-feed",
    ) as (decoder, location):
        try:
            decoder.wait()
        except BaseException:
            decoder.close(stop=True)
            raise
        decoder.close(stop=False)
        if cancel is not None and cancel.is_set():
            raise Cancelled
        if decoder.over:
            raise altered(location)
        if decoder.output_too_large():  # more plain bytes than signed
            prove_stored(decoder, part, location, part.plain_size + 1)
        failure = decoder.write_failure(str(where)) or decoder.failure(location)
        if failure is not None:
            raise failure
    prove_stored(decoder, part, location, os.fstat(output).st_size)
    return True


def read_verified(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    identities: list[Any],
    sink: Callable[[bytes], Any],
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_write_error: Callable[[OSError], Exception],
) -> None:
    """Decrypt and decompress one part into ``sink``, then prove it: raises
    VerificationError naming the part when its stored or plain bytes are not the signed
    manifest's. Whatever ``sink`` received is only trustworthy once this returns; an
    OSError of the sink (a full disk) becomes ``on_write_error(error)``."""
    import pyrage
    import zstandard

    key = backup_prefix(manifest.source, manifest.id) + part.name
    where = repository.where(key)
    with open_part(repository, key, manifest) as stored:
        try:
            result = read_part(stored, identities, sink, progress, cancel=cancel)
        except (AgeFailed, pyrage.DecryptError) as error:
            raise VerificationError(
                f"{where}: cannot decrypt ({error}): the part is damaged",
                hint="use another backup",
            ) from error
        except zstandard.ZstdError as error:
            raise VerificationError(
                f"{where}: decrypts but does not decompress ({error}): the part is damaged",
                hint="use another backup",
            ) from error
        except OSError as error:
            if error.errno is None:  # pyrage reports a bad chunk as a plain I/O error
                raise VerificationError(
                    f"{where}: cannot decrypt ({error}): the part is damaged",
                    hint="use another backup",
                ) from error
            raise on_write_error(error) from error
    if result.sha256 != part.sha256 or result.stored_size != part.stored_size:
        raise VerificationError(
            f"{where}: checksum mismatch: the stored bytes were altered",
            hint="use another backup",
        )
    if result.plain_size != part.plain_size or (
        part.plain_sha256 is not None and result.plain_sha256 != part.plain_sha256
    ):
        raise VerificationError(
            f"{where}: decrypted content differs from what was backed up",
            hint="use another backup",
        )


def read_part(
    stored: BinaryIO,
    identities: list[Any],
    sink: Callable[[bytes], Any],
    progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
) -> ReadBack:
    """Decrypt, decompress and measure a stored part on both cores: with the ``age``
    program when it is installed and the identities are native ones, else in-process."""
    cancel = cancel or threading.Event()
    age = age_program()
    secret = secret_lines(identities) if age else None
    if age is not None and secret is not None:
        return read_stream_with_age(
            stored, identities, sink, progress, age=age, secret=secret, cancel=cancel
        )
    return read_stream_pipelined(stored, identities, sink, progress, cancel=cancel)


def decoding_programs(identities: list[Any]) -> tuple[str, str, bytes] | None:
    """``age``, ``zstd`` and the identities as an age identity file, when both programs
    are installed and the identities are native ones (else the in-process path)."""
    age, zstd = age_program(), shutil.which("zstd")
    secret = secret_lines(identities) if age else None
    if age is None or zstd is None or secret is None:
        return None
    return age, zstd, secret


@contextlib.contextmanager
def part_decoder(
    repository: Repository,
    manifest: Manifest,
    part: Part,
    programs: tuple[str, str, bytes],
    *,
    progress: Progress | None,
    output: int | None = None,
    cancel: threading.Event | None = None,
    name: str = "base-feed",
) -> Iterator[tuple[Decoder, str]]:
    """A :class:`Decoder` running on the stored part, bounded by the signed sizes (more
    stored bytes than signed stop the feeding, more plain bytes stop zstd), with the
    part's location for messages. The caller waits for it, closes it and proves it."""
    age, zstd, secret = programs
    key = backup_prefix(manifest.source, manifest.id) + part.name
    location = repository.where(key)
    with open_part(repository, key, manifest) as stored:
        yield (
            Decoder(
                stored,
                age=age,
                zstd=zstd,
                secret=secret,
                progress=progress,
                output=output,
                cancel=cancel,
                name=name,
                max_stored=part.stored_size,
                max_output=part.plain_size,
                where=location,
                chunks=(part.chunk_size, part.chunk_sha256)  # type: ignore[arg-type]
                if part.chunked
                else None,
            ),
            location,
        )


def open_part(repository: Repository, key: str, manifest: Manifest) -> BinaryIO:
    """The stored part ``key`` for reading; a missing one is a VerificationError."""
    try:
        return repository.backend.open_reader(key)
    except NotFoundError:
        raise VerificationError(
            f"{repository.where(key)}: missing, although the signed "
            f"manifest of backup {manifest.id} lists it (deleted or "
            "moved after the backup)",
            hint=f"use another backup; `reprise backup verify {option('all')}` shows which "
            "are whole",
        ) from None


def stage_parts(
    repository: Repository,
    manifest: Manifest,
    parts: Iterable[Part],
    identities: list[Any],
    directory: Path,
    *,
    progress: PartProgress | None = None,
) -> list[StagedPart]:
    """Stage several parts; on any failure, the ones already staged are removed too. They
    are working files, read once and deleted (unpacked, or loaded by pg_restore), so they
    are not fsynced: after a crash the restore starts over in a new folder."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    report = progress or no_progress
    staged: list[StagedPart] = []
    try:
        for part in parts:
            with report(part.name, part.stored_size) as callback:
                staged.append(
                    stage_part(
                        repository,
                        manifest,
                        part,
                        identities,
                        directory,
                        progress=callback,
                        durable=False,
                    )
                )
    except BaseException:
        remove_staged(staged)
        raise
    return staged


def remove_staged(staged: Iterable[StagedPart]) -> None:
    """Delete staged files (best effort)."""
    for item in staged:
        with contextlib.suppress(OSError):
            item.path.unlink()


def free_space_check(directory: Path, needed: int) -> None:
    """Refuse before writing when the file system clearly cannot hold ``needed`` bytes."""
    probe = directory
    while not probe.exists():
        probe = probe.parent
    stats = os.statvfs(probe)
    available = stats.f_bavail * stats.f_frsize
    if available < needed:
        from reprise.plan.units import format_size

        raise OperationError(
            f"{directory}: {format_size(available)} free, the restore needs {format_size(needed)}",
            hint="free space or choose a directory on a larger volume",
        )

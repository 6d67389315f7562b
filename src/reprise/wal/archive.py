"""The WAL archive of one physical source in a repository.

Layout: ``wal/<source>/<file name>-<SHA-256 of the plain file>.zst.age``. The checksum in
the name makes a push idempotent (the same file again is a no-op) and lets a second,
different file under the same name be refused, which is what PostgreSQL's documentation
asks of an archive_command; a fetch checks the decrypted bytes against it.

Each archived file has a signed sidecar, ``<object>.sig``: the backup host's signing key
signs one line naming the repository, the source, the file, the SHA-256 of the plain file
and the SHA-256 and size of the stored bytes. A fetch delivers a file only when its sidecar
is signed by a key the plan trusts and every figure matches, so that whoever can write the
repository cannot plant a segment (age encryption alone proves nothing: anyone can encrypt
to a public recipient).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reprise.backup.pipeline import store_stream
from reprise.errors import InputError, OperationError, VerificationError
from reprise.repository import Repository
from reprise.repository.backend import NotFoundError, get_bytes, put_bytes
from reprise.repository.streams import STORED_SUFFIX, hash_stream, read_stream
from reprise.repository.trust import TrustError, check_signature
from reprise.wal.names import WAL_FILE

if TYPE_CHECKING:
    from reprise.repository.keys import SigningKey

WAL_ROOT = "wal"
SIDECAR_SUFFIX = ".sig"
SIDECAR_FORMAT = "reprise-wal-signature"
STATEMENT_TAG = "reprise-wal-v1"


@dataclass(frozen=True)
class ArchivedFile:
    """One archived WAL file."""

    name: str
    sha256: str
    key: str
    stored_size: int
    modified: datetime


@dataclass(frozen=True)
class Statement:
    """What a WAL sidecar's signature vouches for."""

    repository: str
    source: str
    name: str
    plain_sha256: str
    stored_sha256: str
    stored_size: int

    def line(self) -> str:
        """The exact signed text (one line, no newline)."""
        return (
            f"{STATEMENT_TAG} {self.repository} {self.source} {self.name} "
            f"{self.plain_sha256} {self.stored_sha256} {self.stored_size}"
        )

    @classmethod
    def parse(cls, line: str) -> Statement | None:
        """The statement a line states, or None when it is not one."""
        fields = line.split(" ")
        if len(fields) != 7 or fields[0] != STATEMENT_TAG or not fields[6].isdigit():
            return None
        return cls(fields[1], fields[2], fields[3], fields[4], fields[5], int(fields[6]))


def encode_sidecar(statement: Statement, signer: SigningKey) -> bytes:
    """The sidecar's bytes: the statement, its signature (base64) and the signer."""
    line = statement.line()
    return (
        json.dumps(
            {
                "format": SIDECAR_FORMAT,
                "version": 1,
                "statement": line,
                "signing_key": signer.fingerprint,
                "signature": base64.b64encode(signer.sign(line.encode())).decode(),
            },
            indent=2,
        )
        + "\n"
    ).encode()


IN_MEMORY = 64 * 1024 * 1024
"""Files up to this size (WAL segments are 16 MiB unless initdb was told otherwise) are
pushed from memory; bigger ones are streamed."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash_file(path: Path) -> str:
    with path.open("rb") as handle:
        return hash_stream(handle)[1]


class WalArchive:
    """Push, fetch and list the WAL of ``source`` in ``repository``."""

    def __init__(self, repository: Repository, source: str) -> None:
        self.repository = repository
        self.source = source
        self.prefix = f"{WAL_ROOT}/{source}/"

    def _parse(self, key: str, size: int, modified: datetime) -> ArchivedFile | None:
        stem = key[len(self.prefix) :]
        if not stem.endswith(STORED_SUFFIX) or "-" not in stem:
            return None
        name, digest = stem[: -len(STORED_SUFFIX)].rsplit("-", 1)
        if not WAL_FILE.match(name) or len(digest) != 64:
            return None
        return ArchivedFile(name, digest, key, size, modified)

    def files(self, name_prefix: str = "") -> Iterator[ArchivedFile]:
        """Archived files in name order (optionally only names starting with a prefix)."""
        for info in self.repository.backend.list(self.prefix + name_prefix):
            found = self._parse(info.key, info.size, info.modified)
            if found is not None:
                yield found

    def find(self, name: str) -> list[ArchivedFile]:
        """Every archived copy of ``name`` (one, unless something went wrong)."""
        return [item for item in self.files(name + "-") if item.name == name]

    def sidecar_key(self, item: ArchivedFile) -> str:
        """Where the signature of an archived file is."""
        return item.key + SIDECAR_SUFFIX

    def signed_statement(self, item: ArchivedFile) -> Statement:
        """The statement of ``item``'s sidecar, once its signature is proven to come from a
        key the plan trusts and it names this very file; raises TrustError otherwise."""
        key = self.sidecar_key(item)
        where = self.repository.where(item.key)
        try:
            raw = get_bytes(self.repository.backend, key, limit=64 * 1024)
        except NotFoundError:
            raise TrustError(
                f"{where}: not signed (no {item.key.rsplit('/', 1)[-1]}"
                f"{SIDECAR_SUFFIX}): refusing to deliver it",
                problem="untrusted",
                hint="a WAL file without a signature may have been planted by "
                "whoever can write the repository; if this host archived "
                "it before WAL signing existed, run `reprise wal push` "
                "again with the original file",
            ) from None
        try:
            sidecar = json.loads(raw)
            line = sidecar["statement"]
            signature = base64.b64decode(sidecar["signature"], validate=True)
            claimed = sidecar.get("signing_key")
            if not isinstance(line, str) or sidecar.get("format") != SIDECAR_FORMAT:
                raise ValueError("not a WAL signature")
        except (ValueError, KeyError, TypeError, UnicodeError) as error:
            raise TrustError(
                f"{self.repository.where(key)}: unreadable signature ({error})",
                problem="damaged",
                hint="the archived file cannot be trusted",
            ) from error
        check_signature(
            line.encode(),
            signature,
            self.repository.trust,
            self.repository.where(key),
            claimed=claimed if isinstance(claimed, str) else None,
            config=self.repository.config_or_none,
            what="WAL file",
        )
        statement = Statement.parse(line)
        expected = (self.repository.name, self.source, item.name, item.sha256)
        if (
            statement is None
            or (statement.repository, statement.source, statement.name, statement.plain_sha256)
            != expected
        ):
            raise TrustError(
                f"{where}: its signature vouches for another file ({line[:200]})",
                problem="moved",
                hint="a signed WAL file was copied under another name or "
                "source; it cannot be trusted here",
            )
        return statement

    def check_signatures(self, items: list[ArchivedFile], *, workers: int = 8) -> None:
        """Prove every file of a replay path signed by a trusted key before anything is
        restored (raises the first TrustError, in path order)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
            for _statement in pool.map(self.signed_statement, items):
                pass

    def _signed(self, item: ArchivedFile) -> bool:
        try:
            self.signed_statement(item)
        except VerificationError:
            return False
        return True

    def push(self, path: Path, recipients: list[Any], signer: SigningKey, *, level: int) -> bool:
        """Archive one file with its signed sidecar; True if stored, False if the identical
        file was already there, signed. Raises when a different file is archived under that
        name. An identical file whose signature is missing or not trusted (a push cut
        short, or a planted copy) is stored again and signed."""
        name = path.name
        if not WAL_FILE.match(name):
            raise InputError(
                f"{path}: not a WAL file name",
                hint="archive_command = 'reprise wal push %p' passes the path "
                "of a segment, history or backup file",
            )
        try:
            plain = path.read_bytes() if path.stat().st_size <= IN_MEMORY else None
            digest = _hash_file(path) if plain is None else ""
        except OSError as error:
            raise OperationError(f"{path}: cannot read ({error.strerror})") from error
        if plain is not None:
            return self._push_in_memory(name, plain, recipients, signer, level)
        if self._archived(name, digest):
            return False
        key = f"{self.prefix}{name}-{digest}{STORED_SUFFIX}"
        writer = self.repository.backend.open_writer(key)
        try:
            with path.open("rb") as stream:
                stored = store_stream(name, stream, writer, recipients, level=level)
        except BaseException:
            writer.abort()
            raise
        if stored.plain_sha256 != digest:
            writer.abort()
            raise OperationError(
                f"{path}: changed while it was archived",
                hint="PostgreSQL should not change a segment it archives",
            )
        writer.commit()
        statement = Statement(
            self.repository.name, self.source, name, digest, stored.sha256, stored.stored_size
        )
        put_bytes(self.repository.backend, key + SIDECAR_SUFFIX, encode_sidecar(statement, signer))
        return True

    def _archived(self, name: str, digest: str) -> bool:
        """True when this very file is archived and signed; raises when a different file
        is archived under its name."""
        existing = self.find(name)
        same = [item for item in existing if item.sha256 == digest]
        if same and self._signed(same[0]):
            return True
        if existing and not same:
            raise OperationError(
                f"{self.repository.where(self.prefix + name)}: a different {name} is already "
                f"archived (SHA-256 {existing[0].sha256[:16]}…, this one {digest[:16]}…); "
                "refusing to replace it",
                hint="two servers archive into the same source, or a restored copy still "
                "archives: give each server its own source, or set archive_mode = off "
                "on the copy",
            )
        return False

    def _push_in_memory(
        self, name: str, plain: bytes, recipients: list[Any], signer: SigningKey, level: int
    ) -> bool:
        """push() for a file of ordinary segment size: read once, hashed on a thread while
        it is compressed (both release the interpreter lock), encrypted in one call. The
        stored object is the same zstd frame in an age file that the streaming path
        writes, and reads back through the same streaming reader."""
        import threading

        import pyrage
        import zstandard

        hashed: list[str] = []
        hashing = threading.Thread(target=lambda: hashed.append(_sha256(plain)))
        hashing.start()
        compressed = zstandard.ZstdCompressor(level=level).compress(plain)
        hashing.join()
        digest = hashed[0]
        if self._archived(name, digest):
            return False
        stored = pyrage.encrypt(compressed, recipients)
        key = f"{self.prefix}{name}-{digest}{STORED_SUFFIX}"
        writer = self.repository.backend.open_writer(key)
        try:
            writer.write(stored)
        except BaseException:
            writer.abort()
            raise
        writer.commit()
        statement = Statement(
            self.repository.name, self.source, name, digest, _sha256(stored), len(stored)
        )
        put_bytes(self.repository.backend, key + SIDECAR_SUFFIX, encode_sidecar(statement, signer))
        return True

    def fetch(self, item: ArchivedFile, destination: Path, identities: list[Any]) -> None:
        """Decrypt one archived file to ``destination`` (temporary name, checked, renamed):
        only when its signature is trusted and the stored and plain bytes match it."""
        statement = self.signed_statement(item)
        temporary = destination.with_name(f".{destination.name}.{secrets.token_hex(4)}")
        where = self.repository.where(item.key)
        try:
            with (
                temporary.open("xb") as handle,
                self.repository.backend.open_reader(item.key) as stored,
            ):
                result = _read_checked(stored, identities, handle.write, where)
            _check_result(result, item, statement, where)
            temporary.rename(destination)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise

    def read_small(self, item: ArchivedFile, identities: list[Any]) -> bytes:
        """A small archived file (a timeline history), signature checked, decrypted and
        checked."""
        statement = self.signed_statement(item)
        chunks: list[bytes] = []
        where = self.repository.where(item.key)
        with self.repository.backend.open_reader(item.key) as stored:
            result = _read_checked(stored, identities, chunks.append, where)
        _check_result(result, item, statement, where)
        return b"".join(chunks)


def _check_result(result: Any, item: ArchivedFile, statement: Statement, where: str) -> None:
    if result.sha256 != statement.stored_sha256 or result.stored_size != statement.stored_size:
        raise VerificationError(
            f"{where}: the stored bytes differ from the signed ones (altered or replaced)",
            hint="the archived file is damaged or was tampered with",
        )
    if result.plain_sha256 != item.sha256:
        raise VerificationError(
            f"{where}: content does not match its checksum", hint="the archived segment is damaged"
        )


def _read_checked(stored: Any, identities: list[Any], sink: Any, where: str) -> Any:
    """read_stream, with damage and wrong keys reported as verification failures."""
    import pyrage
    import zstandard

    try:
        return read_stream(stored, identities, sink)
    except (pyrage.DecryptError, zstandard.ZstdError) as error:
        raise VerificationError(
            f"{where}: cannot decrypt or decompress ({error})",
            hint="the archived file is damaged, or the identity is not one of its recipients",
        ) from error
    except OSError as error:
        if error.errno is not None:
            raise
        raise VerificationError(
            f"{where}: cannot decrypt ({error})", hint="the archived file is damaged"
        ) from error

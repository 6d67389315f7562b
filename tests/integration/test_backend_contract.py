"""The Backend contract (reprise.repository.backend), checked against every backend.

Each test runs on a local folder and on S3 (the moto server process on loopback), both
built from plan settings through the backend registry. As in Litestream's replica-client
tests, only the promises of the protocol are asserted: what one backend does, the others
must do too, so that everything above the protocol works on any storage.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from reprise.errors import InputError, OperationError
from reprise.plan.model import LocalRepository, S3Repository
from reprise.repository.backend import (
    Backend,
    NotFoundError,
    ObjectInfo,
    check_key,
    get_bytes,
    put_bytes,
)
from reprise.repository.backends import BACKENDS, backend_for
from reprise.repository.local import LocalBackend
from tests.support.backups import S3_ENV, S3Server

MIB = 1024 * 1024
PART_SIZE = 5 * MIB
"""The smallest S3 part: a few MiB already make a multipart upload."""

KEY = "backups/db/20261121T101500Z-a1b2c3/part-0001.bin"

BAD_KEYS = [
    "",
    ".",
    "..",
    "../x",
    "a/../b",
    "a/./b",
    "a/..",
    "/absolute",
    "a//b",
    "a/",
    "a b",
    "a\\b",
    "a\x00b",
    "~/x",
    "café",
]
"""Keys that could leave the repository, or that some storage would read differently."""


@dataclass
class Contract:
    """One backend under test, with what only its storage can tell."""

    kind: str
    backend: Backend
    raw: Any = field(repr=False)
    """Lists everything stored for the repository (temporary and pending uploads too)."""
    neighbours: set[str] = field(default_factory=set)
    """What lies outside the repository in the same storage, by raw name."""

    def stored(self) -> set[str]:
        """Everything the storage holds for the repository (``raw``)."""
        result: set[str] = self.raw()
        return result

    def listed(self, prefix: str = "") -> list[str]:
        """The keys the backend lists under ``prefix``, in its order."""
        return [info.key for info in self.backend.list(prefix)]


@pytest.fixture(scope="module")
def s3_process() -> Iterator[S3Server]:
    """One S3 server process for the module (each test has its own bucket)."""
    server = S3Server()
    try:
        yield server
    finally:
        server.close()


def _local(request: pytest.FixtureRequest, tmp_path: Path) -> Contract:
    root = tmp_path / "repository"
    neighbour = tmp_path / "repository-neighbour" / "a" / "1"
    neighbour.parent.mkdir(parents=True)
    neighbour.write_bytes(b"not ours")

    def raw() -> set[str]:
        if not root.exists():
            return set()
        return {
            Path(folder, name).relative_to(root).as_posix()
            for folder, _dirs, files in os.walk(root)
            for name in files
        }

    backend = backend_for(LocalRepository(kind="local", path=root))
    return Contract("local", backend, raw, {str(neighbour)})


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> Contract:
    server: S3Server = request.getfixturevalue("s3_process")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    for name, value in S3_ENV.items():
        monkeypatch.setenv(name, value)
    client = server.client()
    bucket = f"contract-{secrets.token_hex(6)}"
    client.create_bucket(Bucket=bucket)
    prefix = "prod/reprise/"
    neighbours = {"prod/reprise-neighbour/a/1", "prod/reprise", "outside"}
    for name in neighbours:
        client.put_object(Bucket=bucket, Key=name, Body=b"not ours")

    def raw() -> set[str]:
        found: set[str] = set()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            found |= {item["Key"] for item in page.get("Contents", [])}
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        found |= {f"(upload) {upload['Key']}" for upload in uploads}
        return {name[len(prefix) :] for name in found - neighbours}

    settings = S3Repository(
        kind="s3",
        bucket=bucket,
        prefix=prefix,
        endpoint_url=server.url,
        region="us-east-1",
        part_size=PART_SIZE,
    )
    return Contract("s3", backend_for(settings), raw, neighbours)


BUILDERS: dict[str, Callable[[pytest.FixtureRequest, Path], Contract]] = {
    "local": _local,
    "s3": _s3,
}
"""Backend kind → how to build a fresh repository of it for one test. A new backend adds one
line here; ``test_every_backend_is_under_contract`` fails until it does."""


@pytest.fixture(params=sorted(BUILDERS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Contract:
    """A fresh, empty repository on each backend, with a neighbour outside it."""
    return BUILDERS[request.param](request, tmp_path)


def test_every_backend_is_under_contract() -> None:
    """Every kind of the backend registry runs this suite (none is skipped by omission)."""
    assert set(BUILDERS) == set(BACKENDS)


def _read(backend: Backend, key: str) -> bytes:
    with backend.open_reader(key) as reader:
        data: bytes = reader.read()
    return data


def _near_now(moment: datetime) -> bool:
    return moment.tzinfo is not None and abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


@pytest.mark.parametrize("immutable", [True, False])
def test_written_bytes_read_back_with_their_size_and_time(store: Contract, immutable: bool) -> None:
    data = b"reprise \x00\xff" * 1000
    put_bytes(store.backend, KEY, data, immutable=immutable)
    assert _read(store.backend, KEY) == data
    assert get_bytes(store.backend, KEY) == data
    info = store.backend.stat(KEY)
    assert isinstance(info, ObjectInfo)
    assert (info.key, info.size) == (KEY, len(data))
    assert _near_now(info.modified), info.modified
    [listed] = store.backend.list("backups/")
    assert (listed.key, listed.size) == (KEY, len(data))
    assert abs(listed.modified - info.modified) < timedelta(seconds=2)
    assert store.stored() == {KEY}


def test_an_empty_object_is_an_object(store: Contract) -> None:
    put_bytes(store.backend, "locks/empty", b"")
    assert _read(store.backend, "locks/empty") == b""
    info = store.backend.stat("locks/empty")
    assert info is not None and info.size == 0
    assert store.listed() == ["locks/empty"]


@pytest.mark.parametrize("key", ["backups/db/missing", "nowhere/at/all", "backups/db/present/x"])
def test_a_missing_key_is_not_found(store: Contract, key: str) -> None:
    put_bytes(store.backend, "backups/db/present", b"x")
    with pytest.raises(NotFoundError) as raised:
        store.backend.open_reader(key)
    assert isinstance(raised.value, KeyError)
    assert raised.value.args == (key,)
    with pytest.raises(NotFoundError):
        get_bytes(store.backend, key)
    assert store.backend.stat(key) is None
    store.backend.delete(key)  # missing is fine
    assert store.listed() == ["backups/db/present"]


def test_a_prefix_of_other_keys_is_no_object(store: Contract) -> None:
    put_bytes(store.backend, "backups/db/1/a", b"a")
    for prefix in ("backups", "backups/db", "backups/db/1"):
        assert store.backend.stat(prefix) is None, prefix
    assert store.listed("backups/db/1") == ["backups/db/1/a"]


def test_reading_a_prefix_of_other_keys_is_not_found(
    store: Contract, request: pytest.FixtureRequest
) -> None:
    if isinstance(store.backend, LocalBackend):
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                raises=OperationError,
                reason="backends disagree: the local backend refuses to open a folder "
                "(OperationError, as for a device or a FIFO) where S3 has no such object",
            )
        )
    put_bytes(store.backend, "backups/db/1/a", b"a")
    with pytest.raises(NotFoundError):
        store.backend.open_reader("backups/db/1")


def test_list_gives_the_prefix_and_only_it_in_key_order(store: Contract) -> None:
    keys = ["b/2", "a/z/2", "a0", "a-b/1", "a/1", "a.c/3", "A/1", "ab/1", "a/y"]
    for key in keys:  # in no particular order
        put_bytes(store.backend, key, key.encode())
    assert store.listed() == sorted(keys)
    assert store.listed("a/") == ["a/1", "a/y", "a/z/2"]
    assert store.listed("a/z") == ["a/z/2"]
    # A prefix is a string prefix, not a folder: "a" also finds "a-b/…", "a.c/…", "a0".
    assert store.listed("a") == ["a-b/1", "a.c/3", "a/1", "a/y", "a/z/2", "a0", "ab/1"]
    assert store.listed("c") == []
    assert store.listed("a/1/") == []
    infos = list(store.backend.list("b/"))
    assert [(info.key, info.size) for info in infos] == [("b/2", 3)]


def test_list_never_reaches_outside_the_repository(store: Contract) -> None:
    put_bytes(store.backend, "a/1", b"ours")
    assert store.listed() == ["a/1"]
    for prefix in ("../", "..", "/", "../repository-neighbour/", "prod/"):
        assert store.listed(prefix) == [], prefix


def test_list_of_more_than_a_thousand_keys_is_complete_and_ordered(store: Contract) -> None:
    keys = [f"wal/000000010000000{index // 256:X}000000{index % 256:02X}" for index in range(1050)]
    keys += [f"other/{index}" for index in range(3)]
    for key in keys:
        put_bytes(store.backend, key, key[-2:].encode())
    listed = list(store.backend.list("wal/"))
    assert [info.key for info in listed] == sorted(key for key in keys if key.startswith("wal/"))
    assert len(listed) == 1050
    assert {info.size for info in listed} == {2}
    assert len(store.listed()) == 1053


def test_nothing_is_visible_until_commit(store: Contract) -> None:
    writer = store.backend.open_writer(KEY)
    writer.write(b"first half, ")
    writer.write(memoryview(b"second half"))
    assert store.backend.stat(KEY) is None
    with pytest.raises(NotFoundError):
        store.backend.open_reader(KEY)
    assert KEY not in store.listed()
    writer.commit()
    assert _read(store.backend, KEY) == b"first half, second half"
    assert KEY in store.listed()


def test_an_overwrite_replaces_the_object_at_commit_only(store: Contract) -> None:
    put_bytes(store.backend, KEY, b"version one")
    writer = store.backend.open_writer(KEY)
    writer.write(b"version two, longer")
    assert _read(store.backend, KEY) == b"version one"
    info = store.backend.stat(KEY)
    assert info is not None and info.size == len(b"version one")
    writer.commit()
    assert _read(store.backend, KEY) == b"version two, longer"
    info = store.backend.stat(KEY)
    assert info is not None and info.size == len(b"version two, longer")
    assert store.listed() == [KEY]


def test_an_aborted_writer_leaves_nothing(store: Contract) -> None:
    writer = store.backend.open_writer(KEY)
    block = secrets.token_bytes(MIB)
    for _ in range(6):  # past one S3 part: a multipart upload is under way
        writer.write(block)
    writer.abort()
    writer.abort()  # twice is harmless
    assert store.backend.stat(KEY) is None
    with pytest.raises(NotFoundError):
        store.backend.open_reader(KEY)
    assert store.listed() == []
    assert store.stored() == set(), "no temporary file, no pending upload"


def test_an_aborted_overwrite_leaves_the_object_as_it_was(store: Contract) -> None:
    put_bytes(store.backend, KEY, b"kept")
    writer = store.backend.open_writer(KEY)
    writer.write(b"dropped" * 1000)
    writer.abort()
    assert _read(store.backend, KEY) == b"kept"
    assert store.listed() == [KEY]
    assert store.stored() == {KEY}


def test_put_exclusive_takes_a_free_key_once(store: Contract) -> None:
    assert store.backend.put_exclusive("locks/backup-app", b"first holder")
    assert not store.backend.put_exclusive("locks/backup-app", b"second holder")
    assert _read(store.backend, "locks/backup-app") == b"first holder"
    put_bytes(store.backend, "locks/written", b"by a writer")
    assert not store.backend.put_exclusive("locks/written", b"late")
    assert _read(store.backend, "locks/written") == b"by a writer"
    store.backend.delete("locks/backup-app")
    assert store.backend.put_exclusive("locks/backup-app", b"next holder")
    assert _read(store.backend, "locks/backup-app") == b"next holder"


def test_a_deleted_object_is_gone_and_its_neighbours_stay(store: Contract) -> None:
    put_bytes(store.backend, "backups/db/1/a", b"a")
    put_bytes(store.backend, "backups/db/1/b", b"b")
    store.backend.delete("backups/db/1/a")
    with pytest.raises(NotFoundError):
        store.backend.open_reader("backups/db/1/a")
    assert store.backend.stat("backups/db/1/a") is None
    assert store.listed() == ["backups/db/1/b"]
    store.backend.delete("backups/db/1/b")
    assert store.listed() == []
    assert store.stored() == set()


def test_deleting_a_missing_key_is_fine(store: Contract) -> None:
    put_bytes(store.backend, "backups/db/1/a", b"a")
    store.backend.delete("backups/db/1/missing")
    store.backend.delete("never/written/at/all")
    store.backend.delete("backups/db/1/a")
    store.backend.delete("backups/db/1/a")  # again
    assert store.listed() == []


def test_a_multi_mib_object_streams_in_blocks(store: Contract) -> None:
    size = 12 * MIB + 12345  # three S3 parts, the last one short
    digest = hashlib.sha256()
    writer = store.backend.open_writer(KEY)
    written = 0
    seed = secrets.token_bytes(MIB)
    while written < size:
        block = seed[: min(MIB, size - written)] + written.to_bytes(8, "big")
        block = block[: size - written]
        assert writer.write(block) == len(block)
        digest.update(block)
        written += len(block)
    writer.commit()
    info = store.backend.stat(KEY)
    assert info is not None and info.size == size
    read_back = hashlib.sha256()
    total = 0
    with store.backend.open_reader(KEY) as reader:
        while chunk := reader.read(256 * 1024):
            assert len(chunk) <= 256 * 1024
            read_back.update(chunk)
            total += len(chunk)
    assert total == size
    assert read_back.hexdigest() == digest.hexdigest()
    with pytest.raises(InputError, match="larger than"):
        get_bytes(store.backend, KEY, limit=MIB)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_bad_key_is_refused_before_anything_is_stored(store: Contract, key: str) -> None:
    with pytest.raises(InputError, match="invalid repository object name"):
        check_key(key)
    with pytest.raises(InputError):
        put_bytes(store.backend, key, b"escape")
    with pytest.raises(InputError):
        store.backend.put_exclusive(key, b"escape")
    with pytest.raises(InputError):
        store.backend.open_reader(key)
    with pytest.raises(InputError):
        store.backend.stat(key)
    with pytest.raises(InputError):
        store.backend.delete(key)
    assert store.stored() == set()
    assert store.listed() == []


@pytest.mark.parametrize(
    "key", ["a", "reprise-repository.json", "backups/db/20261121T101500Z-a1b2c3/x", "a/...b/_-.c"]
)
def test_a_good_key_is_kept_as_it_is(store: Contract, key: str) -> None:
    assert check_key(key) == key
    put_bytes(store.backend, key, b"fine")
    assert store.listed() == [key]
    assert store.stored() == {key}
    assert store.backend.where(key).endswith(key)
    assert store.backend.description

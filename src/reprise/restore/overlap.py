"""Staging a backup's parts on a helper thread while the caller restores the ones ready.

The helper fetches, decrypts and verifies the parts in order (:func:`stage_part`), at most
``ahead`` parts beyond the one in use, so the next database decrypts while ``pg_restore``
loads the current one, and a drill's scratch server starts while the first part decrypts.
A part is handed out only once staged, that is once its checksums matched the signed
manifest: nothing of a damaged part ever reaches the caller. The first failure stops the
helper; :meth:`BackgroundStager.take` of that part (or any later one) raises it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from reprise.repository import Repository
from reprise.repository.manifest import Manifest, Part
from reprise.repository.streams import no_progress
from reprise.restore.pipelined import Cancelled
from reprise.restore.staging import PartProgress, StagedPart, plain_name, stage_part
from reprise.restore.streamed import DumpStream


class BackgroundStager:
    """Stages ``parts`` in order on a helper thread; use as a context manager (leaving it
    stops the helper and deletes whatever is still staged)."""

    def __init__(
        self,
        repository: Repository,
        manifest: Manifest,
        parts: Iterable[Part],
        identities: list[Any],
        directory: Path,
        *,
        progress: PartProgress | None = None,
        ahead: int = 1,
        streamed: Callable[[Part], tuple[str, str, bytes] | None] | None = None,
    ) -> None:
        self._repository = repository
        self._manifest = manifest
        self._parts = list(parts)
        self._identities = identities
        self._directory = directory
        self._progress = progress or no_progress
        self._slots = threading.Semaphore(1 + max(0, ahead))
        self._cancel = threading.Event()
        self._ready = threading.Condition()
        self._staged: dict[int, StagedPart] = {}
        self._failure: tuple[int, BaseException] | None = None
        self._thread = threading.Thread(target=self._run, name="stager", daemon=True)
        # Parts loaded while they are read (their decoding programs), not staged here.
        self._streamed = {
            index: programs
            for index, part in enumerate(self._parts)
            if streamed is not None and (programs := streamed(part)) is not None
        }

    @property
    def parts(self) -> list[Part]:
        """The parts, in the order they are staged (and must be taken)."""
        return list(self._parts)

    def __enter__(self) -> BackgroundStager:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _run(self) -> None:
        for index, part in enumerate(self._parts):
            if index in self._streamed:
                continue
            while not self._slots.acquire(timeout=0.2):
                if self._cancel.is_set():
                    return
            if self._cancel.is_set():
                return
            try:
                with self._progress(part.name, part.stored_size) as callback:
                    item = stage_part(
                        self._repository,
                        self._manifest,
                        part,
                        self._identities,
                        self._directory,
                        progress=callback,
                        durable=False,
                        cancel=self._cancel,
                    )
            except Cancelled:
                return
            except BaseException as error:  # noqa: BLE001 - raised by take() in the caller
                with self._ready:
                    self._failure = (index, error)
                    self._ready.notify_all()
                return
            with self._ready:
                self._staged[index] = item
                self._ready.notify_all()

    def _index(self, part: Part) -> int:
        return next(number for number, known in enumerate(self._parts) if known is part)

    def streams(self, part: Part) -> bool:
        """``part`` is to be loaded while it is read (:meth:`stream`), not taken."""
        return self._index(part) in self._streamed

    @contextlib.contextmanager
    def stream(self, part: Part) -> Iterator[DumpStream]:
        """The stream of a part that :meth:`streams`, its progress shown meanwhile."""
        programs = self._streamed[self._index(part)]
        with self._progress(part.name, part.stored_size) as callback:
            yield DumpStream(
                self._repository,
                self._manifest,
                part,
                programs,
                self._directory / plain_name(part),
                progress=callback,
                cancel=self._cancel,
            )

    def take(self, part: Part) -> StagedPart:
        """The verified plain file of ``part``, waiting for it; raises the staging error of
        that part, or of an earlier one."""
        index = self._index(part)
        with self._ready:
            while index not in self._staged:
                if self._failure is not None and self._failure[0] <= index:
                    raise self._failure[1]
                self._ready.wait(timeout=0.5)
            return self._staged[index]

    def release(self, item: StagedPart) -> None:
        """Done with a part: delete its file and let the helper stage one more."""
        with contextlib.suppress(OSError):
            item.path.unlink()
        self._slots.release()

    def close(self) -> None:
        """Stop the helper, wait for it, delete what is still staged."""
        self._cancel.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._ready:
            for item in self._staged.values():
                with contextlib.suppress(OSError):
                    item.path.unlink()

"""Run a producer program whose standard output is a part, with a timeout and exit check."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from reprise.errors import OperationError
from reprise.repository.streams import widen

STDERR_TAIL = 4000


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _kill_writers(pipe: BinaryIO) -> None:
    """Kill every process still holding the write end of ``pipe`` (our read end). A
    producer's group is killed at its timeout, but a process it detached (``setsid cmd &``)
    keeps the pipe open and the read waiting for it: find it in /proc by the pipe's inode
    and an fd opened for writing. Best effort, Linux only; only the producer's
    descendants can hold that end (our other children get no inherited descriptors)."""
    try:
        inode = os.fstat(pipe.fileno()).st_ino
    except (OSError, ValueError):
        return
    wanted = f"pipe:[{inode}]"
    for _round in range(3):  # a writer may fork while we look
        found = False
        with contextlib.suppress(OSError):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit() or int(entry.name) == os.getpid():
                    continue
                if _writes_to(entry.path, wanted):
                    found = True
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(int(entry.name), signal.SIGKILL)
        if not found:
            return


def _writes_to(process: str, wanted: str) -> bool:
    """Whether the process at /proc/PID holds ``wanted`` (``pipe:[inode]``) for writing."""
    try:
        for fd in os.scandir(f"{process}/fd"):
            if str(Path(fd.path).readlink()) != wanted:
                continue
            with Path(f"{process}/fdinfo/{fd.name}").open() as info:
                for line in info:
                    if line.startswith("flags:"):
                        if int(line.split()[1], 8) & os.O_ACCMODE != os.O_RDONLY:
                            return True
                        break
    except OSError:
        return False
    return False


def _tail(handle: BinaryIO) -> str:
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(max(0, size - STDERR_TAIL))
    return handle.read().decode("utf-8", "replace").strip()


def _hint(hint: str | Callable[[str], str] | None, detail: str) -> str | None:
    return hint(detail) if callable(hint) else hint


@contextmanager
def producer_output(
    argv: list[str],
    *,
    what: str,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    cwd: str | None = None,
    hint: str | Callable[[str], str] | None = None,
    stderr_out: list[str] | None = None,
) -> Iterator[BinaryIO]:
    """The stdout of ``argv`` as a stream. On leaving: the program must have exited 0
    within ``timeout`` seconds, else OperationError with the end of its stderr. The program
    runs in its own process group, killed whole on timeout or when the reader fails.
    ``stderr_out`` receives the end of its stderr on success (programs that report facts
    there, like pg_basebackup -v). ``hint`` may be a function of the end of stderr, to fit
    the fix to what went wrong."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=errors,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as error:
            raise OperationError(
                f"{what}: cannot start {argv[0]}: {error.strerror}", hint=_hint(hint, "")
            ) from error
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            _kill_group(process)
            assert process.stdout is not None
            _kill_writers(process.stdout)  # type: ignore[arg-type]

        timer = threading.Timer(timeout, expire) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        assert process.stdout is not None
        widen(process.stdout.fileno())
        try:
            yield process.stdout  # type: ignore[misc]
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            process.stdout.close()
        code = process.wait()
        if timed_out.is_set():
            raise OperationError(
                f"{what}: did not finish within {timeout:g} s and was killed",
                hint="raise the timeout, or find why it hangs",
            )
        if code != 0:
            detail = _tail(errors)
            reason = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
            message = f"{what}: {reason}"
            if detail:
                message += f": {detail}"
            raise OperationError(message, hint=_hint(hint, detail))
        if stderr_out is not None:
            stderr_out.append(_tail(errors))


@contextmanager
def threaded_pipe(produce: Callable[[BinaryIO], None], *, name: str) -> Iterator[BinaryIO]:
    """A stream of what ``produce`` writes, run in a thread (tar writers and the like).

    An error in the producer is raised here when the stream is left; a consumer that
    stops early makes the producer stop on a broken pipe."""
    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb")
    writer = os.fdopen(write_end, "wb")
    failure: list[BaseException] = []

    def run() -> None:
        try:
            produce(writer)
        except BrokenPipeError:
            pass  # the consumer stopped; it reports why
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            failure.append(error)
        finally:
            with contextlib.suppress(BrokenPipeError):
                writer.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield reader
    finally:
        reader.close()
        thread.join()
    if failure:
        raise failure[0]

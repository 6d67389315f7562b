"""The lean door: `reprise wal push` and `reprise wal fetch` without the full CLI.

PostgreSQL starts archive_command for every WAL segment and restore_command for every
file it replays. Through the full CLI each start costs about a second (Typer, pydantic,
the plan validated again); here, with the settings cached from the last full run
(:mod:`reprise.wal.cache`), it costs the interpreter and the crypto libraries.

The lean door handles only the plain forms (``[--plan P] wal push PATH [--source S]``,
``[--plan P] wal fetch NAME DEST [--source S] [--spool DIR] [--prefetch N]``) on a cache
that matches the plan in force, and a repository it can open without the plan (a local
folder; any repository for the asynchronous spool). Everything else, including every
error in the command line or the plan, goes to the full CLI, which gives the usual
messages and writes the cache again. Exit codes are the full CLI's.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reprise.errors import EXIT_INTERNAL_ERROR, RepriseError

if TYPE_CHECKING:
    from reprise.repository.backend import Backend
    from reprise.usecases.wal_hot import WalSettings

FETCH_NOT_FOUND = 1
FETCH_FATAL = 255
PUSHER_IDLE_EXIT = 30.0
"""Seconds a pusher started by `wal push` stays once the spool is empty."""


@dataclass(frozen=True)
class Command:
    """A `wal push` or `wal fetch` command line, read without Typer."""

    action: str
    plan: Path | None
    arguments: tuple[str, ...]
    source: str | None = None
    spool: Path | None = None
    prefetch: int = 8


def parse(argv: list[str]) -> Command | None:
    """The command, or None when it is anything but the plain forms."""
    plan: Path | None = None
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in {"--plan", "-p"} and rest:
            plan = Path(rest.pop(0))
        elif option.startswith("--plan="):
            plan = Path(option.split("=", 1)[1])
        else:
            return None
    if len(rest) < 2 or rest[0] != "wal" or rest[1] not in {"push", "fetch"}:
        return None
    action, words = rest[1], rest[2:]
    positional: list[str] = []
    values: dict[str, str] = {}
    wanted = {"--source"} if action == "push" else {"--source", "--spool", "--prefetch"}
    while words:
        word = words.pop(0)
        name, equal, value = word.partition("=")
        if name in wanted:
            if not equal:
                if not words:
                    return None
                value = words.pop(0)
            values[name] = value
        elif word.startswith("-") or not word:
            return None
        else:
            positional.append(word)
    if len(positional) != (1 if action == "push" else 2):
        return None
    try:
        prefetch = int(values.get("--prefetch", "8"))
    except ValueError:
        return None
    if not 0 <= prefetch <= 64:
        return None
    spool = values.get("--spool")
    return Command(
        action,
        plan,
        tuple(positional),
        values.get("--source"),
        Path(spool) if spool else None,
        prefetch,
    )


def main(argv: list[str]) -> int | None:
    """Run a plain `wal push`/`wal fetch` on cached settings; None to let the full CLI do it."""
    command = parse(argv)
    if command is None:
        return None
    from reprise.usecases.wal_hot import cached_settings, is_wal_name

    # push takes a path (%p), fetch a bare name (%f): anything else is the full CLI's to refuse
    name = Path(command.arguments[0]).name if command.action == "push" else command.arguments[0]
    if not is_wal_name(name):
        return None
    try:
        settings = cached_settings(command.plan, command.source)
    except Exception:  # noqa: BLE001 - any surprise in a cache: the full CLI decides
        return None
    if settings is None:
        return None
    if command.action == "push":
        if settings.asynchronous is None and settings.local_path is None:
            return None
        return push(settings, Path(command.arguments[0]))
    if settings.local_path is None:
        return None
    return fetch(settings, name, Path(command.arguments[1]), command.spool, command.prefetch)


def push(settings: WalSettings, path: Path, backend: Backend | None = None) -> int:
    """archive_command: into the spool (asynchronous mode, starting a pusher when none
    runs) or straight into the repository. The exit code PostgreSQL reads."""
    from reprise.security import private_umask
    from reprise.usecases.wal_hot import archive_segment

    try:
        with private_umask():
            archive_segment(settings, path, backend, start_pusher)
    except RepriseError as error:
        _print_error(error)
        return error.exit_code
    except Exception as error:  # noqa: BLE001 - the last line of defence: no raw traceback
        print(f"internal error: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return EXIT_INTERNAL_ERROR
    return 0


def fetch(
    settings: WalSettings,
    name: str,
    destination: Path,
    spool: Path | None,
    prefetch: int,
    backend: Backend | None = None,
) -> int:
    """restore_command: 0 delivered, 1 not in the archive, 255 any fault (PostgreSQL must
    stop recovery rather than end it early at a forged or damaged segment)."""
    from reprise.security import private_umask
    from reprise.usecases.wal_hot import deliver_segment

    try:
        with private_umask():
            found = deliver_segment(
                settings, name, destination, spool=spool, prefetch=prefetch, backend=backend
            )
    except RepriseError as error:
        _print_error(error)
        return FETCH_FATAL
    except OSError as error:
        print(f"error: {destination}: {error.strerror}", file=sys.stderr, flush=True)
        return FETCH_FATAL
    except Exception as error:  # noqa: BLE001 - any other exit code would end recovery early
        print(f"internal error: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        return FETCH_FATAL
    return 0 if found else FETCH_NOT_FOUND


def start_pusher(settings: WalSettings) -> None:
    """Start `reprise wal pusher` in the background, detached from PostgreSQL's archiver;
    it leaves once the spool has stayed empty for a while."""
    import subprocess

    assert settings.asynchronous is not None
    log_file = Path(settings.asynchronous.spool) / "pusher.log"
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(log_file, flags, 0o600), "ab") as log:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reprise",
                "--plan",
                settings.plan,
                "wal",
                "pusher",
                "--source",
                settings.source,
                "--idle-exit",
                str(PUSHER_IDLE_EXIT),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )


def _print_error(error: RepriseError) -> None:
    """The error as the full CLI prints it, without rich: PostgreSQL's log shows it."""
    message, hint = error.render()
    lines = message.splitlines() or [""]
    text = f"error: {lines[0]}\n" + "".join(f"  {line}\n" for line in lines[1:])
    if hint:
        text += f"Fix: {hint}\n"
    sys.stderr.write(text)
    sys.stderr.flush()

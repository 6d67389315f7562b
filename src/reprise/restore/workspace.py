"""Where a restore stages its plain parts: in memory when they fit easily, else on disk.

Staged parts are read once by pg_restore and deleted. On disk, the kernel writes them back
while pg_restore runs, and that write competes with the server's own for the disk (a
1 GB part slowed pg_restore by seconds); in memory (``/dev/shm``) they cost no disk I/O.
Memory is used only when the parts take at most a quarter of the available memory, so the
server keeps its page cache. A folder left in memory by a killed restore is deleted by the
next one (its name carries the owner's pid).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

MEMORY = Path("/dev/shm")  # noqa: S108 - a private mkdtemp folder inside it
_PREFIX = "reprise-restore-"


def available_memory() -> int:
    """Bytes of memory available without swapping (``MemAvailable``), 0 when unknown."""
    try:
        with Path("/proc/meminfo").open(encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def fits_in_memory(needed: int, root: Path = MEMORY) -> bool:
    """``needed`` bytes fit comfortably in the memory file system: at most a quarter of
    the available memory and half of its free room."""
    try:
        stats = os.statvfs(root)
    except OSError:
        return False
    room = stats.f_bavail * stats.f_frsize
    return 0 < needed <= available_memory() // 4 and needed <= room // 2


def memory_folder(needed: int, root: Path = MEMORY) -> Path | None:
    """A fresh private folder in memory for ``needed`` bytes, or None when they would not
    fit comfortably (or there is no memory file system)."""
    reap(root)
    if not fits_in_memory(needed, root):
        return None
    try:
        return Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-", dir=root))
    except OSError:
        return None


def reap(root: Path = MEMORY) -> list[Path]:
    """Delete the memory folders of restores whose process is gone."""
    removed = []
    for folder in root.glob(f"{_PREFIX}*"):
        try:
            pid = int(folder.name.removeprefix(_PREFIX).split("-", 1)[0])
            if folder.stat().st_uid != os.geteuid():
                continue
        except (ValueError, OSError):
            continue
        try:
            os.kill(pid, 0)
            continue  # alive
        except ProcessLookupError:
            pass
        except OSError:
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
            removed.append(folder)
    return removed

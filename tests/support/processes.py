"""Watching a ``reprise`` run's child processes: to find one while it runs (and kill it)
and to prove that none outlived the run."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests.support.backups import World


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid → (parent pid, name, state) of every process now."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), name, fields[0])
    return table


class Watched:
    """A ``reprise`` run whose descendants (zstd, age, the producer) are recorded while it
    runs, to find them during the run and to prove afterwards that none survived it."""

    def __init__(self, world: World, *args: str) -> None:
        self.process = world.spawn(*args)
        self.seen: dict[int, str] = {}
        self._lock = threading.Lock()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while self.process.poll() is None:
            table = process_table()
            family = {self.process.pid}
            grew = True
            while grew:
                grew = False
                for pid, (parent, _name, _state) in table.items():
                    if parent in family and pid not in family:
                        family.add(pid)
                        grew = True
            with self._lock:
                for pid in family - {self.process.pid}:
                    # The latest name: a child is seen as `python3` between fork and exec.
                    self.seen[pid] = table[pid][1]
            time.sleep(0.02)

    def child(self, name: str, timeout: float = 60) -> int:
        """The pid of the descendant called ``name``, once it runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [pid for pid, seen in self.seen.items() if seen == name]
            if found:
                return found[0]
            assert self.process.poll() is None, self.process.communicate()
            time.sleep(0.02)
        raise AssertionError(f"no {name} process appeared")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Wait for the end; (exit code, stderr). Fails if a descendant outlives it."""
        _out, err = self.process.communicate(timeout=timeout)
        self._watcher.join()
        survivors: list[str] = []
        deadline = time.monotonic() + 5  # killed processes may take a moment to be reaped
        while True:
            table = process_table()
            survivors = [
                f"{name} ({pid})"
                for pid, name in self.seen.items()
                if pid in table and table[pid][1] == name and table[pid][2] != "Z"
            ]
            if not survivors or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert survivors == [], f"left running after reprise ended: {survivors}"
        return self.process.returncode, err

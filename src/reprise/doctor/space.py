"""``disk.space``: free space where backups are written (local repositories) and where
restores stage their parts (the state folder's work area), against the largest backup in
the catalogue: warn under twice its size, fail under once."""

from __future__ import annotations

import shutil
from pathlib import Path

from reprise.doctor.checks import Check, Context, Status, text, worst

ID = "disk.space"


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check(context: Context) -> list[Check]:
    """One verdict over every place that needs room."""
    from reprise.paths import default_state_dir
    from reprise.repository.catalog import list_backups

    title = text("title.disk.space")
    if context.store is None:
        return [Check(ID, "skip", title, text("detail.no_state"))]
    entries = list_backups(context.store)
    if not entries:
        return [Check(ID, "skip", title, text("detail.space.no_backup"))]
    stored = max(entry.manifest.stored_size for entry in entries)
    plain = max(entry.manifest.plain_size for entry in entries)
    places: list[tuple[str, Path, int]] = [
        (f"repository {name}", Path(settings.path), stored)
        for name, settings in sorted(context.plan.repositories.items())
        if settings.kind == "local"
    ]
    places.append(("staging", context.plan.state.dir or default_state_dir(), plain))
    statuses: list[Status] = []
    lines: list[str] = []
    for label, path, needed in places:
        free = shutil.disk_usage(_existing(path)).free
        statuses.append("fail" if free < needed else "warn" if free < 2 * needed else "ok")
        lines.append(f"{label} ({path}): {_size(free)} free, largest backup {_size(needed)}")
    status = worst(statuses)
    fix = text("fix.disk.space") if status != "ok" else None
    return [Check(ID, status, title, text("detail.lines", lines="; ".join(lines)), fix)]

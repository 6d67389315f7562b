"""Pruning: forget backups that no retention rule keeps, remove incomplete leftovers.

Safety rules beyond retention: the newest verified backup of each source and its newest
backup are always kept; backups under an S3 Object Lock retention are left until it ends;
a folder whose manifest fails verification (damaged, untrusted, moved, replayed) is
reported and kept as evidence until it has been in the catalog with that problem for
``problem_grace`` (30 days by default; ``reprise backup forget`` removes it sooner);
leftovers are removed only after a grace period, so a running backup's parts are never
touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from reprise.backup.retention import apply_retention
from reprise.errors import InputError, OperationError, RepriseError, VerificationError
from reprise.plan.jobs import backup_jobs
from reprise.repository import (
    BackupFolder,
    Repository,
    delete_backup_folder,
    open_repository,
    scan_folders,
)
from reprise.repository.backend import check_key
from reprise.repository.catalog import forget_backup, list_backups, list_problems
from reprise.repository.verify import load_manifest
from reprise.store.events import append_event

if TYPE_CHECKING:
    from reprise.plan.model import Plan
    from reprise.store import Store

DEFAULT_GRACE = timedelta(hours=24)
DEFAULT_PROBLEM_GRACE = timedelta(days=30)


@dataclass
class Decision:
    """What prune does (or would do) with one backup folder."""

    repository: str
    source: str
    backup_id: str
    action: str
    """keep, forget, leftover (removed), hold (kept despite the rules) or damaged."""
    reasons: list[str] = field(default_factory=list)
    stored_size: int = 0
    catalog_id: str | None = None
    """The id the catalog keeps it under, when not its folder's (a problem folder whose
    name is odd or already taken by a sound backup)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "repository": self.repository,
            "source": self.source,
            "id": self.backup_id,
            "action": self.action,
            "reasons": self.reasons,
            "stored_size": self.stored_size,
        }


@dataclass
class PruneResult:
    """Every decision, and the repositories that could not be read (nothing was decided or
    removed there; the others were pruned all the same)."""

    decisions: list[Decision] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "decisions": [decision.to_dict() for decision in self.decisions],
            "unreachable": self.unreachable,
        }


Planned = tuple[Repository, BackupFolder, Decision]


def plan_prune(
    plan: Plan,
    store: Store,
    *,
    grace: timedelta = DEFAULT_GRACE,
    problem_grace: timedelta = DEFAULT_PROBLEM_GRACE,
    now: datetime | None = None,
    repository: str | None = None,
    unreachable: dict[str, str] | None = None,
) -> list[Planned]:
    """Decide, without deleting anything, for every folder of every source of the plan (of
    ``repository`` only, when given). A repository that cannot be read is skipped and named
    in ``unreachable`` with why, so that a dead S3 endpoint never stops the local disk from
    being pruned."""
    now = now or datetime.now(UTC)
    zone = ZoneInfo(plan.organisation.timezone)
    decisions: list[Planned] = []
    repositories: dict[str, Repository] = {}
    failed = unreachable if unreachable is not None else {}
    for job in backup_jobs(plan):
        name = job.source.repository
        if (repository is not None and name != repository) or name in failed:
            continue
        opened = repositories.setdefault(name, open_repository(plan, name))
        try:
            decisions += _decide_source(
                job.name,
                job.source.retention,
                opened,
                store,
                grace=grace,
                problem_grace=problem_grace,
                now=now,
                zone=zone,
            )
        except InputError:
            raise  # the plan is wrong (it trusts no key): nothing can be judged anywhere
        except RepriseError as error:
            failed[name] = error.message
            decisions = [planned for planned in decisions if planned[0].name != name]
    return decisions


def _decide_source(
    source: str,
    retention: Any,
    repository: Repository,
    store: Store,
    *,
    grace: timedelta,
    problem_grace: timedelta,
    now: datetime,
    zone: ZoneInfo,
) -> list[Planned]:
    verified = [
        entry.backup_id
        for entry in list_backups(store, source=source, repository=repository.name)
        if entry.verify_status == "ok"
    ]
    # Keyed by the folder itself: the catalog may keep a problem under another id.
    problems = {
        entry.location: entry
        for entry in list_problems(store, source=source, repository=repository.name)
    }
    decisions: list[Planned] = []
    complete: list[tuple[BackupFolder, datetime, int, datetime | None]] = []
    for folder in scan_folders(repository.backend, source):
        decision = Decision(repository.name, folder.source, folder.backup_id, "keep")
        decision.stored_size = sum(info.size for info in folder.objects)
        decisions.append((repository, folder, decision))
        if not folder.has_manifest:
            newest = folder.newest or now
            if now - newest >= grace:
                decision.action = "leftover"
                decision.reasons.append(f"incomplete, untouched for {_hours(now - newest)}")
            else:
                decision.reasons.append("incomplete but recent (may be running)")
            continue
        try:
            manifest = load_manifest(repository, folder.source, folder.backup_id)
        except InputError:
            raise
        except RepriseError as error:
            if _unreachable(error):
                raise
            known = problems.get((folder.source, folder.backup_id))
            since = known.since if known is not None else None
            if known is not None:
                decision.catalog_id = known.backup_id
            if since is not None and now - since >= problem_grace:
                decision.action = "forget"
                decision.reasons.append(
                    f"known as damaged since {since:%Y-%m-%d}, past "
                    f"the {problem_grace.days}-day grace: "
                    f"{error.message}"
                )
            else:
                decision.action = "damaged"
                until = f" until {since + problem_grace:%Y-%m-%d}" if since else ""
                decision.reasons.append(f"kept as evidence{until}: {error.message}")
            continue
        complete.append((folder, manifest.finished_at, decision.stored_size, manifest.retain_until))
    kept = apply_retention(
        [(folder.backup_id, time) for folder, time, _s, _r in complete], retention, zone
    )
    newest_id = max(complete, key=lambda item: item[1])[0].backup_id if complete else None
    newest_verified = max(verified) if verified else None
    by_id = {folder.backup_id: retain for folder, _t, _s, retain in complete}
    for _repo, folder, decision in decisions:
        if decision.action in ("forget", "leftover") and not _deletable(folder):
            decision.action = "damaged"
            decision.reasons.append(
                "its name is not one Reprise writes, so Reprise does not "
                f"delete it: remove {repository.where(folder.prefix)} by "
                "hand once examined"
            )
        if decision.action != "keep" or folder.backup_id not in by_id:
            continue
        rules = kept.get(folder.backup_id)
        if rules:
            decision.reasons.extend(rules)
            continue
        holds = []
        if folder.backup_id == newest_verified:
            holds.append("newest verified backup")
        if folder.backup_id == newest_id:
            holds.append("newest backup")
        retain = by_id[folder.backup_id]
        if retain is not None and retain > now:
            holds.append(f"object lock until {retain:%Y-%m-%d}")
        if holds:
            decision.action = "hold"
            decision.reasons.extend(holds)
        else:
            decision.action = "forget"
            decision.reasons.append("no rule keeps it")
    return decisions


def _deletable(folder: BackupFolder) -> bool:
    """Whether every object of the folder has a name the backends accept (a folder an
    intruder named oddly is never deleted through a name Reprise would refuse to write)."""
    try:
        for info in folder.objects:
            check_key(info.key)
    except InputError:
        return False
    return True


def _unreachable(error: RepriseError) -> bool:
    """A failure to reach the repository (retry later), not a verdict on one backup."""
    return isinstance(error, OperationError) and not isinstance(error, VerificationError)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} h"


def prune(
    plan: Plan,
    store: Store,
    *,
    dry_run: bool,
    grace: timedelta = DEFAULT_GRACE,
    problem_grace: timedelta = DEFAULT_PROBLEM_GRACE,
    now: datetime | None = None,
    repository: str | None = None,
) -> PruneResult:
    """Apply :func:`plan_prune` (unless ``dry_run``) to every reachable repository (or to
    ``repository``) and record one event per source."""
    if repository is not None and repository not in plan.repositories:
        known = ", ".join(sorted(plan.repositories)) or "none"
        raise InputError(
            f"no repository named {repository!r} in the plan (known: {known})",
            hint="use a name under `repositories:`",
        )
    result = PruneResult()
    decisions = plan_prune(
        plan,
        store,
        grace=grace,
        problem_grace=problem_grace,
        now=now,
        repository=repository,
        unreachable=result.unreachable,
    )
    result.decisions = [decision for _r, _f, decision in decisions]
    if dry_run:
        return result
    removed: dict[str, dict[str, int]] = {}
    for where, folder, decision in decisions:
        if decision.action not in ("forget", "leftover"):
            continue
        delete_backup_folder(where, folder)
        if decision.action == "forget":
            forget_backup(store, where.name, decision.catalog_id or folder.backup_id)
        counts = removed.setdefault(folder.source, {"backups": 0, "leftovers": 0, "bytes": 0})
        counts["backups" if decision.action == "forget" else "leftovers"] += 1
        counts["bytes"] += decision.stored_size
    for source, counts in removed.items():
        append_event(store, "backup.pruned", source, counts)
    return result

"""``files.modes``: the plan, its ``.env``, the key files and the state folder can be
changed only by their owner (StrictModes, :mod:`reprise.security`), the secrets are
private (the plan's readers group may read them), and the identity is readable by its
owner alone. The same functions the loader uses decide; nothing is re-implemented."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reprise.doctor.checks import Check, Context, text

if TYPE_CHECKING:
    from reprise.errors import PlanIssue
    from reprise.security import DecidingFile

ID = "files.modes"


def _files(context: Context) -> list[DecidingFile]:
    """The files the loader judges (as the audit lists them), and the state folder."""
    from reprise.audit.security import deciding_files
    from reprise.paths import default_state_dir

    plan = context.plan
    found = deciding_files(plan, context.loaded.path)
    found.append((plan.state.dir or default_state_dir(), "state directory", True, False))
    return found


def check(context: Context) -> list[Check]:
    """Every refusal, with the path and the exact chmod/chown to run."""
    from reprise.errors import UnsafePermissionsError
    from reprise.security import ensure_private_file, mode_refusals

    title = text("title.files.modes")
    group = context.plan.keys.readers_group
    files = _files(context)
    refused = [error for _path, error in mode_refusals(files, readers_group=group)]
    if refused:
        return [_refused(title, [e.message for e in refused], [e.hint or "" for e in refused])]
    identity = context.plan.keys.identity
    if identity is not None and group:
        try:
            ensure_private_file(Path(identity), "age identity")
        except UnsafePermissionsError as error:
            return [
                Check(
                    ID,
                    "warn",
                    title,
                    text("detail.modes.identity", path=str(identity)),
                    text("fix.hint", hint=error.hint or "—"),
                )
            ]
    return [Check(ID, "ok", title, text("detail.modes.ok", count=len({f[0] for f in files})))]


def _refused(title: object, messages: list[str], hints: list[str]) -> Check:
    from reprise.doctor.checks import Text

    assert isinstance(title, Text)
    return Check(
        ID,
        "fail",
        title,
        text("detail.lines", lines="; ".join(messages)),
        text("fix.hint", hint=" && ".join(dict.fromkeys(h for h in hints if h)) or "—"),
    )


def is_mode_issue(issue: PlanIssue) -> bool:
    """Whether a plan refusal is about modes or owners: its fix is a chmod or a chown
    (what :mod:`reprise.security` always gives)."""
    return (issue.hint or "").startswith(("chmod ", "chown "))


def from_plan_issues(issues: list[PlanIssue]) -> Check:
    """The verdict when the loader refused the plan for its files' modes."""
    return _refused(
        text("title.files.modes"),
        [
            issue.message if issue.message.startswith("/") else f"{issue.file}: {issue.message}"
            for issue in issues
        ],
        [issue.hint or "" for issue in issues],
    )

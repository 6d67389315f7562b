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

ID = "files.modes"
_SECRET = ("identity", "signing_key")


def _files(context: Context) -> list[tuple[Path, str, bool, bool]]:
    """(path, role, with the folders above, secret) of every file that decides."""
    from reprise.paths import default_state_dir

    plan = context.plan
    path = context.loaded.path
    found: list[tuple[Path, str, bool, bool]] = [
        (path.absolute().parent, "plan folder", True, False),
        (path, "plan file", False, False),
    ]
    env = path.parent / ".env"
    if env.is_file():
        found.append((env, ".env file", False, True))
    keys = plan.keys
    for name in type(keys).model_fields:
        value = getattr(keys, name)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, Path):
                role = name.replace("_", " ")
                found.append((item.parent, "keys folder", True, False))
                found.append((item, role, False, name in _SECRET))
    found.append((plan.state.dir or default_state_dir(), "state directory", True, False))
    return found


def check(context: Context) -> list[Check]:
    """Every refusal, with the path and the exact chmod/chown to run."""
    from reprise.errors import UnsafePermissionsError
    from reprise.security import ensure_owner_only_writable, ensure_private_file

    title = text("title.files.modes")
    group = context.plan.keys.readers_group
    refused: list[UnsafePermissionsError] = []
    seen: set[tuple[Path, bool]] = set()
    for path, role, parents, secret in _files(context):
        if (path, secret) in seen:
            continue
        seen.add((path, secret))
        try:
            ensure_owner_only_writable(path, role, parents=parents)
            if secret:
                ensure_private_file(path, role, readers_group=group)
        except UnsafePermissionsError as error:
            refused.append(error)
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
    return [Check(ID, "ok", title, text("detail.modes.ok", count=len(seen)))]


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

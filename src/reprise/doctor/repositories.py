"""``repository.<name>``: each repository of the plan is initialised, and a small probe
object can be written, read back and deleted through its backend (local or S3 alike)."""

from __future__ import annotations

from reprise.doctor.checks import Check, Context, problem, text

PREFIX = "repository"
PROBE_FOLDER = "doctor"


def ids(context: Context) -> list[str]:
    """One id per repository of the plan."""
    return [f"{PREFIX}.{name}" for name in sorted(context.plan.repositories)]


def check(context: Context, wanted: set[str]) -> list[Check]:
    """The verdicts of the repositories whose ids are ``wanted``."""
    return [
        _one(context, name)
        for name in sorted(context.plan.repositories)
        if f"{PREFIX}.{name}" in wanted
    ]


def _one(context: Context, name: str) -> Check:
    from reprise.repository import open_backend
    from reprise.repository.backend import round_trip
    from reprise.repository.config import read_config

    title = text("title.repository", name=name)
    check_id = f"{PREFIX}.{name}"
    try:
        backend = open_backend(context.plan, name)
        where = backend.description
        read_config(backend, name)
        round_trip(backend, PROBE_FOLDER)
    except Exception as error:  # noqa: BLE001 - unreachable, refused, not initialised…
        message, hint = problem(error)
        return Check(
            check_id,
            "fail",
            title,
            text("detail.repository.failed", error=message),
            text("fix.repository", hint=hint or "—", name=name),
        )
    return Check(check_id, "ok", title, text("detail.repository.ok", where=where))

"""Every pluggable kind the plan accepts has its implementation registered: a check kind
that validates and then can never run is caught here, not by a monitor in production."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterable

from reprise.plan.checks import CHECK_KINDS, Check
from reprise.probes.registry import PROBES, probe_for


def _union_kinds(union: object) -> set[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(member.model_fields["kind"].annotation)[0] for member in members}


def _disagreements(plan_kinds: set[str], **registries: Iterable[str]) -> dict[str, str]:
    """Each registry that does not hold exactly the plan's kinds, with what it lacks or has
    too many (so the failure names the line to add)."""
    found = {}
    for name, keys in registries.items():
        keys = set(keys)
        if keys != plan_kinds:
            found[name] = (
                f"lacks {sorted(plan_kinds - keys)}, has extra {sorted(keys - plan_kinds)}"
            )
    return found


def test_every_check_kind_of_the_plan_has_a_probe_and_nothing_else_does() -> None:
    assert _disagreements(_union_kinds(Check), CHECK_KINDS=CHECK_KINDS, PROBES=PROBES) == {}


def test_every_registered_probe_is_an_async_function_of_the_check_and_its_run() -> None:
    for kind in PROBES:
        probe = probe_for(kind)
        assert inspect.iscoroutinefunction(probe), kind
        parameters = list(inspect.signature(probe).parameters.values())
        assert len([p for p in parameters if p.default is inspect.Parameter.empty]) == 2, kind


def test_every_repository_kind_of_the_plan_has_a_backend_and_nothing_else_does() -> None:
    from reprise.plan.model import Repository
    from reprise.repository.backends import BACKENDS

    assert _disagreements(_union_kinds(Repository), BACKENDS=BACKENDS) == {}


def test_every_step_kind_of_the_plan_has_an_executor_and_nothing_else_does() -> None:
    from reprise.orchestrators.steps import STEP_EXECUTORS
    from reprise.plan.steps import STEP_KINDS, Step

    assert (
        _disagreements(_union_kinds(Step), STEP_KINDS=STEP_KINDS, STEP_EXECUTORS=STEP_EXECUTORS)
        == {}
    )
    for kind, executor in STEP_EXECUTORS.items():
        assert len(inspect.signature(executor).parameters) == 2, kind


def test_every_backup_source_kind_has_a_maker_and_a_restorer_and_nothing_else_does() -> None:
    from reprise.backup.sources.registry import MAKERS
    from reprise.plan.sources import SOURCE_KINDS, BackupSource
    from reprise.restore.registry import RESTORERS

    registries = {"SOURCE_KINDS": SOURCE_KINDS, "MAKERS": MAKERS, "RESTORERS": RESTORERS}
    assert _disagreements(_union_kinds(BackupSource), **registries) == {}


def test_every_registered_backup_maker_takes_the_source_its_name_and_a_work_folder() -> None:
    from reprise.backup.sources.registry import MAKERS, maker_for

    for kind in MAKERS:
        maker = maker_for(kind)
        assert callable(maker), kind
        assert list(inspect.signature(maker).parameters) == [
            "config",
            "source_name",
            "work_dir",
        ], kind


def test_restorers_say_what_each_kind_is_good_for() -> None:
    from reprise.restore.registry import RESTORERS, kinds_where

    assert kinds_where(lambda restorer: restorer.default), "a plain restore needs a default kind"
    assert kinds_where(lambda restorer: restorer.point_in_time), "PITR needs a physical kind"
    for kind, restorer in RESTORERS.items():
        assert callable(restorer.validate) and callable(restorer.select), kind

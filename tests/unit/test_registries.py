"""Every pluggable kind the plan accepts has its implementation registered: a check kind
that validates and then can never run is caught here, not by a monitor in production."""

from __future__ import annotations

import inspect
import typing

from reprise.plan.checks import CHECK_KINDS, Check
from reprise.probes.registry import PROBES, probe_for


def _union_kinds(union: object) -> set[str]:
    members = typing.get_args(typing.get_args(union)[0])
    return {typing.get_args(member.model_fields["kind"].annotation)[0] for member in members}


def test_every_check_kind_of_the_plan_has_a_probe_and_nothing_else_does() -> None:
    assert _union_kinds(Check) == set(CHECK_KINDS) == set(PROBES)


def test_every_registered_probe_is_an_async_function_of_the_check_and_its_run() -> None:
    for kind in PROBES:
        probe = probe_for(kind)
        assert inspect.iscoroutinefunction(probe), kind
        parameters = list(inspect.signature(probe).parameters.values())
        assert len([p for p in parameters if p.default is inspect.Parameter.empty]) == 2, kind

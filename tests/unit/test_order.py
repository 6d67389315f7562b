"""The recovery order: dependencies first, priority next, reasons for each place."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.plan.order import recovery_order
from tests.conftest import EXAMPLES


def make_plan(services: list[dict[str, Any]]) -> Plan:
    return Plan.model_validate(
        {
            "organisation": {"name": "T", "timezone": "UTC"},
            "objectives": {"rpo": "1h", "rto": "30m", "uptime": "99.9%"},
            "services": [{"name": s["id"], "category": "x", **s} for s in services],
        }
    )


def test_the_router_comes_before_everything_behind_it() -> None:
    plan = load_plan(EXAMPLES / "pcra-infra" / "reprise.yaml", environ={}).plan
    order = [entry.service.id for entry in recovery_order(plan)]
    assert order[0] == "router"
    assert order == ["router", "openvpn", "zabbix", "mail", "storage", "windows"]


def test_a_dependency_of_a_p1_service_is_recovered_with_the_p1s() -> None:
    plan = make_plan(
        [
            {"id": "storage", "criticality": "major"},  # P2
            {"id": "app", "criticality": "critical", "depends_on": ["storage"]},  # P1
            {"id": "wiki", "criticality": "major"},  # P2
        ]
    )
    entries = recovery_order(plan)
    assert [e.service.id for e in entries] == ["storage", "app", "wiki"]
    storage = entries[0]
    assert (storage.priority, storage.recovery_priority) == ("P2", "P1")
    assert any("app (P1) depends on it" in reason for reason in storage.reasons)


def test_within_a_priority_critical_services_come_first_then_plan_order() -> None:
    plan = make_plan(
        [
            {"id": "b", "criticality": "major", "priority": "P1"},
            {"id": "a", "criticality": "critical"},
            {"id": "c", "criticality": "major", "priority": "P1"},
        ]
    )
    assert [e.service.id for e in recovery_order(plan)] == ["a", "b", "c"]


def test_reasons_say_where_the_priority_comes_from() -> None:
    plan = make_plan(
        [
            {"id": "mail", "criticality": "major", "priority": "P1"},
            {"id": "win", "criticality": "minor"},
        ]
    )
    reasons = {e.service.id: e.reasons for e in recovery_order(plan)}
    assert reasons["mail"][0] == "P1: set in the plan (criticality major would give P2)"
    assert reasons["win"][0] == "P3: implied by criticality minor"


@st.composite
def dags(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=1, max_value=15))
    services = []
    for index in range(count):
        earlier = [f"s{i}" for i in range(index)]
        depends = (
            draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        )
        services.append(
            {
                "id": f"s{index}",
                "criticality": draw(st.sampled_from(["critical", "major", "minor"])),
                "depends_on": depends,
            }
        )
    return draw(st.permutations(services))


@settings(max_examples=200, deadline=None)
@given(dags())
def test_any_dag_gives_a_complete_order_with_dependencies_first(
    services: list[dict[str, Any]],
) -> None:
    plan = make_plan(services)
    entries = recovery_order(plan)
    position = {e.service.id: e.position for e in entries}
    assert sorted(position) == sorted(s["id"] for s in services)
    rank = {"P1": 1, "P2": 2, "P3": 3}
    for entry in entries:
        for dependency in entry.service.depends_on:
            assert position[dependency] < entry.position
        # Priority never goes backwards along the order.
        if entry.position > 1:
            previous = entries[entry.position - 2]
            assert rank[previous.recovery_priority] <= rank[entry.recovery_priority]

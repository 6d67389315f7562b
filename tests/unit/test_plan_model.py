"""The plan model: the examples load, defaults follow the seed, the schema is complete."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reprise.errors import PlanError
from reprise.plan.checks import CHECK_KINDS
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.plan.schema import plan_json_schema
from reprise.plan.sources import SOURCE_KINDS, default_source_name
from reprise.plan.steps import STEP_KINDS
from tests.conftest import EXAMPLES

MINIMAL = """
organisation: {name: T, timezone: UTC}
objectives: {rpo: 1h, rto: 30m, uptime: 99.9%}
services:
  - {id: a, name: A, category: app, criticality: major}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reprise.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("example", ["akig-app", "pcra-infra", "minimal"])
def test_every_example_validates(example: str) -> None:
    loaded = load_plan(EXAMPLES / example / "reprise.yaml", environ={})
    assert loaded.plan.services


def test_the_pcra_example_keeps_the_seed_priorities_and_reporting() -> None:
    plan = load_plan(EXAMPLES / "pcra-infra" / "reprise.yaml", environ={}).plan
    by_priority = {
        level: [s.id for s in plan.services if s.effective_priority == level]
        for level in ("P1", "P2", "P3")
    }
    assert by_priority == {
        "P1": ["router", "openvpn", "zabbix", "mail"],
        "P2": ["storage"],
        "P3": ["windows"],
    }
    # The seed restores the (major) mail server in priority 1: set, not implied.
    assert plan.service("mail").criticality == "major"
    assert plan.communication.progress_report_every == timedelta(hours=4)
    kinds = {check.kind for service in plan.services for check in service.checks}
    assert {"smtp", "imap", "icmp", "tcp", "http"} <= kinds


def test_the_akig_example_has_the_seed_objectives_and_four_scenarios() -> None:
    plan = load_plan(EXAMPLES / "akig-app" / "reprise.yaml", environ={}).plan
    assert (plan.objectives.rpo, plan.objectives.rto) == (timedelta(hours=1), timedelta(minutes=30))
    assert plan.priorities.P1.response == timedelta(minutes=15)
    assert plan.priorities.P3.response == "next_business_day"
    assert {s.id for s in plan.scenarios} == {
        "db-unavailable",
        "data-corruption",
        "intrusion",
        "data-loss",
    }
    database = plan.service("akig-db")
    assert any(b.schedule == "@hourly" for b in database.backups)
    assert database.drill is not None
    assert database.drill.schedule == "@weekly"


def test_environment_overrides_the_dot_env_file(tmp_path: Path) -> None:
    plan = write(tmp_path, MINIMAL.replace("name: T", 'name: "${ORG}"'))
    env = tmp_path / ".env"
    env.write_text("ORG=from-dotenv\n")
    env.chmod(0o600)
    assert load_plan(plan, environ={}).plan.organisation.name == "from-dotenv"
    assert load_plan(plan, environ={"ORG": "from-env"}).plan.organisation.name == "from-env"


def test_priority_defaults_from_criticality_and_may_differ() -> None:
    plan = Plan.model_validate(
        {
            "organisation": {"name": "T", "timezone": "UTC"},
            "objectives": {"rpo": "1h", "rto": "30m", "uptime": "99.9%"},
            "services": [
                {"id": "a", "name": "A", "category": "x", "criticality": "critical"},
                {"id": "b", "name": "B", "category": "x", "criticality": "minor"},
                {"id": "c", "name": "C", "category": "x", "criticality": "major", "priority": "P1"},
            ],
        }
    )
    assert [s.effective_priority for s in plan.services] == ["P1", "P3", "P1"]


def test_service_objectives_override_the_plan_defaults(tmp_path: Path) -> None:
    text = MINIMAL.replace("criticality: major}", "criticality: major, objectives: {rto: 5m}}")
    plan = load_plan(write(tmp_path, text), environ={}).plan
    service = plan.services[0]
    assert plan.rto(service) == timedelta(minutes=5)
    assert plan.rpo(service) == timedelta(hours=1)


def test_a_service_with_backups_gets_a_weekly_drill_by_default(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """    backups:
      - {kind: files, paths: [/srv], repository: r, schedule: "@daily",
         retention: {keep_daily: 7}}
repositories: {r: {kind: local, path: repo}}
keys: {recipients: [age1mjrg3s7uh5dzkqgm4q7trrzpptyh095vvmqua2gf3nclfg7y2sjsg22xyn]}
"""
    )
    text = text.replace(
        "  - {id: a, name: A, category: app, criticality: major}",
        "  - id: a\n    name: A\n    category: app\n    criticality: major",
    )
    loaded = load_plan(write(tmp_path, text), environ={})
    service = loaded.plan.services[0]
    assert service.drill is not None
    assert service.drill.schedule == "@weekly"
    # Relative repository paths are read from the plan's directory.
    assert loaded.plan.repositories["r"].path == tmp_path.resolve() / "repo"  # type: ignore[union-attr]
    assert default_source_name("a", service.backups[0]) == "a-files"


def test_the_json_schema_offers_every_kind() -> None:
    text = str(plan_json_schema())
    for kind in (*CHECK_KINDS, *SOURCE_KINDS, *STEP_KINDS):
        assert f"'{kind}'" in text, kind
    assert plan_json_schema()["$schema"].endswith("2020-12/schema")


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace("criticality: major", "criticality: high, owner: nobody").replace(
        "rpo: 1h", "rpo: 1 hour"
    )
    with pytest.raises(PlanError) as caught:
        load_plan(write(tmp_path, text), environ={})
    paths = {issue.path for issue in caught.value.issues}
    assert paths == {"objectives.rpo", "services[0].criticality"}
    # Issues come in file order.
    lines = [issue.line for issue in caught.value.issues]
    assert lines == sorted(lines)

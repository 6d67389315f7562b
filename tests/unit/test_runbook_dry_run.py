"""`runbook run --dry-run` on a plan alone: every step resolved from the parameters, the
exercise's behaviour shown, the run's refusals kept, and nothing written to the state."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from reprise.errors import InputError
from reprise.orchestrators.dry_run import preview_runbook
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.store import Store, open_store
from reprise.store.tables import incidents, runbook_runs

PLAN = """\
version: 1
organisation: {{name: AKIG, language: {language}, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
roles:
  - id: lead
    title: Responsable
    permission: admin
    members: [{{name: Ops, contacts: ["mailto://127.0.0.1:9?from=r@akig.test&to=ops@akig.test"]}}]
communication:
  test_contacts: ["mailto://127.0.0.1:9?from=r@akig.test&to=exercice@akig.test"]
state: {{dir: {state}}}
repositories: {{local: {{kind: local, path: {state}/repository}}}}
keys: {{recipients: ["age1fwq3tlq8xnssqd9x2l86xyppm7gezrc9g42krznlp66086v4tvsqwsfyfk"]}}
services:
  - id: app
    name: Application
    category: application
    criticality: critical
    checks: [{{kind: tcp, host: 127.0.0.1, port: 9, interval: 30s}}]
    drill: {{enabled: false}}
    backups:
      - {{kind: postgres, dsn: "postgresql://backup@db.akig.local/postgres", databases: [app],
         repository: local, schedule: "@hourly", retention: {{keep_last: 2}}}}
scenarios:
  - id: restart
    title: Redémarrage
    parameters:
      - {{name: host, description: Serveur, default: app.akig.local}}
    steps:
      - {{kind: command, command: "ssh {{{{ host }}}} sudo systemctl restart app"}}
      - {{kind: command, command: "echo {{{{ host }}}}", safe_in_exercise: true}}
      - {{kind: restore, service: app, target: "postgresql://postgres@{{{{ host }}}}/postgres"}}
      - {{kind: wait_check, service: app, timeout: 2m}}
      - {{kind: notify, roles: [lead], text: "Redémarré sur {{{{ host }}}}"}}
"""


def plan_and_store(tmp_path: Path, language: str = "en") -> tuple[Plan, Store]:
    path = tmp_path / "reprise.yaml"
    path.write_text(PLAN.format(language=language, state=tmp_path / "state"))
    plan = load_plan(path).plan
    return plan, open_store(f"sqlite:///{tmp_path / 'state.db'}")


def count(store: Store) -> tuple[int, int]:
    with store.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            int(connection.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (incidents, runbook_runs)
        )


def test_every_step_is_shown_with_its_parameters_filled_in(tmp_path: Path) -> None:
    plan, store = plan_and_store(tmp_path)
    preview = preview_runbook(plan, store, "restart", {"host": "db2.akig.local"})
    data = preview.to_dict("en")
    assert data["parameters"] == {"host": "db2.akig.local"}
    steps = data["steps"]
    assert steps[0]["command"] == "ssh db2.akig.local sudo systemctl restart app"
    assert steps[0]["runs"] is True
    assert steps[2]["target"] == "db2.akig.local:5432"
    assert steps[2]["does"] == (
        "restores app (latest) into db2.akig.local:5432 once a person confirms; "
        "today it would fail: app-postgres has no backup in the catalog"
    )
    assert steps[3]["does"] == "waits until the checks of app pass (tcp 127.0.0.1:9), at most 120 s"
    assert steps[4]["contacts"] == ["ops@akig.test"]
    assert steps[4]["subject"] == "[AKIG] Redémarrage: Redémarré sur db2.akig.local"
    lines = preview.lines("en")
    assert lines[1] == "Parameters: host=db2.akig.local"
    assert count(store) == (0, 0)


def test_an_exercise_dry_run_shows_skipped_commands_and_the_test_contacts(tmp_path: Path) -> None:
    plan, store = plan_and_store(tmp_path, "fr")
    steps = preview_runbook(plan, store, "restart", {}, exercise=True).to_dict("fr")["steps"]
    assert [s.get("runs") for s in steps[:2]] == [False, True]
    assert steps[0]["does"].startswith("montre sans l'exécuter")
    assert steps[2]["exercise"] == "scratch instance"
    assert "instance PostgreSQL jetable (au lieu de app.akig.local:5432)" in steps[2]["does"]
    assert steps[3]["does"].startswith("contrôle une fois app")
    assert steps[4]["contacts"] == ["exercice@akig.test"]
    assert steps[4]["subject"].startswith("[EXERCICE] [AKIG]")
    assert count(store) == (0, 0)


def test_a_dry_run_refuses_what_the_run_would_refuse(tmp_path: Path) -> None:
    plan, store = plan_and_store(tmp_path)
    with pytest.raises(InputError, match="has no parameter 'hots'"):
        preview_runbook(plan, store, "restart", {"hots": "x"})
    with pytest.raises(InputError, match="cannot go into a shell command"):
        preview_runbook(plan, store, "restart", {"host": "x;reboot"})
    bare = plan.model_copy(
        update={"communication": plan.communication.model_copy(update={"test_contacts": []})}
    )
    with pytest.raises(InputError, match=r"communication\.test_contacts"):
        preview_runbook(bare, store, "restart", {}, exercise=True)
    assert count(store) == (0, 0)

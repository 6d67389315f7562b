"""`reprise plan import` on the seed PCRA and on documents it cannot use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reprise.plan.loader import load_plan

SEED = Path(__file__).parent.parent / "data" / "seeds" / "pcra-incident-plan.md"
"""A copy of ../shared/seeds/pcra-incident-plan.md, as written by the users (CI clones the
repository alone)."""


def test_the_seed_pcra_becomes_a_valid_plan(tmp_path: Path, cli: Any) -> None:
    output = tmp_path / "reprise.yaml"
    result = cli("plan", "import", SEED, "--output", output, "--json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    plan = load_plan(output, environ={}, contacts=False).plan
    services = {service.name: service for service in plan.services}
    assert set(services) == {
        "Serveur Iredmail",
        "Routeur Vyos",
        "Serveur GUI : Disques de sauvegarde et stockage",
        "Windows Server Core",
        "OpenVPN : Carte réseau",
        "Zabbix : Carte réseau",
    }
    router = services["Routeur Vyos"]
    assert (router.id, router.category, router.criticality) == (
        "routeur-vyos",
        "réseau",
        "critical",
    )
    # the strategy puts a *major* mail server in priority 1, as the seed says
    assert services["Serveur Iredmail"].criticality == "major"
    assert services["Serveur Iredmail"].effective_priority == "P1"
    assert services["OpenVPN : Carte réseau"].effective_priority == "P1"
    assert services["Serveur GUI : Disques de sauvegarde et stockage"].effective_priority == "P2"
    assert services["Windows Server Core"].effective_priority == "P3"
    steps = services["Serveur Iredmail"].procedure
    assert [getattr(step, "text", None) for step in steps] == [
        "Vérifier et redémarrer les services",
        "Restaurer les sauvegardes",
        "Tester la messagerie",
    ]
    assert [r.id for r in plan.roles] == ["recovery-lead", "responders", "communication"]
    assert [m.name for m in plan.roles[1].members] == ["Joris", "Nicolas"]
    assert plan.roles[0].permission == "admin"
    assert plan.communication.progress_report_every.total_seconds() == 4 * 3600
    assert plan.organisation.language == "fr"
    unmapped = "\n".join(summary["unmapped"])
    assert "no RPO/RTO figures" in unmapped and "add contacts" in unmapped
    assert "no checks" in unmapped and "depends_on" in unmapped
    assert "Not mapped (to do by hand)" in output.read_text(encoding="utf-8")


def test_an_existing_plan_is_not_replaced_without_force(tmp_path: Path, cli: Any) -> None:
    output = tmp_path / "reprise.yaml"
    output.write_text("mine\n")
    result = cli("plan", "import", SEED, "--output", output)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert output.read_text() == "mine\n"
    assert cli("plan", "import", SEED, "--output", output, "--force").exit_code == 0
    assert "services:" in output.read_text(encoding="utf-8")


def test_documents_without_the_tables_are_refused(tmp_path: Path, cli: Any) -> None:
    output = tmp_path / "reprise.yaml"
    prose = tmp_path / "prose.md"
    prose.write_text("# Notre PCRA\n\nTout redémarrer dans l'ordre.\n", encoding="utf-8")
    binary = tmp_path / "plan.docx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00garbage")
    for document, message in (
        (prose, "no 'état des lieux' or 'procédures' table"),
        (binary, "not UTF-8 text"),
        (tmp_path / "absent.md", "cannot read"),
    ):
        result = cli("plan", "import", document, "--output", output)
        assert result.exit_code == 2, result.stdout
        assert message in result.stderr and "Traceback" not in result.stderr
        assert not output.exists()
    assert not list(tmp_path.glob(".reprise-import-*"))


def test_unknown_criticality_and_unmatched_elements_are_listed(tmp_path: Path, cli: Any) -> None:
    document = tmp_path / "pcra.md"
    document.write_text(
        "# PCRA\n\n## État des lieux\n\n| Élément | Catégorie | Criticité |\n|---|---|---|\n"
        "| Serveur <b>web</b> | Web | Vitale |\n\n## Procédures\n\n"
        "| Élément | Action de reprise |\n|---|---|\n| Imprimante | Redémarrer |\n",
        encoding="utf-8",
    )
    output = tmp_path / "reprise.yaml"
    result = cli("plan", "import", document, "--output", output, "--json")
    assert result.exit_code == 0, result.stderr
    unmapped = json.loads(result.stdout)["unmapped"]
    assert any("criticality 'Vitale' unknown" in item for item in unmapped)
    assert any("'Imprimante': matches no element" in item for item in unmapped)
    plan = load_plan(output, environ={}, contacts=False).plan
    assert plan.services[0].name == "Serveur <b>web</b>"

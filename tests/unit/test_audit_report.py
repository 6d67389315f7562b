"""The audit report in both languages: every status, the measured values spelled the
language's way, French typography, and no English word in French."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from reprise.audit.items import Audit, Item, part
from reprise.audit.report import render
from tests.unit.test_french_output import english_words, typography_faults

START = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)  # 08:00 in Paris


def sample() -> Audit:
    items = [
        Item(
            "app.backup_age",
            "app",
            part("audit.item.backup_age", service="Application"),
            part("audit.objective.rpo", rpo={"duration": 3600.0}),
            "failed",
            part(
                "audit.measured.backup_age",
                age={"duration": 7325.0},
                backup="20261126T050000Z-abc123",
                at={"when": "2026-11-26T05:00:00+00:00"},
            ),
            {"age_seconds": 7325},
            part("audit.fix.backup_age"),
            0.01,
        ),
        Item(
            "verification",
            None,
            part("audit.item.verification"),
            part(
                "audit.objective.verification",
                budget={"percent": 10.0},
                limit={"duration": 900.0},
            ),
            "ok",
            part(
                "audit.measured.verification",
                count=3,
                size={"size": 1536},
                took={"duration": 2.5},
            ),
            {},
            None,
            2.5,
        ),
        Item(
            "app.drill",
            "app",
            part("audit.item.drill", service="Application"),
            part("audit.objective.drill", rto={"duration": 1800.0}),
            "skipped",
            part("audit.measured.skipped_quick"),
            {},
            None,
            0.0,
        ),
        Item(
            "scheduler",
            None,
            part("audit.item.scheduler"),
            part("audit.objective.scheduler"),
            "not_applicable",
            part("audit.measured.no_service"),
            {},
            part("audit.fix.no_service"),
            0.0,
        ),
    ]
    return Audit(
        START, START.replace(minute=1), ["app"], True, "fr", "alice", items, "not_compliant", 7
    )


def test_the_french_report_is_french() -> None:
    text = render(sample(), "md", "fr", "Europe/Paris", "AKIG")
    assert "❌ non conforme" in text
    assert (
        "| ❌ | Application\u202f: âge de la dernière sauvegarde vérifiée (`app.backup_age`) |"
        in text
    )
    assert "2 h 02 min (sauvegarde 20261126T050000Z-abc123 du 26/11/2026 06:00 CET)" in text
    assert "10\u202f% des octets vérifiés en moins de 15 min" in text
    assert "1,5 Kio vérifiés en 2,5 s" in text
    assert "## À corriger" in text and "- ❌ **Application\u202f: âge" in text
    assert english_words(text) == []
    assert typography_faults(text.replace("| |", "")) == []


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_english_report_says_the_same(fmt: str) -> None:
    text = render(sample(), fmt, "en", "Europe/Paris", "AKIG")
    assert "not compliant" in text and "2 h 02 min" in text
    assert "2026-11-26 06:00 CET" in text
    assert "make a backup" in text
    # A fix is shown only for a failed item.
    assert "so that backups, drills and verification run by themselves" not in text


def test_the_json_report_holds_words_and_raw_figures() -> None:
    data = json.loads(render(sample(), "json", "en", "UTC", "AKIG"))
    assert data["result"] == "not_compliant" and data["id"] == 7
    assert data["counts"] == {"ok": 1, "failed": 1, "skipped": 1, "not_applicable": 1}
    aged = data["items"][0]
    assert aged["raw"] == {"age_seconds": 7325} and aged["status"] == "failed"
    assert aged["measured"].startswith("2 h 02 min")

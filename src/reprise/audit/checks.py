"""Item ``SERVICE.checks``: every check of the service passes now (its HTTP/API checks too)."""

from __future__ import annotations

from reprise.audit.items import Finding, part
from reprise.audit.wording import listing
from reprise.probes.result import ProbeResult
from reprise.probes.run import check_line


def judge_checks(results: list[tuple[str, ProbeResult]], language: str) -> Finding:
    """``results``: (check name, result of one run) of the service's checks; ``language``
    sets the colon between a check and its message."""
    if not results:
        return Finding(
            "not_applicable", part("audit.measured.no_checks"), fix=part("audit.fix.no_checks")
        )
    raw = {"checks": [{"name": name, **result.to_dict()} for name, result in results]}
    failing = [(name, result) for name, result in results if result.state != "up"]
    if not failing:
        return Finding("ok", part("audit.measured.checks_up", count=len(results)), raw)
    lines = [check_line(name, result.message, language) for name, result in failing]
    return Finding(
        "failed",
        part(
            "audit.measured.checks_failing",
            failing=len(failing),
            count=len(results),
            lines=listing(lines),
        ),
        raw,
        part("audit.fix.checks"),
    )

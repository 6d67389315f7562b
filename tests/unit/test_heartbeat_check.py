"""The heartbeat check in the plan: its token is a URL-safe secret of its own, refused with
a hint when short, malformed or shared, and never shown; its grace has a sensible default."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from reprise.errors import PlanError
from reprise.plan.checks import HeartbeatCheck
from reprise.plan.loader import load_plan
from reprise.probes.run import describe_check

TOKEN = "k3Jp_Zq8-rT5vW2xY7aB9cD1"
OTHER = "Q0w9E8r7T6y5U4i3O2p1_-aZ"

PLAN = """
organisation: {{name: T, timezone: UTC}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
services:
  - id: router
    name: Router
    category: network
    criticality: major
    checks:
{checks}
"""


def _load(tmp_path: Path, *checks: str, environ: dict[str, str] | None = None) -> HeartbeatCheck:
    path = tmp_path / "reprise.yaml"
    lines = "\n".join(f"      - {check}" for check in checks)
    path.write_text(PLAN.format(checks=lines))
    plan = load_plan(path, environ=environ or {}).plan
    check = plan.service("router").checks[0]
    assert isinstance(check, HeartbeatCheck)
    return check


def _issues(tmp_path: Path, *checks: str) -> list[tuple[str, str, str | None]]:
    with pytest.raises(PlanError) as caught:
        _load(tmp_path, *checks)
    return [(i.path, i.message, i.hint) for i in caught.value.issues]


def test_a_heartbeat_check_reads_its_period_grace_and_token(tmp_path: Path) -> None:
    check = _load(tmp_path, f'{{kind: heartbeat, period: 1d, grace: 2h, token: "{TOKEN}"}}')
    assert (check.period, check.allowed_grace, check.token) == (
        timedelta(days=1),
        timedelta(hours=2),
        TOKEN,
    )
    # It only reads the pings stored: evaluated every minute, quickly, without retries.
    assert (check.interval, check.timeout, check.retries) == (
        timedelta(minutes=1),
        timedelta(seconds=5),
        0,
    )


@pytest.mark.parametrize(
    ("period", "grace"),
    [("1d", timedelta(hours=1)), ("2h", timedelta(minutes=12)), ("10m", timedelta(minutes=5))],
)
def test_the_default_grace_is_a_tenth_of_the_period_between_5_minutes_and_an_hour(
    tmp_path: Path, period: str, grace: timedelta
) -> None:
    check = _load(tmp_path, f'{{kind: heartbeat, period: {period}, token: "{TOKEN}"}}')
    assert check.allowed_grace == grace


def test_the_token_may_come_from_the_environment(tmp_path: Path) -> None:
    check = _load(
        tmp_path,
        '{kind: heartbeat, period: 1d, token: "${EXPORT_TOKEN}"}',
        environ={"EXPORT_TOKEN": TOKEN},
    )
    assert check.token == TOKEN


def test_the_token_is_never_shown(tmp_path: Path) -> None:
    check = _load(tmp_path, f'{{kind: heartbeat, period: 1d, token: "{TOKEN}"}}')
    assert check.target() == "heartbeat every 1d"
    assert describe_check(check) == "heartbeat every 1d"
    assert TOKEN not in repr(check) and TOKEN not in str(check)
    named = _load(tmp_path, f'{{kind: heartbeat, name: Export, period: 1d, token: "{TOKEN}"}}')
    assert describe_check(named) == "Export"


def test_a_short_token_is_refused_with_how_to_make_one(tmp_path: Path) -> None:
    [(path, message, hint)] = _issues(tmp_path, '{kind: heartbeat, period: 1d, token: "abc123"}')
    assert path == "services[0].checks[0].token"
    assert message == "the heartbeat token is too short (6 characters, at least 16)"
    assert hint is not None and "secrets.token_urlsafe(24)" in hint
    assert "abc123" not in message + hint


@pytest.mark.parametrize(
    "token", ["abcdefgh/ijklmnopq", "abcdefgh ijklmnopq", "abcdéfghijklmnopqr"]
)
def test_a_token_with_characters_an_address_would_mangle_is_refused(
    tmp_path: Path, token: str
) -> None:
    [(path, message, hint)] = _issues(
        tmp_path, f'{{kind: heartbeat, period: 1d, token: "{token}"}}'
    )
    assert path == "services[0].checks[0].token"
    assert message == "the heartbeat token may hold only the characters A-Z a-z 0-9 _ -"
    assert hint is not None and "token_urlsafe" in hint


def test_a_missing_token_is_refused(tmp_path: Path) -> None:
    [(path, message, _hint)] = _issues(tmp_path, "{kind: heartbeat, period: 1d}")
    assert path == "services[0].checks[0].token" and "'token'" in message


def test_two_heartbeats_cannot_share_a_token(tmp_path: Path) -> None:
    issues = _issues(
        tmp_path,
        f'{{kind: heartbeat, period: 1d, token: "{TOKEN}"}}',
        f'{{kind: heartbeat, period: 1h, token: "{OTHER}"}}',
        f'{{kind: heartbeat, period: 2h, token: "{TOKEN}"}}',
    )
    [(path, message, hint)] = issues
    assert path == "services[0].checks[2].token"
    assert message == "this heartbeat token is already the token of services[0].checks[0] (router)"
    assert TOKEN not in message + (hint or "")

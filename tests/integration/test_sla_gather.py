"""compute_sla on a month in progress: the synthetic month's state holds results, backups,
drills and an incident after ``now`` (as a clock set back would see them), and none of it
counts; the future is neither up nor "no data". Also the service selection."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import pytest

from devsupport import sla_month
from reprise.cli.main import main
from reprise.errors import InputError
from reprise.plan.loader import LoadedPlan, load_plan
from reprise.sla.gather import compute_sla
from reprise.sla.periods import parse_period
from reprise.usecases.state import open_state

NOW = sla_month.paris(20, 11)
"""In the middle of the monitor's two-hour stop (10:00-12:00)."""
ELAPSED = 19 * 86_400 + 11 * 3600.0
"""From 1 November 00:00 to 20 November 11:00, Paris time (UTC+1 all along)."""


def _plan(tmp_path: Path) -> LoadedPlan:
    folder = tmp_path / "plan"
    assert main(["init", str(folder), "--example", "minimal"]) == 0
    return load_plan(sla_month.write_plan(folder))


def test_a_month_in_progress_is_measured_up_to_now(tmp_path: Path) -> None:
    loaded = _plan(tmp_path)
    period = parse_period(None, start=None, end=None, zone="Europe/Paris", now=NOW)
    assert period.label == "2026-11"
    with open_state(loaded) as store:
        sla_month.write_month(store)
        figures = compute_sla(loaded.plan, store, period, NOW)
    db, mail = figures.services
    a = db.availability
    assert a.period_seconds == ELAPSED
    assert a.maintenance_seconds == 7200  # 15/11 02:00-04:00, the outage inside it unseen
    assert a.no_data_seconds == 3540  # 10:01 (last result 09:59 + 2 min) to now, no further
    assert a.measured_seconds == ELAPSED - 7200 - 3540
    assert [o.seconds for o in a.outages] == [1530, 1800]  # 25/11 has not happened yet
    assert a.down_seconds == 3330 and not any(o.ongoing for o in a.outages)
    assert a.mttr_seconds == 1665
    assert a.mtbf_seconds == (a.measured_seconds - 3330) / 2
    assert a.uptime_percent == pytest.approx(100 * (1 - 3330 / a.measured_seconds))
    # The 3-hour hole of 18/11 is the worst; the newest point is 10:05 today.
    assert db.rpo.worst_gap is not None and db.rpo.worst_gap.seconds == 3 * 3600
    assert db.rpo.current_seconds == 55 * 60
    # Only the drill of 08/11 (20 min); the one of 22/11 and the incident are ahead.
    assert (db.rto.drills, db.rto.last_seconds, db.rto.worst_seconds) == (1, 1200, 1200)
    assert db.rto.recoveries == []
    verdicts = {o.name: (o.verdict, o.margin) for o in db.objectives}
    assert verdicts["rto"] == ("ok", 600) and verdicts["rpo"] == ("breached", -7200)
    m = mail.availability
    assert (m.down_seconds, m.degraded_seconds, m.no_data_seconds) == (0, 1800, 3540)
    assert m.uptime_percent == 100 and m.mttr_seconds is None and m.mtbf_seconds is None
    assert {o.name: o.verdict for o in mail.objectives} == {"uptime": "ok", "rto": "no_data"}
    assert figures.incidents == []
    # The trend: the twelve months to November; before 31 October nothing was watched.
    labels = [point.label for point in figures.trend]
    assert labels[0] == "2025-12" and labels[-1] == "2026-11" and len(labels) == 12
    assert all(p.uptime_percent is None and p.verdict == "no_data" for p in figures.trend[:10])
    october = figures.trend[-2]
    assert october.uptime_percent == 100 and october.worst_rto_seconds is None
    measured = a.measured_seconds + m.measured_seconds
    assert figures.trend[-1].uptime_percent == pytest.approx(100 * (1 - 3330 / measured))
    assert figures.generated_at.astimezone(UTC) == NOW.astimezone(UTC)


def test_services_are_chosen_by_id_and_unknown_ones_named(tmp_path: Path) -> None:
    loaded = _plan(tmp_path)
    period = parse_period("2026-11", start=None, end=None, zone="Europe/Paris", now=NOW)
    with open_state(loaded) as store:
        sla_month.write_month(store)
        only = compute_sla(loaded.plan, store, period, NOW, services=["mail"], trend_months=0)
        assert [s.service for s in only.services] == ["mail"] and only.trend == []
        with pytest.raises(InputError, match="no service 'nope'") as raised:
            compute_sla(loaded.plan, store, period, NOW, services=["nope"])
    assert raised.value.hint is not None and "db, mail" in raised.value.hint

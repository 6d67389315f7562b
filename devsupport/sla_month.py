"""A synthetic month for the SLA figures: November 2026 (Europe/Paris, UTC+1 all month) of
two services checked every minute, written into a state store through the product's own
tables, with every figure known to the second (``EXPECTED``). Used by the SLA tests, the
expected reports and the demo.

What happens (times are Paris times):

- ``db`` (P1; RPO 1 h, RTO 30 min, uptime 99.9 %): down 03/11 14:00:00-14:25:30 (1,530 s),
  10/11 23:50:00-11/11 00:20:00 across midnight (1,800 s), down 15/11 02:10-03:00 inside
  the maintenance window 02:00-04:00 (not counted), down 25/11 08:00:00-08:40:00 in the
  power cut (2,400 s). Backups every hour at :05, verified, except 18/11 01:05 (not
  verified) and 02:05 (missing): one 3-hour hole. Drills 08/11 (RTO 20 min) and 22/11
  (RTO 35 min, beyond the objective).
- ``mail`` (P1; RTO 4 h, uptime 99.5 %): degraded 05/11 09:00-09:30, down 25/11
  08:00:30-08:35:00 in the power cut (2,070 s). No backups.
- The monitor stopped 20/11 10:00-12:00 for everything: the last results at 09:59:00
  vouch until 10:01:00, so 7,140 s without data.
- Incident 1 (real): 25/11 08:01:00, closed 09:00:00; db back at 08:40:00, mail at 08:35:00.
  Incident 2 (an exercise, 27/11 10:00-10:30): never counted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from reprise.store.database import Store
from reprise.store.events import append_event
from reprise.store.tables import (
    backups,
    check_results,
    drills,
    incident_services,
    incidents,
)

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 11, 1, tzinfo=PARIS)
END = datetime(2026, 12, 1, tzinfo=PARIS)
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=PARIS)
"""When the monthly report of November runs."""


def paris(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 11) -> datetime:
    """A Paris time of November 2026 (or ``month``)."""
    return datetime(2026, month, day, hour, minute, second, tzinfo=PARIS)


PLAN = """\
version: 1
organisation:
  name: AKIG
  language: {language}
  timezone: Europe/Paris
objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
roles:
  - id: ops
    title: Exploitation
    permission: admin
    members:
      - name: Astreinte
        contacts: ["{contact}"]
communication:
  audiences: [ops]
sla: {{degraded: {degraded}}}
alerting:
  maintenance:
    - services: [db]
      reason: Mise à jour PostgreSQL
      start: "2026-11-15T02:00:00"
      end: "2026-11-15T04:00:00"
monitoring: {{raw_retention: 60d}}
repositories:
  local: {{kind: local, path: "{repository}"}}
keys:
  recipients_file: keys/recipients.txt
  identity: keys/identity.txt
  signing_key: keys/signing.key
state: {state}
services:
  - id: db
    name: Base PostgreSQL AKIG
    category: base de données
    criticality: critical
    priority: P1
    owner: ops
    checks: [{{kind: tcp, host: 127.0.0.1, port: 9, interval: 1m}}]
    backups:
      - kind: command
        command: "echo akig"
        repository: local
        schedule: "@hourly"
        retention: {{keep_last: 48}}
    drill: {{enabled: false}}
  - id: mail
    name: Serveur de messagerie
    category: messagerie
    criticality: major
    priority: P1
    owner: ops
    objectives: {{rto: 4h, uptime: 99.5%}}
    checks: [{{kind: tcp, host: 127.0.0.1, port: 25, interval: 1m}}]
"""


def write_plan(
    directory: Path,
    *,
    language: str = "fr",
    degraded: str = "up",
    contact: str = "mailto://127.0.0.1:1?from=reprise@akig.test&to=ops@akig.test",
    state_url: str | None = None,
) -> Path:
    """Write the month's plan into ``directory`` (made by ``reprise init``, for its keys);
    the state goes to ``state_url``, else ``directory/state``."""
    path = directory / "reprise.yaml"
    path.write_text(
        PLAN.format(
            language=language,
            degraded=degraded,
            contact=contact,
            repository=directory / "repository",
            state=f'{{url: "{state_url}"}}' if state_url else f'{{dir: "{directory / "state"}"}}',
        ),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


STATES: dict[str, list[tuple[datetime, str]]] = {
    "db": [
        (paris(3, 14), "down"),
        (paris(3, 14, 25, 30), "up"),
        (paris(10, 23, 50), "down"),
        (paris(11, 0, 20), "up"),
        (paris(15, 2, 10), "down"),
        (paris(15, 3), "up"),
        (paris(25, 8), "down"),
        (paris(25, 8, 40), "up"),
    ],
    "mail": [
        (paris(5, 9), "degraded"),
        (paris(5, 9, 30), "up"),
        (paris(25, 8, 0, 30), "down"),
        (paris(25, 8, 35), "up"),
    ],
}
GAP = (paris(20, 10), paris(20, 12))
"""The monitor stopped: no result at or after the first, before the second."""


def _state_at(service: str, at: datetime) -> str:
    state = "up"
    for changed, new in STATES[service]:
        if changed <= at:
            state = new
    return state


def write_month(store: Store) -> None:
    """Write the month into ``store`` (migrated, empty)."""
    started = START - timedelta(days=1)
    for service in STATES:
        append_event(store, "service.state", service, {"from": "unknown", "to": "up"}, at=started)
        previous = "up"
        for at, state in STATES[service]:
            append_event(store, "service.state", service, {"from": previous, "to": state}, at=at)
            previous = state
    rows = []
    names = {"db": "tcp 127.0.0.1:9", "mail": "tcp 127.0.0.1:25"}
    at = started
    while at < NOW:
        if not GAP[0] <= at < GAP[1]:
            for service, check in names.items():
                epoch = at.timestamp()
                rows.append(
                    {
                        "service": service,
                        "check_name": check,
                        "at": epoch,
                        "hour": int(epoch // 3600),
                        "state": _state_at(service, at),
                        "latency": 0.01,
                        "message": "ok",
                    }
                )
        at += timedelta(minutes=1)
    with store.engine.begin() as connection:
        connection.execute(insert(check_results), rows)
        connection.execute(insert(backups), _backups())
        connection.execute(insert(drills), _drills())
        _incidents(connection)


def _backups() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    at = (START - timedelta(days=1)).replace(minute=5)
    while at < NOW:
        if at != paris(18, 2, 5):
            verified = at != paris(18, 1, 5)
            done = at + timedelta(minutes=2)
            rows.append(
                {
                    "repository": "local",
                    "backup_id": at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ") + "-000000",
                    "source": "db-command",
                    "service": "db",
                    "kind": "command",
                    "started_at": at,
                    "finished_at": done,
                    "plain_size": 1000,
                    "stored_size": 500,
                    "manifest": {},
                    "verified_at": done if verified else None,
                    "verify_status": "ok" if verified else None,
                }
            )
        at += timedelta(hours=1)
    return rows


def _drills() -> list[dict[str, object]]:
    return [
        {
            "service": "db",
            "source": "db-command",
            "repository": "local",
            "backup_id": "x",
            "backup_time": started - timedelta(hours=1),
            "started_at": started,
            "finished_at": started + timedelta(seconds=rto),
            "seconds": rto,
            "rto_seconds": rto,
            "objective_seconds": 1800.0,
            "result": "passed",
            "failures": [],
            "steps": [],
        }
        for started, rto in ((paris(8, 3), 1200.0), (paris(22, 3), 2100.0))
    ]


def _incidents(connection: object) -> None:
    from sqlalchemy import Connection

    assert isinstance(connection, Connection)
    for number, (opened, closed, title, exercise, members) in enumerate(
        (
            (
                paris(25, 8, 1),
                paris(25, 9),
                "Coupure électrique",
                False,
                (("db", paris(25, 8, 40)), ("mail", paris(25, 8, 35))),
            ),
            (
                paris(27, 10),
                paris(27, 10, 30),
                "Exercice annuel",
                True,
                (("db", paris(27, 10, 30)),),
            ),
        ),
        start=1,
    ):
        connection.execute(
            insert(incidents).values(
                id=number,
                title=title,
                severity="P1",
                status="closed",
                opened_at=opened,
                opened_by="monitor",
                closed_at=closed,
                last_failure_at=opened,
                exercise=exercise,
            )
        )
        for position, (service, resolved) in enumerate(members):
            connection.execute(
                insert(incident_services).values(
                    incident_id=number,
                    service=service,
                    position=position,
                    state="up",
                    initial_state="down",
                    added_at=opened,
                    target_at=opened + timedelta(minutes=30),
                    resolved_at=resolved,
                )
            )


MONTH_SECONDS = 30 * 86400
EXPECTED = {
    "db": {
        "maintenance": 7200.0,
        "no_data": 7140.0,
        "measured": MONTH_SECONDS - 7200.0 - 7140.0,
        "down": 1530.0 + 1800.0 + 2400.0,
        "outages": [1530.0, 1800.0, 2400.0],
        "worst_gap": 3 * 3600.0,
        "worst_gap_from": paris(18, 0, 5),
        "drills": (2, 2100.0, 1650.0, 2100.0),
        "recovery": 2340.0,
    },
    "mail": {
        "maintenance": 0.0,
        "no_data": 7140.0,
        "measured": MONTH_SECONDS - 7140.0,
        "down": 2070.0,
        "degraded": 1800.0,
        "outages": [2070.0],
        "recovery": 2040.0,
    },
}
"""The figures the month must give (seconds), each worked out by hand from the above."""

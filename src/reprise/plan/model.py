"""The plan (``reprise.yaml``): organisation, objectives, priorities, roles, communication,
repositories, keys, state, services and scenarios.

This module says what a valid plan *looks like*. Rules that relate one part to another
(a ``depends_on`` naming an unknown service, a cycle, a duplicate id) live in
``reprise.plan.references``, which can point at the exact line of each reference.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, field_validator, model_validator
from pydantic_core import PydanticCustomError

from reprise.plan.checks import Check
from reprise.plan.common import Host, Identifier, PlanModel, PlanPath, Text, one_or_many
from reprise.plan.sources import BackupSource
from reprise.plan.steps import Step
from reprise.plan.units import (
    Duration,
    Percent,
    Schedule,
    Size,
    TimeOfDay,
    format_duration,
    parse_duration,
)

Criticality = Literal["critical", "major", "minor"]
PriorityName = Literal["P1", "P2", "P3"]
Language = Literal["fr", "en"]
Permission = Literal["admin", "responder", "viewer"]

PRIORITY_FROM_CRITICALITY: dict[str, PriorityName] = {
    "critical": "P1",
    "major": "P2",
    "minor": "P3",
}
"""A service's priority when the plan does not set one."""

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _timezone(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise PydanticCustomError(
            "timezone",
            "unknown time zone '{got}'",
            {"got": value, "hint": "use an IANA name such as Europe/Paris or UTC"},
        ) from None
    return value


def _weekdays(value: Any) -> Any:
    hint = "write a range such as mon-fri, or a list such as [mon, tue, wed]"
    if isinstance(value, str) and "-" in value:
        start, _, end = (part.strip().lower()[:3] for part in value.partition("-"))
        if start in _WEEKDAYS and end in _WEEKDAYS:
            first, last = _WEEKDAYS.index(start), _WEEKDAYS.index(end)
            if first <= last:
                return list(_WEEKDAYS[first : last + 1])
        raise PydanticCustomError(
            "weekdays", "not a range of days (got '{got}')", {"got": value, "hint": hint}
        )
    items = one_or_many(value)
    if isinstance(items, list):
        days = [str(item).strip().lower()[:3] for item in items]
        if days and all(day in _WEEKDAYS for day in days):
            return sorted(set(days), key=_WEEKDAYS.index)
    raise PydanticCustomError(
        "weekdays", "not a list of days (got '{got}')", {"got": value, "hint": hint}
    )


class BusinessHours(PlanModel):
    """When the team works: for next-business-day escalation and digests."""

    days: Annotated[list[str], BeforeValidator(_weekdays)] = Field(
        default_factory=lambda: list(_WEEKDAYS[:5]), description="mon-fri or a list of days."
    )
    start: TimeOfDay = Field("08:00", validate_default=True)
    end: TimeOfDay = Field("18:00", validate_default=True)
    holidays: list[date] = Field(default_factory=list, description="Days off (YYYY-MM-DD).")

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise PydanticCustomError(
                "hours", "start must be before end", {"hint": "e.g. start: '08:00', end: '18:00'"}
            )
        return self


class Organisation(PlanModel):
    """Who the plan belongs to; its language is the language of reports and messages."""

    name: Text = Field(description="Shown in reports and notifications.")
    language: Language = Field("en", description="Language of reports and notifications.")
    timezone: Annotated[str, BeforeValidator(_timezone)] = Field(
        description="IANA time zone, e.g. Europe/Paris."
    )
    business_hours: BusinessHours = Field(default_factory=BusinessHours)


class Objectives(PlanModel):
    """Default recovery objectives; each service may override them."""

    rpo: Duration = Field(description="Recovery point objective: most data one may lose.")
    rto: Duration = Field(description="Recovery time objective: longest time to recover.")
    uptime: Percent = Field(description="Availability target, e.g. 99.9%.")


class ObjectiveOverrides(PlanModel):
    """A service's own objectives, where they differ from the plan's."""

    rpo: Duration | None = None
    rto: Duration | None = None
    uptime: Percent | None = None


def _response(value: Any) -> Any:
    if value == "next_business_day":
        return value
    return parse_duration(value)


def _format_response(value: timedelta | str) -> str:
    return value if isinstance(value, str) else format_duration(value)


ResponseTime = Annotated[
    timedelta | Literal["next_business_day"],
    BeforeValidator(_response),
    PlainSerializer(_format_response, return_type=str),
]


class Priority(PlanModel):
    """How fast a priority is handled, and whom it escalates to."""

    response: ResponseTime = Field(description="A duration, or next_business_day.")
    repeat_every: Duration | None = Field(
        None,
        description="Re-notify and escalate at this "
        "interval until acknowledged; "
        "default: the response time.",
    )
    escalate_to: Annotated[list[Identifier], BeforeValidator(one_or_many)] = Field(
        default_factory=list, description="Roles notified in turn, after the service's owner."
    )
    digest_at: TimeOfDay | None = Field(
        None, description="For next_business_day: the hour of the daily digest."
    )


def _default_priority(response: str) -> Priority:
    return Priority.model_validate({"response": response})


class Priorities(PlanModel):
    """Response times per priority (seed: P1 15 min, P2 1 h, P3 next business day)."""

    P1: Priority = Field(default_factory=lambda: _default_priority("15m"))
    P2: Priority = Field(default_factory=lambda: _default_priority("1h"))
    P3: Priority = Field(default_factory=lambda: _default_priority("next_business_day"))


_CONTACT = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


def _contact(value: Any) -> Any:
    if isinstance(value, str) and not _CONTACT.match(value.strip()):
        raise PydanticCustomError(
            "contact",
            "not a notification URL",
            {
                "hint": "write an Apprise URL such as mailtos://user:pass@smtp.example.org"
                "?to=oncall@example.org or slack://T000/B000/XXXX/#ops"
            },
        )
    return value


ContactUrl = Annotated[str, BeforeValidator(_contact)]
"""An Apprise notification URL (mailto://, slack://, ntfy://, twilio://…)."""


class Member(PlanModel):
    """A person (or a shared on-call address) and how to reach them."""

    name: Text
    login: Identifier | None = Field(
        None,
        description="Signs in to the web with this login (`reprise user passwd LOGIN` sets "
        "the password); the member's roles give the permission.",
    )
    contacts: Annotated[list[ContactUrl], BeforeValidator(one_or_many)] = Field(
        default_factory=list
    )


class Role(PlanModel):
    """A role of the recovery team (the seed's "Rôles et responsabilités")."""

    id: Identifier
    title: Text = Field(description="Seed: Responsable des actions de reprise…")
    responsibilities: Annotated[list[str], BeforeValidator(one_or_many)] = Field(
        default_factory=list
    )
    permission: Permission = Field(
        "viewer", description="admin, responder or viewer (web interface and API)."
    )
    members: list[Member] = Field(default_factory=list)


class Communication(PlanModel):
    """Progress reports during an incident and who receives them."""

    progress_report_every: Duration = Field(timedelta(hours=4))
    audiences: Annotated[list[Identifier], BeforeValidator(one_or_many)] = Field(
        default_factory=list,
        description="Roles that receive progress and final reports, and the monthly SLA report.",
    )
    test_contacts: Annotated[list[ContactUrl], BeforeValidator(one_or_many)] = Field(
        default_factory=list,
        description="Where tests and exercises send (Apprise URLs): `reprise audit` checks "
        "the alert channels here, and exercises (runbooks and incidents run as an "
        "exercise) notify only these, never on-call.",
    )


class Flapping(PlanModel):
    """When a service changes state too often: one "flapping" alert, then quiet."""

    changes: int = Field(
        5, ge=2, le=1000, description="More state changes than this within the window: flapping."
    )
    window: Duration = Field(
        timedelta(minutes=10),
        description="The observation window; "
        "also how long a service must "
        "stay stable to stop "
        "flapping.",
    )


class Delivery(PlanModel):
    """How failed notifications are retried (they never stop the monitor)."""

    attempts: int = Field(4, ge=1, le=20, description="Tries per contact and message.")
    backoff: Duration = Field(
        timedelta(seconds=5), description="Wait before the second try; doubles after each failure."
    )
    timeout: Duration = Field(timedelta(seconds=30), description="Longest wait for one try.")


class Route(PlanModel):
    """Extra roles notified for alerts matching priorities, services or categories."""

    roles: Annotated[list[Identifier], BeforeValidator(one_or_many), Field(min_length=1)]
    priorities: Annotated[list[PriorityName], BeforeValidator(one_or_many)] = Field(
        default_factory=list, description="Empty: every priority."
    )
    services: Annotated[list[Identifier], BeforeValidator(one_or_many)] = Field(
        default_factory=list, description="Empty: every service."
    )
    categories: Annotated[list[Text], BeforeValidator(one_or_many)] = Field(
        default_factory=list, description="Empty: every category."
    )


class MaintenanceWindow(PlanModel):
    """A planned window during which services are still checked but raise no alert: one
    period (start, end) or a recurring one (schedule, duration)."""

    services: Annotated[list[Identifier], BeforeValidator(one_or_many)] = Field(
        default_factory=list, description="Empty: every service."
    )
    reason: Text
    start: datetime | None = Field(
        None,
        description="One period: its start (ISO 8601; the plan's time zone when none is given).",
    )
    end: datetime | None = None
    schedule: Schedule | None = Field(None, description="Recurring: when it opens (cron).")
    duration: Duration | None = Field(None, description="Recurring: how long it lasts.")

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        once = self.start is not None and self.end is not None
        recurring = self.schedule is not None and self.duration is not None
        if (
            once == recurring
            or (once and (self.schedule or self.duration))
            or (recurring and (self.start or self.end))
        ):
            raise PydanticCustomError(
                "maintenance",
                "a maintenance window needs start and end, or schedule and duration",
                {
                    "hint": "e.g. {start: 2026-12-01T22:00, end: 2026-12-02T02:00} or "
                    "{schedule: '0 3 * * sun', duration: 2h}"
                },
            )
        if once and self.end is not None and self.start is not None and (self.end <= self.start):
            raise PydanticCustomError(
                "maintenance", "end is not after start", {"hint": "swap start and end"}
            )
        return self


class Alerting(PlanModel):
    """Who is told what: routing, flapping, maintenance windows, delivery retries, the
    root cause's wait for the services behind it, and alerts during an incident."""

    routes: list[Route] = Field(
        default_factory=list, description="Roles added to the service's owner."
    )
    flapping: Flapping = Field(default_factory=Flapping)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    delivery: Delivery = Field(default_factory=Delivery)
    root_cause_wait: Duration = Field(
        timedelta(seconds=30),
        description="When a service others depend on goes down, its alert waits at most "
        "this long (and at most one check period of each of them) for the services behind "
        "it to be checked, so that it names every one of them with its state.",
    )
    during_incident: Literal["incident", "alerts"] = Field(
        "incident",
        description="incident: while a service is part of an open incident that has been "
        "announced, its state changes go into the incident (timeline, progress reports) "
        "instead of alerts of their own, and only the incident's first alert escalates; "
        "once the incident is closed, services still down alert as usual. alerts: every "
        "service alerts on its own, as outside incidents.",
    )


class Monitoring(PlanModel):
    """How the monitor runs checks and keeps their results."""

    concurrency: int = Field(200, ge=1, le=10000, description="Checks running at once.")
    workers: int | Literal["auto"] = Field(
        "auto",
        description="Processes the checks are shared over (one event loop each). auto: one "
        "process for plans of up to 2,000 checks, else one per core.",
    )
    raw_retention: Duration = Field(
        timedelta(days=7),
        description="Raw results are kept this long, then only hourly and daily roll-ups.",
    )


class Incidents(PlanModel):
    """When the monitor opens incidents on its own, and how failures are grouped."""

    auto_open: Annotated[list[PriorityName], BeforeValidator(one_or_many)] = Field(
        default_factory=lambda: list[PriorityName](["P1", "P2"]),
        description="Priorities whose failure opens an incident (empty: only by hand).",
    )
    grouping_window: Duration = Field(
        timedelta(minutes=10),
        description="A failure that "
        "begins within this time of the latest one of an open "
        "incident joins it (a power failure is one incident).",
    )


class LocalRepository(PlanModel):
    """A directory (local disk, NFS or a mounted backup server)."""

    kind: Literal["local"]
    path: PlanPath


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _bucket(value: Any) -> Any:
    if isinstance(value, str) and not _BUCKET.match(value):
        raise PydanticCustomError(
            "bucket",
            "'{got}' is not a valid bucket name",
            {"got": value, "hint": "3 to 63 characters: lowercase letters, digits, '.' and '-'"},
        )
    return value


def _prefix(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip("/")
        return f"{value}/" if value else ""
    return value


class ObjectLock(PlanModel):
    """S3 Object Lock retention applied to each uploaded object (immutable backups)."""

    mode: Literal["governance", "compliance"] = "governance"
    days: int = Field(ge=1, le=36500)


class S3Repository(PlanModel):
    """S3-compatible object storage; credentials come from the environment (AWS_*)."""

    kind: Literal["s3"]
    bucket: Annotated[str, BeforeValidator(_bucket)]
    prefix: Annotated[str, BeforeValidator(_prefix)] = ""
    endpoint_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = Field(
        None, description="For non-AWS servers (MinIO, Ceph, Scaleway, OVH…)."
    )
    region: str | None = None
    object_lock: ObjectLock | None = None
    part_size: Size = Field(
        64 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        description="Multipart upload part size (at least 5MiB).",
    )


Repository = Annotated[LocalRepository | S3Repository, Field(discriminator="kind")]

_AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")


def _recipient(value: Any) -> Any:
    if isinstance(value, str) and not _AGE_RECIPIENT.match(value.strip()):
        raise PydanticCustomError(
            "recipient",
            "not an age recipient (public key)",
            {
                "hint": "copy the 'age1…' line that `reprise init` or `age-keygen -y` prints; "
                "never put an AGE-SECRET-KEY here"
            },
        )
    return value.strip() if isinstance(value, str) else value


_SIGNING_FINGERPRINT = re.compile(r"^SHA256:[0-9a-f]{32}$")


def _trusted_signing_key(value: Any) -> Any:
    if isinstance(value, str) and value.strip().upper().startswith("SHA256:"):
        value = value.strip()
        if not _SIGNING_FINGERPRINT.match(value):
            raise PydanticCustomError(
                "fingerprint",
                "'{got}' is not a signing key fingerprint",
                {
                    "got": value,
                    "hint": "copy the SHA256:… line (32 hex digits) that `reprise "
                    "keys show` prints, or give the public key file",
                },
            )
    return value


TrustedSigningKey = Annotated[
    Annotated[str, Field(pattern=_SIGNING_FINGERPRINT.pattern)] | PlanPath,
    Field(union_mode="left_to_right"),
    BeforeValidator(_trusted_signing_key),
]
"""A trusted public signing key: a fingerprint (``SHA256:…``) or a PEM public key file."""


class Keys(PlanModel):
    """Key material. Backup hosts need recipients and the signing key; only restores need
    the identity, which can stay offline."""

    recipients: list[Annotated[str, BeforeValidator(_recipient)]] = Field(
        default_factory=list, description="age public keys every backup is encrypted to."
    )
    recipients_file: PlanPath | None = Field(
        None, description="A file of age public keys, one per line."
    )
    identity: PlanPath | None = Field(None, description="age private key; only where restores run.")
    signing_key: PlanPath | None = Field(
        None,
        description="Ed25519 private key (PEM) that "
        "signs manifests and WAL files; "
        "its public half is trusted.",
    )
    trusted_signing_keys: list[TrustedSigningKey] = Field(
        default_factory=list,
        description="Other public signing keys whose backups verify and restore: a key "
        "being retired, another backup host's, or on a restore-only host the "
        "backup host's. Each is a PEM public key file (keys/signing.pub) or a "
        "fingerprint as `reprise keys show` prints it (SHA256:…, its public key "
        "then read from the repository file and checked against it). Only "
        "these and keys.signing_key are trusted, never the repository's file.",
    )
    readers_group: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] | None = Field(
        None,
        description="A dedicated group (such as reprise) whose members may read the "
        "secret files: .env and the keys may then be 0640 with this group "
        "instead of 0600, so that the postgres user can run `wal push` "
        "(docs/security.md). Never group-writable.",
    )


class Scheduler(PlanModel):
    """How `reprise serve` runs the plan's scheduled jobs (backups, drills, verification,
    pruning)."""

    max_parallel: int = Field(2, ge=1, le=64, description="Jobs running at once.")
    per_repository: int = Field(
        1,
        ge=1,
        le=16,
        description="Jobs at once on one repository (backups, drills, verification and "
        "pruning all read or write it).",
    )
    jitter: Duration = Field(
        timedelta(0),
        description="Spread each job's start by up to this much after its time (the "
        "same offset every time for a given job), so that many jobs at 02:00 "
        "do not start in the same second.",
    )
    retries: int = Field(
        2, ge=0, le=10, description="Runs again after a failure that may pass (a lost connection)."
    )
    retry_backoff: Duration = Field(
        timedelta(minutes=1), description="Wait before the first retry, doubled after each."
    )

    @field_validator("jitter")
    @classmethod
    def _bounded_jitter(cls, value: timedelta) -> timedelta:
        if value > timedelta(hours=1):
            raise PydanticCustomError(
                "jitter", "jitter is at most 1h", {"hint": "use a later schedule instead"}
            )
        return value


class Serve(PlanModel):
    """The long-running service (`reprise serve`): how it says it is alive."""

    heartbeat_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = Field(
        None,
        description="Pinged (GET) every heartbeat_every while the service runs, e.g. a "
        "healthchecks.io check URL, so that something pages when Reprise itself dies.",
    )
    heartbeat_every: Duration = Field(timedelta(minutes=1), description="How often to ping.")


class Web(PlanModel):
    """The web interface and its JSON API (inside `reprise serve`, or `reprise web`)."""

    listen: Annotated[str, Field(pattern=r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")] = (
        Field(
            "127.0.0.1:8080",
            description="HOST:PORT to listen on; keep it on loopback behind a reverse proxy "
            "that terminates TLS (docs/web.md).",
        )
    )
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s?#]+$")] | None = Field(
        None,
        description="The address people reach the web at (https://reprise.example.org), for "
        "links in mails (acknowledge in one click); cookies are Secure when it is https.",
    )
    session_idle: Duration = Field(
        timedelta(minutes=30), description="A session unused for this long signs out."
    )
    ack_link_valid: Duration = Field(
        timedelta(hours=24), description="How long an acknowledgement link in a mail works."
    )


class StatusPageService(PlanModel):
    """A service shown on the public status page, under the name the public knows it by."""

    service: Identifier = Field(description="The service's id in the plan.")
    name: Text = Field(
        description="Its public name (Messagerie); the page never shows the plan's own name, "
        "id, hosts or check messages."
    )
    group: Text | None = Field(None, description="A heading the page groups services under.")


class StatusPage(PlanModel):
    """The public status page (/status, no sign-in): the services listed here, each under a
    public name, with its state, its open incidents' public updates and its history.
    No services: no public page (/status answers 404)."""

    title: Text | None = Field(None, description="The page's title; default: the organisation's.")
    services: list[StatusPageService] = Field(
        default_factory=list, description="The services shown, in this order."
    )
    history_days: int = Field(90, ge=1, le=365, description="Days of history shown (1 to 365).")


class HighAvailability(PlanModel):
    """Several `reprise serve` on different hosts sharing a PostgreSQL state: one leads
    (runs the checks, alerts and jobs), the others stand by."""

    takeover_after: Duration = Field(
        timedelta(seconds=30),
        description="A standby takes over when the leader has not renewed its lease for "
        "this long (it died, or lost the state database); from 6s to 10m.",
    )

    @field_validator("takeover_after")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=6) <= value <= timedelta(minutes=10):
            raise PydanticCustomError(
                "takeover_after",
                "takeover_after is from 6s to 10m",
                {"hint": "30s suits most sites"},
            )
        return value


class Verification(PlanModel):
    """Scheduled verification of each repository's backups: deep (decrypt and decompress)
    where the identity is present, signatures and checksums otherwise."""

    enabled: bool = True
    schedule: Schedule = Field("@daily", validate_default=True)
    budget: Percent = Field(
        10.0,
        description="Share of the bytes checked per run, least recently verified "
        "first: 10% covers everything in ten runs.",
    )
    timeout: Duration = Field(timedelta(hours=4), description="A run is stopped past this.")


class Pruning(PlanModel):
    """Scheduled pruning of each repository (each source's retention)."""

    enabled: bool = True
    schedule: Schedule = Field("@daily", validate_default=True)
    timeout: Duration = Field(timedelta(hours=1), description="A run is stopped past this.")


class Sla(PlanModel):
    """How availability is counted (`reprise sla`) and the monthly SLA report."""

    degraded: Literal["up", "down"] = Field(
        "up",
        description="Whether time in the degraded state counts as up (the service answers, "
        "slowly) or as down in the uptime figure.",
    )
    report: bool = Field(
        True,
        description="`reprise serve` sends last month's SLA report to communication.audiences.",
    )
    report_schedule: Schedule = Field(
        "0 8 1 * *",
        validate_default=True,
        description="When the monthly report goes (cron, plan's time zone): 08:00 on the 1st.",
    )


class Audit(PlanModel):
    """Thresholds of `reprise audit` beyond the plan's objectives."""

    throughput_floor: Percent = Field(
        50.0,
        description="A fresh backup slower than this share of the median of the previous "
        "runs (MB/s) fails the audit.",
    )
    verification_budget: Percent = Field(
        10.0, description="Share of each repository's bytes verified by the audit."
    )
    verification_time: Duration = Field(
        timedelta(minutes=15),
        description="The audit's verification of a repository must finish within this.",
    )


class StateSettings(PlanModel):
    """Where Reprise keeps its state (results, events, catalog): SQLite or PostgreSQL."""

    dir: PlanPath | None = Field(
        None,
        description="State directory (SQLite file, reports); "
        "default $REPRISE_STATE_DIR, else "
        "/var/lib/reprise (root) or "
        "~/.local/state/reprise.",
    )
    url: Annotated[str, Field(pattern=r"^(sqlite|postgresql|postgres)(\+\w+)?://.*$")] | None = (
        Field(
            None,
            description="sqlite:////path/reprise.db or postgresql://…; default: "
            "a SQLite file in the state directory.",
        )
    )


class Drill(PlanModel):
    """Automated restore drills of a service with backups."""

    schedule: Schedule = Field("@weekly", validate_default=True)
    enabled: bool = True
    max_duration: Duration | None = Field(
        None, description="Fail the drill past this; default: the service's RTO."
    )
    assertion_timeout: Duration = Field(
        timedelta(seconds=30),
        description="Each integrity assertion is cancelled (and "
        "fails) past this (statement_timeout); from 1s "
        "to 1h.",
    )

    @field_validator("assertion_timeout")
    @classmethod
    def _bounded_timeout(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(hours=1):
            raise PydanticCustomError(
                "assertion_timeout",
                "must be between 1s and 1h (got {got})",
                {
                    "got": format_duration(value),
                    "hint": "an assertion is one query on a restored copy: 30s is the default",
                },
            )
        return value


class Service(PlanModel):
    """An element of the infrastructure (the seed's "Élément")."""

    id: Identifier = Field(description="Used in references and file names (akig-db).")
    name: Text = Field(description="Shown to people (Base PostgreSQL AKIG).")
    category: Text = Field(
        description="messagerie, réseau, stockage, serveur, base de données, application…"
    )
    description: str | None = None
    criticality: Criticality = Field(
        description="critical, major or minor (seed: Critique, Majeur, Mineur)."
    )
    priority: PriorityName | None = Field(
        None, description="Default from criticality: critical P1, major P2, minor P3."
    )
    owner: Identifier | None = Field(None, description="Role responsible for the service.")
    depends_on: Annotated[list[Identifier], BeforeValidator(one_or_many)] = Field(
        default_factory=list
    )
    objectives: ObjectiveOverrides = Field(default_factory=ObjectiveOverrides)
    host: Host | None = Field(None, description="Main host, for reports.")
    checks: list[Check] = Field(default_factory=list, description="How to tell it works.")
    check_rule: Literal["all", "any"] = Field(
        "all", description="all: up only when every check passes; any: up when one does."
    )
    backups: list[BackupSource] = Field(
        default_factory=list, description="What to back up, where and when."
    )
    drill: Drill | None = Field(None, description="Default for a service with backups: weekly.")
    integrity: list[Text] = Field(
        default_factory=list,
        description="SQL assertions that must return true after a restore drill.",
    )
    procedure: list[Step] = Field(default_factory=list, description="Ordered recovery steps.")

    @model_validator(mode="before")
    @classmethod
    def _drill_by_default(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("backups") and "drill" not in data:
            return {**data, "drill": {}}
        return data

    @property
    def effective_priority(self) -> PriorityName:
        """The plan's priority for this service, else the one its criticality implies."""
        return self.priority or PRIORITY_FROM_CRITICALITY[self.criticality]


class ScenarioParameter(PlanModel):
    """A value asked when a runbook starts (the time of a corruption, a host…)."""

    name: Identifier
    description: Text
    default: str | None = None


class Scenario(PlanModel):
    """A runbook: an ordered list of executable steps for a known situation."""

    id: Identifier
    title: Text
    description: str | None = None
    services: list[Identifier] = Field(default_factory=list, description="Services it is for.")
    parameters: list[ScenarioParameter] = Field(default_factory=list)
    steps: Annotated[list[Step], Field(min_length=1)]


class Plan(PlanModel):
    """A whole continuity plan."""

    version: Literal[1] = Field(1, description="Plan format version.")
    organisation: Organisation = Field(description="Name, language, time zone, hours.")
    objectives: Objectives = Field(description="Default RPO, RTO and uptime target.")
    priorities: Priorities = Field(
        default_factory=Priorities, description="Response time and escalation per priority."
    )
    roles: list[Role] = Field(default_factory=list, description="The recovery team.")
    communication: Communication = Field(
        default_factory=Communication, description="Progress reports and their audiences."
    )
    monitoring: Monitoring = Field(
        default_factory=Monitoring, description="Check concurrency and result retention."
    )
    alerting: Alerting = Field(
        default_factory=Alerting,
        description="Routing, flapping, maintenance, delivery; root_cause_wait (default "
        "30s: how long a root cause's alert waits for the services behind it) and "
        "during_incident (incident or alerts, default incident: whether an open incident "
        "speaks for its services instead of alerts of their own).",
    )
    incidents: Incidents = Field(
        default_factory=Incidents, description="Automatic opening and grouping of incidents."
    )
    repositories: dict[Identifier, Repository] = Field(
        default_factory=dict, description="Where backups go, by name."
    )
    keys: Keys = Field(default_factory=Keys, description="Encryption and signing keys.")
    state: StateSettings = Field(
        default_factory=StateSettings, description="Where Reprise keeps its state."
    )
    scheduler: Scheduler = Field(
        default_factory=Scheduler,
        description="Parallelism, jitter and retries of the scheduled jobs (reprise serve).",
    )
    serve: Serve = Field(
        default_factory=Serve, description="The service's outbound heartbeat (reprise serve)."
    )
    web: Web = Field(
        default_factory=Web,
        description="The web interface: listen address, public address, session timeout.",
    )
    status_page: StatusPage = Field(
        default_factory=StatusPage,
        description="The public status page: services under a public name (none: no page).",
    )
    ha: HighAvailability = Field(
        default_factory=HighAvailability,
        description="Takeover between services sharing a PostgreSQL state (reprise serve).",
    )
    verification: Verification = Field(
        default_factory=Verification,
        description="Scheduled verification of each repository (default daily, 10% a run).",
    )
    pruning: Pruning = Field(
        default_factory=Pruning,
        description="Scheduled pruning of each repository (default daily).",
    )
    sla: Sla = Field(
        default_factory=Sla,
        description="Whether degraded counts as up, and the monthly SLA report (reprise sla).",
    )
    audit: Audit = Field(
        default_factory=Audit, description="Thresholds of reprise audit beyond the objectives."
    )
    services: Annotated[list[Service], Field(min_length=1)] = Field(
        description="The elements of the infrastructure (at least one)."
    )
    scenarios: list[Scenario] = Field(
        default_factory=list, description="Runbooks for known situations."
    )

    def service(self, service_id: str) -> Service:
        """The service with this id (KeyError when absent)."""
        for service in self.services:
            if service.id == service_id:
                return service
        raise KeyError(service_id)

    def rpo(self, service: Service) -> timedelta:
        """The service's RPO: its own, else the plan's."""
        return service.objectives.rpo or self.objectives.rpo

    def rto(self, service: Service) -> timedelta:
        """The service's RTO: its own, else the plan's."""
        return service.objectives.rto or self.objectives.rto

    def uptime(self, service: Service) -> float:
        """The service's uptime target in percent: its own, else the plan's."""
        return service.objectives.uptime or self.objectives.uptime


__all__ = ["Duration", "Host", "Keys", "Plan", "Repository", "Role", "Scenario", "Service"]

"""Health checks of a service: one model per ``kind``, discriminated on that key.

Each check has an interval, a timeout and a number of retries (consecutive failures before
the service's state changes). Thresholds named ``degraded_*`` or ``warn_*`` turn a passing
check into ``degraded`` instead of ``up``; they never make a check pass.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from reprise.plan.common import (
    AbsolutePath,
    Dsn,
    Host,
    Identifier,
    PlanModel,
    Port,
    Regex,
    Text,
    address,
    describe_dsn,
)
from reprise.plan.units import Duration, Percent, Size, format_duration

TlsMode = Literal["starttls", "implicit", "none"]


class CheckBase(PlanModel):
    """What every check has: how often, how long, how many failures before a change."""

    name: Text | None = Field(
        None,
        description="Shown in status tables; defaults to the kind and target (`tcp 10.0.0.1:22`).",
    )
    interval: Duration = Field(timedelta(seconds=60), description="Time between two runs.")
    timeout: Duration = Field(timedelta(seconds=10), description="A run taking longer fails.")
    retries: int = Field(
        2,
        ge=0,
        le=100,
        description="Consecutive failures tolerated before the state changes (flap damping).",
    )

    @model_validator(mode="after")
    def _timeout_fits_interval(self) -> CheckBase:
        if self.timeout > self.interval:
            raise PydanticCustomError(
                "timeout_interval",
                "timeout ({timeout}) is longer than interval ({interval})",
                {
                    "timeout": str(self.timeout),
                    "interval": str(self.interval),
                    "hint": "make the timeout shorter than the interval",
                },
            )
        return self

    def target(self) -> str:
        """What the check looks at, shown when it has no ``name`` (``tcp 10.0.0.1:22``)."""
        return str(getattr(self, "kind", "check"))


class TcpCheck(CheckBase):
    """A TCP connection succeeds (SSH, RDP, WinRM, a VPN in TCP mode…)."""

    kind: Literal["tcp"]
    host: Host
    port: Port
    expect_banner: Regex | None = Field(
        None, description="Regex the first line sent by the server must match (`^SSH-2.0`)."
    )
    degraded_latency: Duration | None = Field(None, description="Slower than this: degraded.")

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"{self.kind} {address(self.host, self.port)}"


class HttpCheck(CheckBase):
    """An HTTP(S) request returns an expected status, body and certificate."""

    kind: Literal["http"]
    url: Annotated[str, Field(pattern=r"^https?://\S+$", examples=["https://zabbix.lan/"])]
    method: Literal["GET", "HEAD", "POST", "PUT", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    expect_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200], description="Accepted status codes."
    )
    body_regex: Regex | None = Field(None, description="Regex the body must match.")
    json_path: str | None = Field(None, description="Dotted path into a JSON body (`status.db`).")
    json_equals: str | int | float | bool | None = Field(
        None, description="Expected value at json_path."
    )
    verify_tls: bool = Field(True, description="Verify the certificate chain and host name.")
    cert_expiry_days: int = Field(
        14,
        ge=0,
        le=3650,
        description="Degraded when the certificate expires within this many days.",
    )
    degraded_latency: Duration | None = None

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"{self.method} {self.url}" if self.method != "GET" else str(self.url)


class IcmpCheck(CheckBase):
    """Ping (unprivileged ICMP echo)."""

    kind: Literal["icmp"]
    host: Host
    count: int = Field(3, ge=1, le=100)
    degraded_packet_loss: Percent | None = Field(
        None, description="More loss than this: degraded (all lost: down)."
    )
    degraded_latency: Duration | None = None

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"ping {self.host}"


class DnsCheck(CheckBase):
    """A DNS lookup answers, optionally with expected values."""

    kind: Literal["dns"]
    lookup: Text = Field(description="The name to resolve.", examples=["mail.example.org"])
    record_type: Literal["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "CAA"] = "A"
    resolver: Host | None = Field(None, description="Resolver to ask; default: the system's.")
    resolver_port: Port = 53
    expect: list[str] = Field(
        default_factory=list, description="Values that must all be in the answer."
    )

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"dns {self.lookup} {self.record_type}"


class SmtpCheck(CheckBase):
    """An SMTP server greets, answers EHLO and offers STARTTLS (or speaks implicit TLS)."""

    kind: Literal["smtp"]
    host: Host
    port: Port = 25
    tls: TlsMode = Field(
        "starttls",
        description="starttls: required on the plain port; "
        "implicit: TLS from the first byte (465).",
    )
    verify_tls: bool = True
    cert_expiry_days: int = Field(14, ge=0, le=3650)
    expect_banner: Regex | None = None

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"{self.kind} {address(self.host, self.port)}"


class ImapCheck(CheckBase):
    """An IMAP server greets and lists its capabilities, over STARTTLS or IMAPS."""

    kind: Literal["imap"]
    host: Host
    port: Port | None = Field(None, description="Default: 993 with implicit TLS, else 143.")
    tls: TlsMode = "implicit"
    verify_tls: bool = True
    cert_expiry_days: int = Field(14, ge=0, le=3650)

    def target(self) -> str:
        """What the check looks at, for display."""
        port = self.port or (993 if self.tls == "implicit" else 143)
        return f"imap {address(self.host, port)}"


class PostgresCheck(CheckBase):
    """A PostgreSQL server accepts a connection and answers a query."""

    kind: Literal["postgres"]
    dsn: Dsn
    query: Text = "select 1"
    expect: str | None = Field(
        None, description="Expected text of the first column of the first row."
    )
    degraded_latency: Duration | None = None

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"postgres {describe_dsn(self.dsn)}"


class DiskCheck(CheckBase):
    """Free space of a path on the host where Reprise runs."""

    kind: Literal["disk"]
    path: AbsolutePath
    min_free_percent: Percent | None = Field(None, description="Below this: down.")
    min_free_bytes: Size | None = Field(None, description="Below this: down.")
    warn_free_percent: Percent | None = Field(None, description="Below this: degraded.")
    warn_free_bytes: Size | None = Field(None, description="Below this: degraded.")

    @model_validator(mode="after")
    def _has_threshold(self) -> DiskCheck:
        if all(
            value is None
            for value in (
                self.min_free_percent,
                self.min_free_bytes,
                self.warn_free_percent,
                self.warn_free_bytes,
            )
        ):
            raise PydanticCustomError(
                "disk_threshold",
                "a disk check needs a threshold",
                {"hint": "add min_free_percent: 10% (or min_free_bytes: 5GiB)"},
            )
        return self

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"disk {self.path}"


class CommandCheck(CheckBase):
    """A command exits with the expected code (and prints what is expected)."""

    kind: Literal["command"]
    command: Text = Field(
        description="Run with /bin/sh -c; the whole process group is killed at the timeout."
    )
    expect_exit: int = Field(0, ge=0, le=255)
    stdout_regex: Regex | None = None
    degraded_exit: list[Annotated[int, Field(ge=0, le=255)]] = Field(
        default_factory=list, description="Exit codes meaning degraded (Nagios: [1])."
    )

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"command {self.command[:40]}"


class BackupAgeCheck(CheckBase):
    """The newest verified backup of a service is younger than its RPO."""

    kind: Literal["backup_age"]
    service: Identifier | None = Field(None, description="Default: the service holding the check.")
    max_age: Duration | None = Field(None, description="Default: the service's RPO.")

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"backup age {self.service}" if self.service else "backup age"


class TlsCheck(CheckBase):
    """The certificate served on host:port is valid and not about to expire."""

    kind: Literal["tls"]
    host: Host
    port: Port = 443
    server_name: str | None = Field(None, description="SNI name; default: host.")
    warn_days: int = Field(21, ge=0, le=3650, description="Degraded when expiring within.")
    critical_days: int = Field(7, ge=0, le=3650, description="Down when expiring within.")
    verify_tls: bool = True

    def target(self) -> str:
        """What the check looks at, for display."""
        return f"{self.kind} {address(self.host, self.port)}"


_TOKEN_CHARACTERS = re.compile(r"^[A-Za-z0-9_-]*$")
TOKEN_LENGTH = (16, 200)
"""Shortest and longest heartbeat token (16 URL-safe characters: 96 bits)."""
_GENERATE = "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"


def _heartbeat_token(value: object) -> object:
    """A URL-safe secret of 16 to 200 characters; the message never repeats the value."""
    if not isinstance(value, str):
        return value  # pydantic says "expected text"
    token = value.strip()
    shortest, longest = TOKEN_LENGTH
    if not _TOKEN_CHARACTERS.match(token):
        problem = "may hold only the characters A-Z a-z 0-9 _ -"
    elif len(token) < shortest:
        problem = f"is too short ({len(token)} characters, at least {shortest})"
    elif len(token) > longest:
        problem = f"is too long ({len(token)} characters, at most {longest})"
    else:
        return token
    raise PydanticCustomError(
        "heartbeat_token",
        f"the heartbeat token {problem}",
        {
            "hint": f"generate one with `{_GENERATE}` and keep it in the .env "
            "(token: ${HEARTBEAT_TOKEN})"
        },
    )


HeartbeatToken = Annotated[str, BeforeValidator(_heartbeat_token)]
"""The secret in a heartbeat's ping address (``/ping/<token>``)."""


class HeartbeatCheck(CheckBase):
    """A job elsewhere (a cron job, a router's nightly export) pings Reprise at
    ``/ping/<token>`` at least every ``period``; no ping within period + grace is down.

    The job may ping ``/start`` when it begins (then it must finish within the grace) and
    ``/fail`` when it fails (down until the next success). The check itself only reads the
    pings Reprise received, so ``retries`` defaults to 0."""

    kind: Literal["heartbeat"]
    period: Duration = Field(
        description="Expected time between two pings (1d for a nightly job).",
        examples=["1d"],
    )
    grace: Duration | None = Field(
        None,
        description="How late a ping may be, and how long a started job may run; default: "
        "a tenth of the period, at least 5m and at most 1h.",
    )
    token: HeartbeatToken = Field(
        repr=False,
        description="Secret of the ping address /ping/TOKEN: 16 to 200 characters among "
        "A-Z a-z 0-9 _ - (`secrets.token_urlsafe(24)`); keep it in the .env (${VAR}).",
        examples=["${ROUTER_HEARTBEAT_TOKEN}"],
    )
    timeout: Duration = Field(timedelta(seconds=5), description="A run taking longer fails.")
    retries: int = Field(
        0,
        ge=0,
        le=100,
        description="Consecutive failures tolerated before the state changes (0: the pings "
        "already say it all).",
    )

    @property
    def allowed_grace(self) -> timedelta:
        """``grace``, else a tenth of the period between 5 minutes and 1 hour."""
        if self.grace is not None:
            return self.grace
        return min(max(self.period / 10, timedelta(minutes=5)), timedelta(hours=1))

    def target(self) -> str:
        """What the check looks at, for display (never the token)."""
        return f"heartbeat every {format_duration(self.period)}"


Check = Annotated[
    TcpCheck
    | HttpCheck
    | IcmpCheck
    | DnsCheck
    | SmtpCheck
    | ImapCheck
    | PostgresCheck
    | DiskCheck
    | CommandCheck
    | BackupAgeCheck
    | TlsCheck
    | HeartbeatCheck,
    Field(discriminator="kind"),
]
"""Any check; ``kind`` selects the model."""

CHECK_KINDS = (
    "tcp",
    "http",
    "icmp",
    "dns",
    "smtp",
    "imap",
    "postgres",
    "disk",
    "command",
    "backup_age",
    "tls",
    "heartbeat",
)

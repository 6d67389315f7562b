"""Every probe against real servers on loopback: healthy, slow, failing, hostile."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from reprise.plan.checks import Check
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext, run_check
from tests.support.peers import (
    dns_server,
    free_port,
    http_server,
    imap_server,
    self_signed,
    server_context,
    smtp_server,
    tcp_listener,
)

CHECK = TypeAdapter(Check)


def probe(spec: dict[str, Any], context: ProbeContext | None = None) -> ProbeResult:
    """Run one check given as plan YAML would give it."""
    check = CHECK.validate_python(spec)

    async def go() -> ProbeResult:
        own = context or ProbeContext(plan=None)  # type: ignore[arg-type]
        try:
            return await run_check(check, "svc", own)
        finally:
            if context is None:
                await own.aclose()

    return asyncio.run(go())


def test_tcp_open_closed_and_unresolvable() -> None:
    with tcp_listener(b"SSH-2.0-OpenSSH_9.2\r\n") as port:
        assert probe({"kind": "tcp", "host": "127.0.0.1", "port": port}).state == "up"
        good = probe(
            {"kind": "tcp", "host": "127.0.0.1", "port": port, "expect_banner": "^SSH-2.0"}
        )
        assert good.state == "up" and "OpenSSH" in good.message
        bad = probe({"kind": "tcp", "host": "127.0.0.1", "port": port, "expect_banner": "^220 "})
        assert bad.state == "down" and "does not match" in bad.message
    closed = probe({"kind": "tcp", "host": "127.0.0.1", "port": free_port()})
    assert closed.state == "down" and "connection refused" in closed.message
    nowhere = probe({"kind": "tcp", "host": "no-such-host.invalid", "port": 22})
    assert nowhere.state == "down" and "does not resolve" in nowhere.message


def test_http_healthy_slow_500_json_and_body() -> None:
    with http_server() as (port, _):
        base = f"http://127.0.0.1:{port}"
        ok = probe({"kind": "http", "url": f"{base}/", "body_regex": "AKIG OK"})
        assert ok.state == "up" and ok.latency is not None and ok.details["status"] == 200
        assert probe({"kind": "http", "url": f"{base}/", "body_regex": "nope"}).state == "down"
        error = probe({"kind": "http", "url": f"{base}/500"})
        assert error.state == "down" and "HTTP 500 (expected 200)" in error.message
        assert probe({"kind": "http", "url": f"{base}/500", "expect_status": [500]}).state == "up"
        slow = probe({"kind": "http", "url": f"{base}/slow/0.5", "degraded_latency": "200ms"})
        assert slow.state == "degraded" and "slow" in slow.message
        started = time.monotonic()
        hung = probe({"kind": "http", "url": f"{base}/slow/5", "timeout": "1s", "interval": "10s"})
        assert hung.state == "down" and time.monotonic() - started < 3
        value = probe(
            {"kind": "http", "url": f"{base}/json", "json_path": "status.db", "json_equals": "ok"}
        )
        assert value.state == "up" and value.details["json_value"] == "ok"
        wrong = probe(
            {
                "kind": "http",
                "url": f"{base}/json",
                "json_path": "status.replicas",
                "json_equals": 3,
            }
        )
        assert wrong.state == "down" and "expected 3" in wrong.message
        missing = probe({"kind": "http", "url": f"{base}/json", "json_path": "status.cache"})
        assert missing.state == "down" and "not in the JSON body" in missing.message


def test_https_with_an_expired_self_signed_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, expired=True)
    with http_server(server_context(cert, key)) as (port, _):
        url = f"https://localhost:{port}/"
        verified = probe({"kind": "http", "url": url})
        assert verified.state == "down" and "certificate" in verified.message
        assert "expired" in verified.message
        unverified = probe({"kind": "http", "url": url, "verify_tls": False})
        assert unverified.state == "down" and "certificate expired on" in unverified.message
        tls = probe({"kind": "tls", "host": "localhost", "port": port})
        assert tls.state == "down" and "expired" in tls.message
        tls = probe({"kind": "tls", "host": "localhost", "port": port, "verify_tls": False})
        assert tls.state == "down" and "certificate expired on" in tls.message


def test_certificate_expiring_soon_is_degraded(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, expired=False)  # valid 10 more days
    with http_server(server_context(cert, key)) as (port, _):
        soon = probe({"kind": "tls", "host": "localhost", "port": port, "verify_tls": False})
        assert soon.state == "degraded" and "expires in" in soon.message
        critical = probe(
            {
                "kind": "tls",
                "host": "localhost",
                "port": port,
                "verify_tls": False,
                "critical_days": 20,
            }
        )
        assert critical.state == "down"
        http = probe(
            {
                "kind": "http",
                "url": f"https://localhost:{port}/",
                "verify_tls": False,
                "cert_expiry_days": 5,
            }
        )
        assert http.state == "up" and http.details["certificate_days_left"] > 9


def test_smtp_banner_ehlo_and_starttls(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, expired=False)
    with smtp_server(server_context(cert, key)) as (port, _):
        ok = probe(
            {
                "kind": "smtp",
                "host": "localhost",
                "port": port,
                "verify_tls": False,
                "cert_expiry_days": 5,
            }
        )
        assert ok.state == "up" and "STARTTLS" in ok.details["extensions"]
        soon = probe({"kind": "smtp", "host": "localhost", "port": port, "verify_tls": False})
        assert soon.state == "degraded" and "certificate expires in" in soon.message
        # Verified by default: a self-signed certificate is refused, as it must be.
        refused = probe({"kind": "smtp", "host": "localhost", "port": port})
        assert refused.state == "down" and "certificate" in refused.message
    with smtp_server() as (port, _):
        plain = probe({"kind": "smtp", "host": "127.0.0.1", "port": port})
        assert plain.state == "down" and "STARTTLS not offered" in plain.message
        assert (
            probe({"kind": "smtp", "host": "127.0.0.1", "port": port, "tls": "none"}).state == "up"
        )


def test_imap_greeting_and_capabilities() -> None:
    with imap_server(starttls=False) as port:
        ok = probe({"kind": "imap", "host": "127.0.0.1", "port": port, "tls": "none"})
        assert ok.state == "up" and "IMAP4REV1" in ok.details["capabilities"]
        no_tls = probe({"kind": "imap", "host": "127.0.0.1", "port": port, "tls": "starttls"})
        assert no_tls.state == "down" and "STARTTLS not offered" in no_tls.message
    with tcp_listener(b"220 not imap\r\n") as port:
        wrong = probe({"kind": "imap", "host": "127.0.0.1", "port": port, "tls": "none"})
        assert wrong.state == "down" and "greeting" in wrong.message


def test_dns_expected_values_missing_names_and_dead_resolver() -> None:
    records = {("mail.akig.test", "A"): ["10.0.0.25"], ("akig.test", "MX"): ["10 mail.akig.test."]}
    with dns_server(records) as port:
        base = {"kind": "dns", "resolver": "127.0.0.1", "resolver_port": port}
        ok = probe({**base, "lookup": "mail.akig.test", "expect": ["10.0.0.25"]})
        assert ok.state == "up" and ok.details["values"] == ["10.0.0.25"]
        mx = probe(
            {**base, "lookup": "akig.test", "record_type": "MX", "expect": ["10 mail.akig.test"]}
        )
        assert mx.state == "up"
        wrong = probe({**base, "lookup": "mail.akig.test", "expect": ["10.0.0.26"]})
        assert wrong.state == "down" and "10.0.0.26 missing" in wrong.message
        missing = probe({**base, "lookup": "nope.akig.test"})
        assert missing.state == "down" and "does not exist" in missing.message
    dead = probe(
        {
            "kind": "dns",
            "lookup": "akig.test",
            "resolver": "127.0.0.1",
            "resolver_port": free_port(),
            "timeout": "1s",
            "interval": "5s",
        }
    )
    assert dead.state == "down"


@pytest.mark.postgres
def test_postgres_query_expected_result_and_stopped_server(postgres: Any) -> None:
    dsn = postgres.dsn()
    ok = probe({"kind": "postgres", "dsn": dsn, "query": "select 40 + 2", "expect": "42"})
    assert ok.state == "up" and "42" in ok.message
    wrong = probe({"kind": "postgres", "dsn": dsn, "query": "select 1", "expect": "2"})
    assert wrong.state == "down" and "expected '2'" in wrong.message
    bad_sql = probe({"kind": "postgres", "dsn": dsn, "query": "select * from nowhere"})
    assert bad_sql.state == "down" and "nowhere" in bad_sql.message
    writes = probe({"kind": "postgres", "dsn": dsn, "query": "create table t (x int)"})
    assert writes.state == "down" and "read-only" in writes.message


def test_disk_thresholds(tmp_path: Path) -> None:
    stats = os.statvfs(tmp_path)
    free_percent = 100 * stats.f_bavail / stats.f_blocks
    assert (
        probe({"kind": "disk", "path": str(tmp_path), "min_free_percent": "0.001%"}).state == "up"
    )
    low = probe(
        {
            "kind": "disk",
            "path": str(tmp_path),
            "min_free_percent": f"{min(99.9, free_percent + 0.5):.1f}%",
        }
    )
    assert low.state == "down" and "free" in low.message
    warn = probe(
        {
            "kind": "disk",
            "path": str(tmp_path),
            "min_free_bytes": "1B",
            "warn_free_percent": f"{min(99.9, free_percent + 0.5):.1f}%",
        }
    )
    assert warn.state == "degraded"
    gone = probe({"kind": "disk", "path": str(tmp_path / "absent"), "min_free_bytes": "1B"})
    assert gone.state == "down" and "No such file" in gone.message


def test_command_exit_codes_output_and_regex() -> None:
    assert probe({"kind": "command", "command": "echo ready"}).state == "up"
    assert (
        probe({"kind": "command", "command": "echo ready", "stdout_regex": "^ready$"}).state == "up"
    )
    assert (
        probe({"kind": "command", "command": "echo busy", "stdout_regex": "^ready$"}).state
        == "down"
    )
    failed = probe({"kind": "command", "command": "echo 'disk full' >&2; exit 2"})
    assert failed.state == "down" and "exit 2" in failed.message and "disk full" in failed.message
    warning = probe({"kind": "command", "command": "exit 1", "degraded_exit": [1]})
    assert warning.state == "degraded"


def test_a_hanging_command_is_killed_with_its_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    started = time.monotonic()
    result = probe(
        {
            "kind": "command",
            "timeout": "1s",
            "interval": "10s",
            "command": f"sh -c 'echo $$ > {marker}; exec sleep 60' & wait",
        }
    )
    assert result.state == "down" and "killed with its process group" in result.message
    assert time.monotonic() - started < 3
    child = int(marker.read_text())
    time.sleep(0.2)
    assert (
        not Path(f"/proc/{child}").exists()
        or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    ), "the grandchild outlived the check"


def test_a_command_flooding_its_output_is_stopped() -> None:
    # The flood limit, not the timeout, stops it (the message says which). The command
    # would print 64 MiB and exit by itself: past 16 MiB it must be stopped, whatever the
    # pace. (`yes` was used here; twice in full CI runs it ended at the timeout instead,
    # which could not be reproduced alone or under a loaded CPU: a finite flood keeps the
    # test about the limit, not about a never-ending writer.)
    flood = "exec head -c 67108864 /dev/zero"
    result = probe({"kind": "command", "command": flood, "timeout": "2m", "interval": "5m"})
    assert result.state == "down" and "output flood" in result.message
    assert len(result.details["output"]) <= 2000


def test_unprivileged_icmp_reports_the_sysctl_when_forbidden() -> None:
    result = probe({"kind": "icmp", "host": "127.0.0.1", "count": 2})
    if result.state == "down":
        assert "ping_group_range" in result.message
    else:
        assert result.state == "up" and result.details["received"] == 2
    unknown = probe({"kind": "icmp", "host": "no-such-host.invalid", "count": 1})
    assert unknown.state == "down" and "does not resolve" in unknown.message

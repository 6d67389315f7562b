"""Probe messages in the plan's language: French for a French plan, the English of old for an
English one, against real listeners on loopback."""

from __future__ import annotations

import asyncio
import errno
import os
import platform
import socket
import ssl
import textwrap
from pathlib import Path

import pytest

from reprise.plan.checks import Check
from reprise.plan.loader import load_plan
from reprise.plan.model import Plan
from reprise.probes.net import ProtocolError, describe
from reprise.probes.reasons import os_reason
from reprise.probes.result import ProbeResult
from reprise.probes.run import ProbeContext, check_line, describe_check, run_check
from reprise.probes.tlsinfo import client_context, describe_ssl_error
from reprise.words import en, fr, probes
from tests.support.peers import free_port, http_server, self_signed, server_context


def make_plan(tmp_path: Path, language: str, checks: str) -> Plan:
    """A one-service plan in ``language`` whose service has ``checks`` (YAML flow list)."""
    path = tmp_path / f"reprise-{language}.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: AKIG, language: {language}, timezone: Europe/Paris}}
        objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
        services:
          - id: router
            name: Routeur
            category: réseau
            criticality: critical
            checks: {checks}
        """)
    )
    return load_plan(path, environ={}).plan


def run_first(plan: Plan) -> tuple[Check, ProbeResult]:
    """Run the first check of the plan's only service under the plan's context."""
    check = plan.services[0].checks[0]

    async def go() -> ProbeResult:
        context = ProbeContext(plan=plan)
        try:
            return await run_check(check, "router", context)
        finally:
            await context.aclose()

    return check, asyncio.run(go())


def test_a_closed_port_is_reported_in_the_plans_language(tmp_path: Path) -> None:
    port = free_port()
    checks = f"[{{kind: tcp, host: 127.0.0.1, port: {port}, retries: 0}}]"
    check, french = run_first(make_plan(tmp_path, "fr", checks))
    assert french.state == "down"
    assert french.message == f"127.0.0.1:{port}\u202f: connexion refusée (rien n'écoute)"
    _, english = run_first(make_plan(tmp_path, "en", checks))
    assert english.state == "down"
    assert english.message == f"127.0.0.1:{port}: connection refused (nothing listening)"
    # The status line still says the target once, in both languages.
    name = describe_check(check)
    assert check_line(name, french.message) == f"{name}\u202f: connexion refusée (rien n'écoute)"
    assert check_line(name, french.message, "fr") == check_line(name, french.message)
    assert check_line(name, english.message) == f"{name}: connection refused (nothing listening)"


def test_a_command_timeout_is_reported_in_the_plans_language(tmp_path: Path) -> None:
    checks = "[{kind: command, command: 'sleep 5', timeout: 1s, interval: 10s}]"
    _, french = run_first(make_plan(tmp_path, "fr", checks))
    assert french.message == (
        "toujours en cours après 1 s\u202f: tuée avec son groupe de processus"
    )
    _, english = run_first(make_plan(tmp_path, "en", checks))
    assert english.message == "still running after 1 s: killed with its process group"


def test_an_expired_certificate_is_reported_in_french(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, expired=True)
    with http_server(server_context(cert, key)) as (port, _):
        checks = f"[{{kind: tls, host: localhost, port: {port}, verify_tls: false}}]"
        _, unverified = run_first(make_plan(tmp_path, "fr", checks))
        assert unverified.state == "down"
        assert unverified.message.startswith("certificat expiré le ")
        checks = f"[{{kind: tls, host: localhost, port: {port}}}]"
        _, verified = run_first(make_plan(tmp_path, "fr", checks))
        assert verified.state == "down" and "certificat TLS refusé" in verified.message
        assert "il a en outre expiré le" in verified.message
        # The English of a refused certificate is OpenSSL's own text, as it always was.
        with (
            socket.create_connection(("localhost", port), timeout=5) as raw,
            pytest.raises(ssl.SSLCertVerificationError) as refused,
        ):
            client_context(True).wrap_socket(raw, server_hostname="localhost").close()
        error = refused.value
        assert describe_ssl_error("en", error) == (
            f"TLS certificate refused: {error.verify_message or error.reason}"
        )


def test_common_system_failures_have_french_words() -> None:
    target = "10.0.0.1:22"
    unresolvable = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert (
        describe("fr", unresolvable, target)
        == f"{target}\u202f: nom d'hôte introuvable (nom ou service inconnu)"
    )
    assert describe("en", unresolvable, target) == (
        f"{target}: host name does not resolve (Name or service not known)"
    )
    no_route = OSError(errno.EHOSTUNREACH, "No route to host")
    assert describe("fr", no_route, target) == (
        f"{target}\u202f: injoignable (aucune route vers l'hôte)"
    )
    assert describe("en", no_route, target) == f"{target}: unreachable (No route to host)"
    timed_out = OSError(errno.ETIMEDOUT, "Connection timed out")
    assert describe("fr", timed_out, target) == f"{target}\u202f: délai dépassé"
    reset = OSError(errno.ECONNRESET, "Connection reset by peer")
    assert describe("fr", reset, target) == f"{target}\u202f: connexion coupée par le serveur"
    # Anything else keeps the system's own words.
    assert describe("fr", OSError(errno.EPIPE, "Broken pipe"), target) == (
        f"{target}\u202f: Broken pipe"
    )
    assert ProtocolError("probe.answered", command="EHLO", reply="554 no").say("fr") == (
        "EHLO a répondu 554 no"
    )


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's texts")
def test_the_english_system_texts_are_the_systems_own() -> None:
    """So that English messages stay what they were before the catalog."""
    for key, text in probes.WORDS["en"].items():
        name = key.removeprefix("probe.os.")
        if name != key and not name.startswith("EAI_"):
            assert os.strerror(getattr(errno, name)) == text, key
    with pytest.raises(socket.gaierror) as unresolvable:
        socket.getaddrinfo("no-such-host.invalid", 22)
    assert os_reason("en", unresolvable.value) == unresolvable.value.strerror


def test_probe_words_are_only_in_their_own_module() -> None:
    """The merged catalog never lets a ``probe.*`` key of fr.py or en.py shadow another."""
    assert [key for key in (*fr.WORDS, *en.WORDS) if key.startswith("probe.")] == []

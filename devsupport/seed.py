"""The seed PCRA's infrastructure (six elements after a power failure) as a plan whose
services are TCP listeners on loopback (or checked as the caller says): shared by the
incident tests and the demo."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ELEMENTS = [  # id, name, category, criticality, priority
    ("windows", "Windows Server Core", "serveur", "minor", "P3"),
    ("mail", "Serveur Iredmail", "messagerie", "major", "P1"),
    ("storage", "Serveur GUI : disques de sauvegarde et stockage", "stockage", "major", "P2"),
    ("zabbix", "Zabbix", "supervision", "major", "P1"),
    ("openvpn", "OpenVPN", "réseau", "major", "P1"),
    ("router", "Routeur VyOS", "réseau", "critical", "P1"),
]
"""Listed in an order unlike the recovery order, so that the order seen is computed."""
SEED = [element[0] for element in ELEMENTS]
NAMES = {element[0]: element[1] for element in ELEMENTS}


def write_seed_plan(
    path: Path,
    ports: dict[str, int],
    contact: str,
    *,
    every: str = "4h",
    checks: dict[str, str] | None = None,
) -> Path:
    """Write the plan: every element checked over TCP every second (or by ``checks``: a
    service's ``checks:`` value as YAML, in flow style), all behind the router, a procedure
    of two steps each, two roles reached at ``contact``. ``ports`` need only name the
    services checked over TCP."""
    services = []
    for service_id, name, category, criticality, priority in ELEMENTS:
        depends = "" if service_id == "router" else "depends_on: [router]"
        own = (checks or {}).get(service_id)
        if own is None:
            port = ports[service_id]
            service_checks = f"""[{{kind: tcp, host: 127.0.0.1, port: {port}, interval: 1s,
              timeout: 500ms, retries: 1}}]"""
        else:  # continuation lines indented under the key
            service_checks = textwrap.indent(own.strip(), " " * 6).lstrip()
        services.append(f"""\
  - id: {service_id}
    name: "{name}"
    category: {category}
    criticality: {criticality}
    priority: {priority}
    owner: reprise
    {depends}
    checks: {service_checks}
    procedure:
      - {{kind: manual, text: "Redémarrer {name} et vérifier sa configuration"}}
      - {{kind: wait_check, service: {service_id}, timeout: 30m}}
""")
    path.write_text(
        textwrap.dedent(f"""\
        version: 1
        organisation: {{name: Infrastructure, language: fr, timezone: Europe/Paris}}
        objectives: {{rpo: 24h, rto: 4h, uptime: 99.5%}}
        roles:
          - id: reprise
            title: Responsable des actions de reprise
            permission: admin
            responsibilities: [Pilote la reprise et le suivi des services réseau]
            members: [{{name: Mohamed, contacts: ["{contact}"]}}]
          - id: communication
            title: Supervision et communication
            responsibilities: [Communique avec la direction et les parties prenantes]
            members: [{{name: Mina, contacts: ["{contact}"]}}]
        communication: {{progress_report_every: {every}, audiences: [communication]}}
        alerting: {{delivery: {{attempts: 1, timeout: 5s}}}}
        services:
        """)
        + "".join(services)
    )
    return path


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll ``condition`` until it is true; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise TimeoutError(f"not within {timeout:g} s: {what}")

"""The monitoring part of the demo: services on loopback (a router's SSH port, a web site,
an IMAP server, a Zabbix that is stopped), `reprise status`, `reprise check`, then
`reprise monitor` until the alert e-mail arrives at a local SMTP server, shown as
received, then `reprise alert list` and `reprise alert ack`.

    python scripts/demo_monitor.py DEMO_DIR
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devsupport.peers import (
    body_of,
    free_port,
    http_server,
    imap_server,
    smtp_server,
    subject_of,
    tcp_listener,
)

BOLD, PLAIN = ("\033[1m", "\033[0m") if sys.stdout.isatty() else ("", "")


def reprise(plan: Path, *args: str) -> int:
    """Run and show a reprise command; return its exit code."""
    print(f"\n{BOLD}$ reprise --plan {plan.parent.name} {' '.join(args)}{PLAIN}", flush=True)
    return subprocess.run(["reprise", "--plan", str(plan), *args], check=False).returncode


def main() -> None:
    """Run the monitoring demo in DEMO_DIR."""
    demo = Path(sys.argv[1])
    with ExitStack() as stack:
        ssh = stack.enter_context(tcp_listener(b"SSH-2.0-VyOS\r\n"))
        web, _ = stack.enter_context(http_server())
        imap = stack.enter_context(imap_server(starttls=False))
        smtp, mailbox = stack.enter_context(smtp_server())
        zabbix = free_port()  # nothing listens: Zabbix is down
        plan = demo / "monitoring" / "reprise.yaml"
        plan.parent.mkdir(parents=True, exist_ok=True)
        plan.write_text(
            textwrap.dedent(f"""\
            version: 1
            organisation: {{name: AKIG, language: fr, timezone: Europe/Paris}}
            objectives: {{rpo: 1h, rto: 30m, uptime: 99.9%}}
            roles:
              - id: astreinte
                title: Responsable des actions de reprise
                permission: admin
                members:
                  - name: Astreinte
                    contacts: ["mailto://127.0.0.1:{smtp}?from=reprise@akig.test&to=astreinte@akig.test"]
            services:
              - id: router
                name: Routeur VyOS
                category: réseau
                criticality: critical
                owner: astreinte
                checks: [{{kind: tcp, host: 127.0.0.1, port: {ssh}, expect_banner: "^SSH-2.0",
                           interval: 2s, timeout: 1s, retries: 1}}]
              - id: site
                name: Site AKIG
                category: application
                criticality: major
                owner: astreinte
                depends_on: [router]
                checks: [{{kind: http, url: "http://127.0.0.1:{web}/", body_regex: AKIG,
                           interval: 2s, timeout: 1s, retries: 1}}]
              - id: mail
                name: Serveur Iredmail
                category: messagerie
                criticality: major
                priority: P1
                owner: astreinte
                checks: [{{kind: imap, host: 127.0.0.1, port: {imap}, tls: none,
                           interval: 2s, timeout: 1s, retries: 1}}]
              - id: zabbix
                name: Zabbix
                category: supervision
                criticality: major
                owner: astreinte
                depends_on: [router]
                checks: [{{kind: http, url: "http://127.0.0.1:{zabbix}/zabbix/",
                           interval: 2s, timeout: 1s, retries: 1}}]
                procedure:
                  - {{kind: manual, text: "Redémarrer zabbix-server, lire ses logs"}}
            """)
        )
        print(
            f"Loopback services: router SSH :{ssh}, site :{web}, IMAP :{imap}, Zabbix "
            f":{zabbix} (stopped); alerts go to an SMTP server on :{smtp}."
        )
        status = reprise(plan, "status")
        print(f"(exit code {status}: 1 means a service is not up)")
        reprise(plan, "check", "zabbix")
        print(
            f"\n{BOLD}$ reprise --plan monitoring monitor{PLAIN}   (in the background, until "
            "the alert arrives)",
            flush=True,
        )
        monitor = subprocess.Popen(["reprise", "--plan", str(plan), "monitor"], env={**os.environ})
        try:
            (message,) = mailbox.wait_for(1, timeout=60)
            print(f"\n{BOLD}E-mail received by the SMTP server:{PLAIN}")
            print(f"Subject: {subject_of(message)}\n{body_of(message)}", flush=True)
            reprise(plan, "alert", "list")
            reprise(plan, "alert", "ack", "zabbix", "--by", "demo")
        finally:
            monitor.send_signal(signal.SIGTERM)
            monitor.wait(timeout=30)
        if monitor.returncode != 0:
            raise SystemExit(f"the monitor exited with {monitor.returncode}")


if __name__ == "__main__":
    main()

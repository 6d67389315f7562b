"""A real web server for tests: `create_app` served by uvicorn on a free loopback port in
a thread, over a plan written to a temporary folder with members who sign in (one per
permission) and a fresh SQLite state. Stopped at the end of the test."""

from __future__ import annotations

import asyncio
import re
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from reprise.plan.loader import LoadedPlan, load_plan
from reprise.store import open_state
from reprise.store.database import Store
from reprise.usecases.accounts import PasswordRequest, TokenRequest, new_token, set_password
from reprise.web.run import start_web
from reprise.web.site import Site

PASSWORD = "correct horse battery staple"
"""Every test member's password."""
LOGINS = {"admin": "alice", "responder": "bob", "viewer": "carol"}
"""One member per permission."""

PLAN = """\
version: 1
organisation: {{name: Exemple SA, language: {language}, timezone: Europe/Paris}}
objectives: {{rpo: 1h, rto: 30m, uptime: 99.5%}}
roles:
  - id: admins
    title: Administration
    permission: admin
    members:
      - {{name: Alice Admin, login: alice, contacts: ["json://127.0.0.1:9/alice"]}}
  - id: responders
    title: Astreinte
    permission: responder
    members:
      - {{name: Bob Astreinte, login: bob, contacts: ["json://127.0.0.1:9/bob"]}}
  - id: viewers
    title: Direction
    permission: viewer
    members:
      - {{name: Carol Direction, login: carol, contacts: ["json://127.0.0.1:9/carol"]}}
state: {{url: "sqlite:///{state}"}}
web:
  base_url: http://127.0.0.1:{port}
services:
  - id: mail
    name: Messagerie
    category: messagerie
    criticality: critical
    owner: responders
    host: mx1.interne.example
    checks:
      - {{kind: tcp, name: smtp, host: 127.0.0.1, port: {dead_port}, interval: 1m}}
    procedure:
      - {{kind: manual, text: "Redémarrer postfix", role: responders}}
      - {{kind: manual, text: "Vérifier la file d'attente"}}
  - id: vpn
    name: OpenVPN
    category: réseau
    criticality: major
    owner: responders
    checks:
      - {{kind: heartbeat, name: export, period: 1d, grace: 1h, token: {token}}}
status_page:
  title: État des services
  services:
    - {{service: mail, name: Courrier électronique}}
    - {{service: vpn, name: Accès distant}}
{extra}"""

HEARTBEAT_TOKEN = "hb-test-token-0123456789abcdef"


def free_port() -> int:
    """A TCP port free on loopback now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class WebWorld:
    """A running web: its base URL, plan, store and site; API tokens per permission."""

    url: str
    loaded: LoadedPlan
    store: Store
    site: Site
    folder: Path
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client on the web (no redirects followed unless asked), closed with the
        world."""
        made = httpx.Client(base_url=self.url, timeout=30.0, **kwargs)
        self.clients.append(made)
        return made

    def api(self, permission: str) -> httpx.Client:
        """A client sending the API token of ``permission``."""
        return self.client(headers={"Authorization": f"Bearer {self.tokens[permission]}"})

    def signed_in(self, permission: str) -> tuple[httpx.Client, str]:
        """A client signed in as the member of ``permission``, and its CSRF token."""
        client = self.client()
        form = client.get("/login").text
        csrf = csrf_of(form)
        answer = client.post(
            "/login",
            data={"login": LOGINS[permission], "password": PASSWORD, "csrf": csrf, "next": "/"},
        )
        assert answer.status_code == 303, answer.text
        return client, csrf_of(client.get("/").text)


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, "no CSRF field in the page"
    return found.group(1)


def _adjusted(text: str, *, status_page: bool, services: str) -> str:
    """The plan text with more services before ``status_page:``, and without the
    ``status_page:`` block when asked."""
    head, marker, tail = text.partition("status_page:\n")
    if services:
        head += textwrap.indent(textwrap.dedent(services).strip("\n") + "\n", "  ")
    if status_page:
        return head + marker + tail
    lines = tail.splitlines(keepends=True)
    while lines and lines[0].startswith(" "):
        lines.pop(0)
    return head + "".join(lines)


@contextmanager
def web_world(
    tmp_path: Path,
    *,
    language: str = "fr",
    extra: str = "",
    status_page: bool = True,
    services: str = "",
) -> Iterator[WebWorld]:
    """Write the plan, open its state, set the passwords and tokens, serve the web.
    ``status_page=False`` leaves the public page out of the plan; ``services`` (YAML list
    items) adds services after mail and vpn."""
    port = free_port()
    folder = tmp_path / "web"
    folder.mkdir()
    plan_path = folder / "reprise.yaml"
    text = PLAN.format(
        language=language,
        state=folder / "state.db",
        port=port,
        dead_port=free_port(),
        token=HEARTBEAT_TOKEN,
        extra=textwrap.dedent(extra),
    )
    plan_path.write_text(_adjusted(text, status_page=status_page, services=services))
    loaded = load_plan(plan_path)
    with open_state(loaded) as store:
        now = datetime.now(UTC)
        for login in LOGINS.values():
            set_password(loaded.plan, store, PasswordRequest(login, PASSWORD, "test"), lambda: now)
        tokens = {
            permission: new_token(store, TokenRequest(f"t-{permission}", permission, "test"))[0]
            for permission in LOGINS
        }
        running = start_web(loaded.plan, store, f"127.0.0.1:{port}")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=loop.run_until_complete, args=(running.serve(),), daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 30
        while not running.server.started:
            assert time.monotonic() < deadline, "the web did not start"
            assert thread.is_alive(), "the web stopped at start-up"
            time.sleep(0.02)
        world = WebWorld(f"http://127.0.0.1:{port}", loaded, store, running.site, folder, tokens)
        try:
            yield world
        finally:
            for client in world.clients:
                client.close()
            running.server.should_exit = True
            thread.join(timeout=30)
            loop.close()


@pytest.fixture(autouse=True)
def fresh_sign_in_counts() -> Iterator[None]:
    """Sign-in attempts are counted per process (per address, and per unknown login): each
    test starts and ends with none counted. Import it into a module to use it."""
    from reprise.accounts.passwords import forget_unknown_logins
    from reprise.web.routes.account import THROTTLE

    THROTTLE.seen.clear()
    forget_unknown_logins()
    yield
    THROTTLE.seen.clear()
    forget_unknown_logins()

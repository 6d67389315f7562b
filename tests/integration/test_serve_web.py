"""The web inside `reprise serve`: served on the address asked for, a backup asked for
through the API is run by the service's scheduler as a manual run, a taken address given on
the command line stops the service while a taken address of the plan only loses the web,
and SIGTERM stops the web with the rest."""

from __future__ import annotations

import json
import signal
import socket
import subprocess

import httpx

from devsupport.seed import wait_until
from tests.support.backups import World
from tests.support.web import PASSWORD, free_port

DAILY = """\
- kind: command
  command: "echo data"
  repository: local
  schedule: "0 3 * * *"
  retention: {keep_last: 3}
"""

ROLES = """\
roles:
  - id: admins
    title: Administration
    permission: admin
    members:
      - {name: Alice Admin, login: alice}
"""


def prepared(world: World, web: str = "") -> str:
    world.write_plan(DAILY)
    text = world.plan.read_text().replace("services:\n", ROLES + web + "services:\n", 1)
    world.plan.write_text(text)
    assert world.reprise("repo", "init").returncode == 0
    done = subprocess.run(
        [*_program(world), "user", "passwd", "alice", "--password-stdin"],
        input=PASSWORD,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    made = world.reprise("token", "create", "--role", "admin", "--name", "ci", "--json")
    assert made.returncode == 0, made.stderr
    token: str = json.loads(made.stdout)["token"]
    return token


def _program(world: World) -> list[str]:
    import sys

    return [sys.executable, "-m", "reprise", "--plan", str(world.plan)]


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_a_backup_asked_for_through_the_api_runs_in_the_service(world: World) -> None:
    token = prepared(world)
    port = free_port()
    service = world.spawn("serve", "--listen", f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/api/v1/me", headers=headers).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, 60, "the web to answer")
        asked = httpx.post(f"{url}/api/v1/backups", headers=headers, json={"service": "app"})
        assert asked.status_code == 202, asked.text
        body = asked.json()
        assert body["service_running"] is True
        assert [r["job"] for r in body["requested"]] == ["backup:app-command"]

        def ran() -> list[dict[str, object]]:
            listed = httpx.get(f"{url}/api/v1/jobs", headers=headers).json()
            last = next(j["last"] for j in listed["jobs"] if j["job"] == "backup:app-command")
            return [last] if last and last["status"] == "ok" else []

        wait_until(ran, 90, "the requested backup to run")
        (run,) = ran()
        assert run["trigger"] == "manual"
        assert httpx.get(f"{url}/api/v1/jobs", headers=headers).json()["requested"] == []
        assert len(httpx.get(f"{url}/api/v1/backups", headers=headers).json()) == 1
        events = world.reprise("events", "list", "--json")
        kinds = {e["kind"] for e in json.loads(events.stdout)}
        assert "job.requested" in kinds
    finally:
        code, _out, err = stop(service)
    assert code == 0, err
    with socket.socket() as probe:  # the web stopped with the service: the port is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))


def test_a_taken_address_stops_the_service_only_when_given_on_the_command_line(
    world: World,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        prepared(world, f"web: {{listen: '127.0.0.1:{port}'}}\n")
        refused = world.reprise("serve", "--listen", f"127.0.0.1:{port}", timeout=60)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert f"the web cannot listen on 127.0.0.1:{port}" in refused.stderr
        assert "--listen" in refused.stderr
        service = world.spawn("serve")  # the plan's address: logged, the monitor still runs
        try:
            wait_until(lambda: world.reprise("serve", "status").returncode == 0, 60, "the service")
        finally:
            code, _out, err = stop(service)
        assert code == 0
        assert "the web is not served" in err

"""The JSON API, /metrics, heartbeat pings and the public status page, over HTTP on a real
server: every endpoint answers its permission and refuses the others (401 anonymous, 403
weaker, 403 a session change without its CSRF header), bad input is a named 400/422 and
never a 500, tokens revoked or expired are refused, nothing secret or internal leaks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from reprise.alerts.records import open_alert
from reprise.audit.items import Audit, Item, part
from reprise.audit.records import store_audit
from reprise.heartbeat.records import last_pings
from reprise.store.events import list_events
from reprise.usecases.accounts import RevokeRequest, TokenRequest, new_token, revoke
from reprise.usecases.alerts import SilenceRequest, add_silence
from reprise.usecases.incident_page import incident_page
from reprise.usecases.incidents import OpenRequest, open_incident
from tests.support.web import HEARTBEAT_TOKEN, PASSWORD, WebWorld, web_world

EXTRA = """\
repositories:
  main: {kind: local, path: /nonexistent/reprise-test-repository}
keys: {recipients: [age1mjrg3s7uh5dzkqgm4q7trrzpptyh095vvmqua2gf3nclfg7y2sjsg22xyn]}
"""
SERVICES = """\
- id: db
  name: Base clients
  category: base de données
  criticality: major
  owner: admins
  checks:
    - {kind: http, url: "https://probe:S3cretProbe@web.example/health?token=QueryT0ken",
       interval: 1m}
  backups:
    - {kind: postgres, dsn: "postgresql://backup:DumpPassw0rd@127.0.0.1/db", repository: main,
       schedule: "@hourly", retention: {keep_daily: 7}}
  drill: {schedule: "0 3 * * sun"}
"""
SECRETS = ("S3cretProbe", "QueryT0ken", "DumpPassw0rd", HEARTBEAT_TOKEN, PASSWORD)
"""What the plan and the harness hold that no answer may show."""


@dataclass
class Api:
    """The running web, its clients, and an admin session with its CSRF token."""

    world: WebWorld
    anonymous: httpx.Client
    session: httpx.Client
    csrf: str


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with web_world(tmp_path_factory.mktemp("api"), extra=EXTRA, services=SERVICES) as world:
        session, csrf = world.signed_in("admin")
        yield Api(world, world.client(), session, csrf)


def made(world: WebWorld) -> dict[str, Any]:
    """Fresh things for one endpoint to act on: an open incident on mail and its first
    task, an open alert, a silence, a token, a stored audit."""
    plan, store = world.loaded.plan, world.store
    now = datetime.now(UTC)
    incident = open_incident(plan, store, OpenRequest("Panne courrier", "alice", ("mail",)))
    view = incident_page(plan, store, incident.id, "fr", now)
    alert = open_alert(
        store,
        service="mail",
        kind="down",
        priority="P1",
        opened_at=now,
        message="smtp refused",
        roles=["responders"],
    )
    silence = add_silence(plan, store, SilenceRequest("vpn", "1h", "travaux", "alice"))
    _token, record = new_token(store, TokenRequest("spare", "viewer", "alice"))
    return {
        "incident": incident.id,
        "task": view.tasks[0].id,
        "alert": alert.id,
        "silence": silence.silence.id,
        "token": record.id,
        "audit": store_audit(store, sample_audit(now), "# Audit\n"),
    }


def sample_audit(now: datetime) -> Audit:
    """A small finished audit, as `reprise audit` stores one."""
    item = Item(
        "verification",
        None,
        part("audit.item.verification"),
        part("audit.objective.verification", budget={"percent": 10.0}, limit={"duration": 900.0}),
        "ok",
        part("audit.measured.verification", count=3, size={"size": 1536}, took={"duration": 2.5}),
        {},
        None,
        2.5,
    )
    return Audit(now, now, ["mail"], True, "fr", "alice", [item], "compliant")


# (method, path, JSON body, permission needed, status on success)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, str, int]] = [
    ("GET", "/me", None, "viewer", 200),
    ("GET", "/services", None, "viewer", 200),
    ("GET", "/services/mail", None, "viewer", 200),
    ("GET", "/incidents", None, "viewer", 200),
    ("GET", "/incidents?all=true", None, "viewer", 200),
    ("GET", "/incidents/{incident}", None, "viewer", 200),
    ("POST", "/incidents", {"title": "Panne API", "services": ["mail"]}, "responder", 201),
    ("POST", "/incidents/{incident}/tasks/{task}", {"status": "doing"}, "responder", 200),
    ("POST", "/incidents/{incident}/notes", {"text": "On regarde"}, "responder", 201),
    ("POST", "/incidents/{incident}/state", {"service": "mail", "state": "up"}, "responder", 200),
    ("POST", "/incidents/{incident}/close", {"force": True}, "responder", 200),
    ("GET", "/alerts", None, "viewer", 200),
    ("POST", "/alerts/{alert}/ack", None, "responder", 200),
    ("GET", "/silences", None, "viewer", 200),
    (
        "POST",
        "/silences",
        {"service": "mail", "duration": "2h", "reason": "migration"},
        "responder",
        201,
    ),
    ("DELETE", "/silences/{silence}", None, "responder", 200),
    ("GET", "/backups", None, "viewer", 200),
    ("POST", "/backups", {"service": "db"}, "admin", 202),
    ("GET", "/drills", None, "viewer", 200),
    ("POST", "/drills", {"service": "db"}, "admin", 202),
    ("POST", "/verifications", {"repository": "main"}, "admin", 202),
    ("GET", "/jobs", None, "viewer", 200),
    ("GET", "/sla", None, "viewer", 200),
    ("GET", "/audits", None, "viewer", 200),
    ("GET", "/audits/{audit}", None, "viewer", 200),
    ("GET", "/users", None, "admin", 200),
    ("GET", "/tokens", None, "admin", 200),
    ("POST", "/tokens", {"name": "grafana", "permission": "viewer"}, "admin", 201),
    ("DELETE", "/tokens/{token}", None, "admin", 200),
]
WEAKER = {"responder": "viewer", "admin": "responder"}


@pytest.mark.parametrize(
    ("method", "path", "body", "permission", "status"),
    ENDPOINTS,
    ids=[f"{m} {p}" for m, p, *_rest in ENDPOINTS],
)
def test_each_endpoint_answers_its_permission_only(
    api: Api, method: str, path: str, body: dict[str, Any] | None, permission: str, status: int
) -> None:
    world = api.world
    url = "/api/v1" + path.format(**made(world))
    anonymous = api.anonymous.request(method, url, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "sign in" in anonymous.json()["error"]
    if permission in WEAKER:
        weaker = world.api(WEAKER[permission]).request(method, url, json=body)
        assert weaker.status_code == 403, weaker.text
        assert permission in weaker.json()["error"]
    changes = method != "GET"
    if changes:
        forged = api.session.request(method, url, json=body)
        assert forged.status_code == 403, forged.text
        assert "CSRF" in forged.json()["error"]
    answer = world.api(permission).request(method, url, json=body)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    answer.json()
    if changes:  # the same change from the pages' scripts, on fresh things
        url = "/api/v1" + path.format(**made(world))
        scripted = api.session.request(method, url, json=body, headers={"X-CSRF-Token": api.csrf})
        assert scripted.status_code == status, scripted.text


def test_the_answers_hold_what_they_say(api: Api) -> None:
    world = api.world
    ids = made(world)
    viewer, responder, admin = (world.api(p) for p in ("viewer", "responder", "admin"))
    me = viewer.get("/api/v1/me").json()
    assert (me["name"], me["permission"], me["via"]) == ("token:t-viewer", "viewer", "token")
    assert api.session.get("/api/v1/me").json()["name"] == "alice"
    overview = viewer.get("/api/v1/services")
    names = [card["name"] for card in overview.json()["services"]]
    assert {"Messagerie", "OpenVPN", "Base clients"} <= set(names)
    for secret in SECRETS:
        assert secret not in overview.text
    assert "S3cretProbe" not in viewer.get("/api/v1/services/db").text
    opened = responder.post("/api/v1/incidents", json={"title": "Relais", "services": ["vpn"]})
    shown = viewer.get(f"/api/v1/incidents/{opened.json()['id']}").json()
    assert shown["title"] == "Relais" and shown["elements"][0]["service"] == "vpn"
    acked = responder.post(f"/api/v1/alerts/{ids['alert']}/ack").json()
    assert acked == {"acknowledged": [ids["alert"]]}
    created = admin.post("/api/v1/tokens", json={"name": "ci", "permission": "responder"})
    token = created.json()["token"]
    assert token.startswith("rpr_")
    listed = admin.get("/api/v1/tokens").text
    assert token not in listed and '"ci"' in listed
    assert (
        httpx.get(world.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()[
            "permission"
        ]
        == "responder"
    )
    requested = admin.post("/api/v1/backups", json={"job": "backup:db-postgres"}).json()
    jobs = viewer.get("/api/v1/jobs").json()
    assert requested["requested"][0]["job"] in [r["job"] for r in jobs["requested"]]
    assert {"backup:db-postgres", "drill:db", "verify:main"} <= {j["job"] for j in jobs["jobs"]}
    audits = viewer.get("/api/v1/audits").json()
    assert ids["audit"] in [a["id"] for a in audits]
    assert viewer.get(f"/api/v1/audits/{ids['audit']}").json()["result"] == "compliant"


BAD_INPUT: list[tuple[str, str, dict[str, Any] | None, str]] = [
    ("POST", "/incidents", {"title": "x", "services": ["nope"]}, "unknown service 'nope'"),
    ("POST", "/silences", {"service": "mail", "duration": "soon", "reason": "r"}, "'soon'"),
    ("POST", "/silences", {"service": "nope", "duration": "2h", "reason": "r"}, "'nope'"),
    ("POST", "/backups", {"job": "backup:nope"}, "no scheduled job 'backup:nope'"),
    ("POST", "/verifications", {"repository": "elsewhere"}, "no verify job"),
    ("POST", "/tokens", {"name": "x", "permission": "viewer", "expires": "bad"}, "'bad'"),
    ("POST", "/tokens", {"name": "x", "permission": "root"}, "permission"),
    ("POST", "/incidents/{incident}/tasks/{task}", {"status": "finished"}, "status"),
    ("POST", "/incidents/{incident}/tasks/999999", {"status": "done"}, "no task 999999"),
    ("POST", "/incidents/{incident}/state", {"service": "vpn", "state": "up"}, "'vpn'"),
    ("POST", "/incidents/{incident}/close", {}, "mail not back up"),
    ("POST", "/incidents", {"services": ["mail"]}, "title"),
    ("POST", "/alerts/999999/ack", None, "999999"),
    ("DELETE", "/silences/999999", None, "999999"),
    ("DELETE", "/tokens/999999", None, "999999"),
    ("GET", "/services/nope", None, "unknown service 'nope'"),
    ("GET", "/incidents/999999", None, "no incident 999999"),
    ("GET", "/incidents/abc", None, "incident_id"),
    ("GET", "/audits/999999", None, "no audit 999999"),
    ("GET", "/sla?period=someday", None, "'someday'"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "named"), BAD_INPUT, ids=[f"{m} {p}" for m, p, *_ in BAD_INPUT]
)
def test_bad_input_is_named_and_never_a_crash(
    api: Api, method: str, path: str, body: dict[str, Any] | None, named: str
) -> None:
    url = "/api/v1" + path.format(**made(api.world))
    answer = api.world.api("admin").request(method, url, json=body)
    assert answer.status_code in (400, 422), answer.text
    found = answer.json()
    assert named in found["error"] + " ".join(found.get("problems", [])), found
    if answer.status_code == 400:
        assert found["hint"]


def test_a_body_that_is_not_json_is_refused_by_name(api: Api) -> None:
    answer = api.world.api("responder").post(
        "/api/v1/incidents", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid request"


def test_the_openapi_document_lists_every_path(api: Api) -> None:
    document = api.anonymous.get("/api/v1/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    for _method, path, *_rest in ENDPOINTS:
        template = path.split("?")[0].replace("/services/mail", "/services/{service_id}")
        for name, value in (("incident", "incident_id"), ("task", "task_id")):
            template = template.replace("{" + name + "}", "{" + value + "}")
        for name in ("alert", "silence", "token", "audit"):
            template = template.replace("{" + name + "}", "{" + name + "_id}")
        assert "/api/v1" + template in paths, template
    assert "/api/v1/status" in paths and "/metrics" in paths
    assert not any(p.startswith(("/login", "/admin")) for p in paths)


def test_a_revoked_or_expired_token_is_refused(api: Api) -> None:
    world, store = api.world, api.world.store
    token, record = new_token(store, TokenRequest("short-lived", "viewer", "alice"))
    headers = {"Authorization": f"Bearer {token}"}
    assert api.anonymous.get("/api/v1/me", headers=headers).status_code == 200
    revoke(store, RevokeRequest(record.id, "alice"))
    assert api.anonymous.get("/api/v1/me", headers=headers).status_code == 401
    past = datetime.now(UTC) - timedelta(days=3)
    expired, _record = new_token(
        store, TokenRequest("old", "admin", "alice", expires="1d"), lambda: past
    )
    answer = api.anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert answer.status_code == 401
    forged = api.anonymous.get("/api/v1/me", headers={"Authorization": "Bearer rpr_forged"})
    assert forged.status_code == 401
    assert world.api("viewer").get("/api/v1/me").status_code == 200


# -- /metrics ---------------------------------------------------------------------------------


def test_metrics_need_a_viewer_and_show_no_secret(api: Api) -> None:
    assert api.anonymous.get("/metrics").status_code == 401
    answer = api.world.api("viewer").get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert {"reprise_service_state", "reprise_rto_objective_seconds"} <= set(families)
    unknown = {
        s.labels["service"]
        for s in families["reprise_service_state"].samples
        if s.labels["state"] == "unknown" and s.value == 1.0
    }
    assert unknown == {"mail", "vpn", "db"}  # no check ran yet
    rto = {s.labels["service"]: s.value for s in families["reprise_rto_objective_seconds"].samples}
    assert rto["mail"] == 1800.0  # the plan's 30m
    for secret in (*SECRETS, *api.world.tokens.values()):
        assert secret not in answer.text


# -- heartbeat pings --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/start", "/fail"])
def test_a_ping_is_recorded_and_its_token_not_journaled(api: Api, suffix: str) -> None:
    world, client = api.world, api.anonymous
    kind = suffix.strip("/") or "success"
    before = getattr(last_pings(world.store, "vpn", "export"), kind)
    got = client.get(f"/ping/{HEARTBEAT_TOKEN}{suffix}")
    assert (got.status_code, got.text) == (200, "OK\n")
    after_get = getattr(last_pings(world.store, "vpn", "export"), kind)
    assert after_get is not None and (before is None or after_get > before)
    posted = client.post(f"/ping/{HEARTBEAT_TOKEN}{suffix}", content=b"backup done: 3 files\n")
    assert (posted.status_code, posted.text) == (200, "OK\n")
    assert getattr(last_pings(world.store, "vpn", "export"), kind) >= after_get
    assert client.head(f"/ping/{HEARTBEAT_TOKEN}{suffix}").status_code == 200
    unknown = client.post(f"/ping/not-a-token{suffix}", content=b"x")
    assert unknown.status_code == 404
    assert client.get(f"/ping/not-a-token{suffix}").status_code == 404
    events = list_events(world.store, kind="heartbeat.ping", limit=5)
    assert events[0].subject == "vpn" and events[0].payload["kind"] == kind
    for event in events:
        assert HEARTBEAT_TOKEN not in str(event.to_dict())


# -- the public status page -------------------------------------------------------------------

HIDDEN = ("mx1.interne.example", "Alice Admin", "Bob Astreinte", "Carol Direction")


def test_the_status_page_is_public_and_shows_nothing_internal(tmp_path: Path) -> None:
    with web_world(tmp_path) as world:
        responder = world.api("responder")
        opened = responder.post(
            "/api/v1/incidents", json={"title": "Relais SMTP en vrac", "services": ["mail"]}
        ).json()
        notes = f"/api/v1/incidents/{opened['id']}/notes"
        responder.post(notes, json={"text": "Note interne : redémarrer postfix sur mx1"})
        responder.post(notes, json={"text": "Le courrier arrive en retard.", "public": True})
        anonymous = world.client()
        page = anonymous.get("/status")
        answer = anonymous.get("/api/v1/status")
        assert page.status_code == answer.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for shown in (page.text, answer.text):
            assert "Courrier électronique" in shown and "Accès distant" in shown
            assert "Le courrier arrive en retard." in shown
            for hidden in (*HIDDEN, "Note interne", "Relais SMTP en vrac", HEARTBEAT_TOKEN):
                assert hidden not in shown


def test_without_a_status_page_in_the_plan_both_are_not_found(tmp_path: Path) -> None:
    with web_world(tmp_path, status_page=False) as world:
        anonymous = world.client()
        assert anonymous.get("/status").status_code == 404
        answer = anonymous.get("/api/v1/status")
        assert answer.status_code == 404
        assert "status page" in answer.json()["error"]

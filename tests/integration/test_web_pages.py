"""The pages over HTTP on a real server: sign-in (wrong password, lockout, throttle, no
open redirect), who may press which button, runs asked for taken by the scheduler, the idle
timeout, security headers and cookie flags, hostile text escaped, the acknowledgement link
of an alert mail, and an incident worked through to its closing from the pages."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from reprise.accounts.passwords import accounts
from reprise.alerts.links import ack_url, read_ack_token
from reprise.alerts.messages import Writer
from reprise.alerts.records import Alert, get_alert, open_alert
from reprise.orchestrators.scheduler import JobScheduler
from reprise.scheduler.requests import waiting_requests
from reprise.store.events import list_events
from reprise.usecases.accounts import TokenRequest, new_token
from reprise.usecases.alerts import SilenceRequest, add_silence
from reprise.usecases.incidents import OpenRequest, open_incident
from tests.support.web import (
    PASSWORD,
    WebWorld,
    csrf_of,
    fresh_sign_in_counts,  # noqa: F401  # autouse
    web_world,
)

EXTRA = """\
repositories:
  main: {kind: local, path: /nonexistent/reprise-test-repository}
keys: {recipients: [age1mjrg3s7uh5dzkqgm4q7trrzpptyh095vvmqua2gf3nclfg7y2sjsg22xyn]}
"""
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
    with web_world(tmp_path_factory.mktemp("pages"), extra=EXTRA) as running:
        yield running


def sign_in(client: httpx.Client, login: str, password: str, next: str = "/") -> httpx.Response:
    """One sign-in attempt from the form (its CSRF token read from the page)."""
    csrf = csrf_of(client.get("/login").text)
    return client.post(
        "/login", data={"login": login, "password": password, "csrf": csrf, "next": next}
    )


def alert_on_mail(world: WebWorld, message: str = "smtp refused on port 25") -> Alert:
    return open_alert(
        world.store,
        service="mail",
        kind="down",
        priority="P1",
        opened_at=datetime.now(UTC),
        message=message,
        roles=["responders"],
    )


# -- signing in -------------------------------------------------------------------------------


def test_a_wrong_password_is_refused_in_french(world: WebWorld) -> None:
    answer = sign_in(world.client(), "bob", "not the password at all")
    assert answer.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in answer.text
    unknown = sign_in(world.client(), "mallory", "not the password at all")
    assert unknown.status_code == 401
    assert "Identifiant ou mot de passe incorrect." in unknown.text
    event = list_events(world.store, kind="web.sign_in_failed", limit=1)[0]
    assert event.subject == "mallory" and event.payload["known"] is False


def test_five_wrong_passwords_lock_the_login_even_against_the_right_one(tmp_path: Path) -> None:
    with web_world(tmp_path) as world:
        client = world.client()
        for _attempt in range(4):
            assert sign_in(client, "carol", "wrong password here").status_code == 401
        locked = sign_in(client, "carol", "wrong password here")
        assert locked.status_code == 429
        assert "réessayez après" in locked.text
        right = sign_in(client, "carol", PASSWORD)
        assert right.status_code == 429 and "réessayez après" in right.text
        until = accounts(world.store)["carol"].locked_until
        assert until is not None and until > datetime.now(UTC)
        assert client.get("/").status_code == 303  # still not signed in
        other = sign_in(world.client(), "bob", PASSWORD)  # another login is not locked
        assert other.status_code == 303


def test_the_eleventh_attempt_from_one_address_in_a_minute_is_throttled(tmp_path: Path) -> None:
    with web_world(tmp_path) as world:
        client = world.client()
        for attempt in range(10):  # ten different names: no login reaches its lockout
            assert sign_in(client, f"nobody{attempt}", "wrong password here").status_code == 401
        throttled = sign_in(client, "bob", PASSWORD)
        assert throttled.status_code == 429
        assert "Trop de tentatives depuis cette adresse" in throttled.text
        assert accounts(world.store)["bob"].locked_until is None  # the login is not blamed


@pytest.mark.parametrize(
    "target", ["//evil.example", "https://evil.example/", "/\\evil.example", "evil.example"]
)
def test_signing_in_never_sends_to_another_site(world: WebWorld, target: str) -> None:
    answer = sign_in(world.client(), "carol", PASSWORD, next=target)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"


def test_signing_in_goes_back_to_the_page_asked_for(world: WebWorld) -> None:
    client = world.client()
    first = client.get("/incidents")
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Fincidents"
    answer = sign_in(client, "carol", PASSWORD, next="/incidents")
    assert answer.headers["location"] == "/incidents"
    assert client.get("/incidents").status_code == 200


# -- who may press which button ---------------------------------------------------------------


def post_routes(world: WebWorld) -> list[tuple[str, dict[str, Any]]]:
    """Every POST of the pages, on things that exist, with the fields each needs."""
    plan, store = world.loaded.plan, world.store
    incident = open_incident(plan, store, OpenRequest("Panne", "alice", ("mail",)))
    alert = alert_on_mail(world)
    silence = add_silence(plan, store, SilenceRequest("vpn", "1h", "travaux", "alice"))
    _token, record = new_token(store, TokenRequest("spare", "viewer", "alice"))
    link = ack_url(plan, store, alert.id)
    assert link is not None
    base = f"/incidents/{incident.id}"
    return [
        (f"/alerts/{alert.id}/ack", {}),
        (link.removeprefix(world.url), {}),
        ("/silences", {"service": "mail", "duration": "1h", "reason": "travaux"}),
        (f"/silences/{silence.silence.id}/end", {}),
        ("/jobs", {"job": "verify:main"}),
        ("/incidents", {"title": "Autre panne"}),
        (f"{base}/tasks/1", {"status": "doing"}),
        (f"{base}/notes", {"text": "note"}),
        (f"{base}/state", {"service": "mail", "state": "up"}),
        (f"{base}/close", {"force": "true"}),
        ("/admin/users/bob/password", {"password": "another long passphrase"}),
        ("/admin/users/bob/remove", {}),
        ("/admin/tokens", {"name": "grafana", "permission": "viewer"}),
        (f"/admin/tokens/{record.id}/revoke", {}),
    ]


ADMIN_ONLY = ("/jobs", "/admin/")


def test_a_viewer_presses_no_button_even_with_a_valid_csrf_token(world: WebWorld) -> None:
    viewer, csrf = world.signed_in("viewer")
    routes = post_routes(world)
    since = datetime.now(UTC)
    for path, fields in routes:
        answer = viewer.post(path, data={**fields, "csrf": csrf})
        assert answer.status_code == 403, (path, answer.text)
    assert viewer.get("/admin").status_code == 403
    assert list_events(world.store, since=since) == []  # nothing changed
    assert "bob" in accounts(world.store)


def test_a_responder_presses_no_admin_button(world: WebWorld) -> None:
    responder, csrf = world.signed_in("responder")
    assert responder.get("/admin").status_code == 403
    refused = [(p, f) for p, f in post_routes(world) if p.startswith(ADMIN_ONLY)]
    assert len(refused) == 5
    for path, fields in refused:
        answer = responder.post(path, data={**fields, "csrf": csrf})
        assert answer.status_code == 403, (path, answer.text)
    assert "bob" in accounts(world.store)


def test_an_admins_run_is_taken_by_the_scheduler_as_a_manual_run(world: WebWorld) -> None:
    admin, csrf = world.signed_in("admin")
    answer = admin.post("/jobs", data={"job": "verify:main", "csrf": csrf, "next": "/backups"})
    assert answer.status_code == 303 and answer.headers["location"] == "/backups"
    waiting = [r for r in waiting_requests(world.store) if r.job == "verify:main"]
    assert [r.requested_by for r in waiting] == ["alice"]
    assert "verify:main" in admin.get("/backups").text
    plan, store = world.loaded.plan, world.store
    scheduler = JobScheduler(plan, world.loaded.path, store, lambda: datetime.now(UTC))
    asyncio.run(scheduler._take_requests(datetime.now(UTC)))
    assert scheduler.pending["verify:main"].trigger == "manual"
    assert not [r for r in waiting_requests(store) if r.job == "verify:main"]
    unknown = admin.post("/jobs", data={"job": "verify:elsewhere", "csrf": csrf})
    assert unknown.status_code == 400 and "verify:main" in unknown.text


# -- sessions and headers ---------------------------------------------------------------------


def test_an_idle_session_signs_out(world: WebWorld) -> None:
    plan = world.site.plan
    short = plan.web.model_copy(update={"session_idle": timedelta(seconds=2)})
    world.site.plan = plan.model_copy(update={"web": short})
    try:
        viewer, _csrf = world.signed_in("viewer")
        assert viewer.get("/").status_code == 200
        time.sleep(2.5)
        answer = viewer.get("/alerts")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/login?next=%2Falerts"
        assert "Session expirée après inactivité" in viewer.get("/login").text
    finally:
        world.site.plan = plan


def test_pages_carry_the_security_headers_and_a_guarded_cookie(world: WebWorld) -> None:
    client = world.client()
    answer = sign_in(client, "carol", PASSWORD)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    for path in ("/login", "/", "/incidents", "/alerts"):
        page = client.get(path)
        headers = page.headers
        policy = dict(
            part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
        )
        assert "'unsafe-inline'" not in policy["script-src"]
        assert policy["frame-ancestors"] == "'none'"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "same-origin"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"


def test_hostile_text_is_shown_escaped(world: WebWorld) -> None:
    responder, csrf = world.signed_in("responder")
    opened = responder.post("/incidents", data={"title": HOSTILE, "csrf": csrf})
    assert opened.status_code == 303
    base = opened.headers["location"]
    noted = responder.post(f"{base}/notes", data={"text": HOSTILE, "csrf": csrf})
    assert noted.status_code == 303
    for path in (base, "/incidents", f"{base}/live"):
        html = responder.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html, path
        assert ESCAPED in html, path
    assert world.api("viewer").get(f"/api/v1{base}").json()["title"] == HOSTILE


# -- the acknowledgement link of an alert mail ------------------------------------------------


def test_the_link_of_an_alert_mail_acknowledges_after_sign_in(world: WebWorld) -> None:
    plan, store = world.loaded.plan, world.store
    alert = alert_on_mail(world, "smtp refused from the web test")
    link = ack_url(plan, store, alert.id)
    assert link is not None and link.startswith(world.url + "/ack/")
    path = link.removeprefix(world.url)
    service = next(s for s in plan.services if s.id == "mail")
    writer = Writer(plan, ack_link=lambda i: ack_url(plan, store, i))
    _subject, body = writer.problem(service, "down", alert.opened_at, ["smtp"], [], alert.id)
    assert "Acquitter en un clic" in body
    mailed = next(line for line in body.splitlines() if "Acquitter en un clic" in line)
    _label, _colon, url = mailed.rpartition(" ")
    assert url.startswith(world.url + "/ack/")
    assert read_ack_token(plan, store, url.rsplit("/", 1)[1]) == alert.id
    client = world.client()
    first = client.get(path)
    assert first.status_code == 303
    target = first.headers["location"]
    assert target.startswith("/login?next=")
    login_page = client.get(target)
    assert f'value="{path}"' in login_page.text
    signed = sign_in(client, "bob", PASSWORD, next=path)
    assert signed.status_code == 303 and signed.headers["location"] == path
    page = client.get(path)
    assert page.status_code == 200
    assert "smtp refused from the web test" in page.text
    assert f'action="{path}"' in page.text and "Acquitter" in page.text
    unopened = get_alert(store, alert.id)
    assert unopened is not None and unopened.acked_at is None  # a GET changes nothing
    done = client.post(path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/alerts"
    acked = get_alert(store, alert.id)
    assert acked is not None and acked.acked_by == "bob" and acked.acked_at is not None
    event = list_events(store, kind="alert.acked", limit=1)[0]
    assert event.payload == {"alert": alert.id, "by": "bob"}
    again = client.post(path, data={"csrf": csrf_of(page.text)})
    assert again.status_code == 303  # already acknowledged: said so, nothing breaks


def test_a_tampered_link_is_refused_and_a_viewer_may_not_acknowledge(world: WebWorld) -> None:
    plan, store = world.loaded.plan, world.store
    alert = alert_on_mail(world)
    link = ack_url(plan, store, alert.id)
    assert link is not None
    path = link.removeprefix(world.url)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    responder, csrf = world.signed_in("responder")
    page = responder.get(tampered)
    assert page.status_code == 400
    assert "est invalide ou a expiré" in page.text
    assert responder.post(tampered, data={"csrf": csrf}).status_code == 400
    viewer, csrf = world.signed_in("viewer")
    assert viewer.get(path).status_code == 403
    assert viewer.post(path, data={"csrf": csrf}).status_code == 403
    assert get_alert(store, alert.id).acked_at is None  # type: ignore[union-attr]


# -- an incident worked through from the pages ------------------------------------------------


def test_an_incident_is_worked_through_and_closed_from_the_pages(world: WebWorld) -> None:
    api = world.api("responder")
    opened = api.post("/api/v1/incidents", json={"title": "Messagerie HS", "services": ["mail"]})
    assert opened.status_code == 201
    number = opened.json()["id"]
    base = f"/incidents/{number}"
    tasks = api.get(f"/api/v1{base}").json()["tasks"]
    assert len(tasks) == 2 and {t["status"] for t in tasks} == {"todo"}
    responder, csrf = world.signed_in("responder")
    page = responder.get(base).text
    for task in tasks:
        action = f'action="{base}/tasks/{task["id"]}"'
        assert action in page
        for status in ("doing", "done"):
            moved = responder.post(
                f"{base}/tasks/{task['id']}", data={"status": status, "csrf": csrf}
            )
            assert moved.status_code == 303, moved.text
    shown = api.get(f"/api/v1{base}").json()
    assert {t["status"] for t in shown["tasks"]} == {"done"}
    refused = responder.post(f"{base}/close", data={"note": "fini", "csrf": csrf})
    assert refused.status_code == 400 and "mail" in refused.text  # mail is still down
    state = responder.post(f"{base}/state", data={"service": "mail", "state": "up", "csrf": csrf})
    assert state.status_code == 303
    closed = responder.post(f"{base}/close", data={"note": "Relais réparé", "csrf": csrf})
    assert closed.status_code == 303, closed.text
    final = api.get(f"/api/v1{base}").json()
    assert final["status"] == "closed" and final["closed_at"] is not None
    assert "Relais réparé" in str(final["timeline"])

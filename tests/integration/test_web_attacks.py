"""Attacks on a real web server (red team of the web): forged, replayed and outlived
session cookies, permission escalation with API tokens, cross-site requests, open
redirects and header injection, hostile text in every field a page shows, path traversal,
forged and expired acknowledgement links, unknown heartbeat tokens, odd methods, huge
bodies and headers, and odd login names. Each test asserts the defended behaviour; the
ones marked xfail are weaknesses found and reported, not yet fixed."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from reprise.accounts.passwords import accounts
from reprise.alerts.links import SALT, ack_url
from reprise.alerts.records import Alert, get_alert, open_alert
from reprise.store.tables import events, heartbeat_pings, web_users
from reprise.usecases.accounts import (
    PasswordRequest,
    RemoveRequest,
    remove_user_password,
    set_password,
)
from reprise.usecases.incidents import OpenRequest, open_incident
from reprise.web.sessions import COOKIE, Session, SessionCodec
from tests.support.web import (
    HEARTBEAT_TOKEN,
    PASSWORD,
    WebWorld,
    csrf_of,
    fresh_sign_in_counts,  # noqa: F401  # autouse
    web_world,
)

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
"""Breaks out of an attribute and of text alike, if anything is not escaped."""
RAW = ("<script>alert(1)", "<img src=x")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebWorld]:
    with web_world(tmp_path_factory.mktemp("attacks")) as running:
        yield running


@pytest.fixture
def restore_plan(world: WebWorld) -> Iterator[None]:
    """Tests that replace the site's plan (or clock) get the original back."""
    plan, clock = world.site.plan, world.site.clock
    yield
    world.site.plan, world.site.clock = plan, clock


def sign_in(client: httpx.Client, login: str, password: str = PASSWORD, **more: str) -> Any:
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"login": login, "password": password, "csrf": csrf, **more})


def signed_in(world: WebWorld, login: str) -> tuple[httpx.Client, str]:
    client = world.client()
    assert sign_in(client, login).status_code == 303
    return client, csrf_of(client.get("/").text)


def is_signed_in(client: httpx.Client) -> bool:
    answer = client.get("/alerts")
    assert answer.status_code in (200, 303), answer.status_code
    return answer.status_code == 200


def replay(world: WebWorld, cookie: str) -> httpx.Client:
    """A new client that only carries a copied session cookie (another browser)."""
    return world.client(cookies={COOKIE: cookie})


def count(world: WebWorld, table: Any) -> int:
    with world.store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def raw_request(world: WebWorld, head: bytes) -> bytes:
    """Send bytes as they are (no client normalises the path) and read the answer (empty
    when the server closed the connection first)."""
    address = urlsplit(world.url)
    answer = b""
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0


def alert_on_mail(world: WebWorld) -> Alert:
    return open_alert(
        world.store,
        service="mail",
        kind="down",
        priority="P1",
        opened_at=datetime.now(UTC),
        message="smtp refused",
        roles=["responders"],
    )


def stays_on_site(world: WebWorld, location: str) -> bool:
    """Whether a browser following ``location`` stays on this site (browsers drop tabs
    and newlines from URLs, trim spaces and read a backslash as a slash)."""
    cleaned = "".join(c for c in location if c not in "\t\r\n").strip(" \x00").replace("\\", "/")
    return urlsplit(urljoin(world.url + "/", cleaned)).netloc == urlsplit(world.url).netloc


# -- session cookies --------------------------------------------------------------------------


def forged_cookies(world: WebWorld) -> list[str]:
    data = Session(login="alice", signed_in_at=0, seen_at=0).to_data()
    now = datetime.now(UTC).timestamp()
    data.update({"i": now, "s": now, "p": accounts(world.store)["alice"].updated_at.timestamp()})
    other_key = URLSafeTimedSerializer("not the site's key", salt="reprise.session")
    ack_key = URLSafeTimedSerializer(world.site.secret("session"), salt=SALT)
    genuine = SessionCodec(world.site.secret("session")).dump(Session(login=None))
    payload, _dot, rest = genuine.partition(".")
    tampered = (
        other_key.dumps(data).partition(".")[0] + "." + rest  # alice's payload, another's seal
    )
    return [
        other_key.dumps(data),
        ack_key.dumps(data),  # the right key with another purpose's salt
        tampered,
        json.dumps(data),
        "",
        "x" * 4000,
        payload,
    ]


def test_a_forged_session_cookie_signs_no_one_in(world: WebWorld) -> None:
    for cookie in forged_cookies(world):
        client = replay(world, cookie)
        assert not is_signed_in(client), cookie[:40]
        assert client.get("/api/v1/me").status_code == 401


def test_a_copied_cookie_dies_when_the_password_changes(world: WebWorld) -> None:
    bob, _csrf = signed_in(world, "bob")
    cookie = bob.cookies[COOKIE]
    assert is_signed_in(replay(world, cookie))
    set_password(world.site.plan, world.store, PasswordRequest("bob", PASSWORD, "cli"))
    assert not is_signed_in(replay(world, cookie))
    assert not is_signed_in(bob)
    assert replay(world, cookie).get("/api/v1/me").status_code == 401


def test_a_copied_cookie_dies_when_the_user_is_removed_and_stays_dead(world: WebWorld) -> None:
    carol, _csrf = signed_in(world, "carol")
    cookie = carol.cookies[COOKIE]
    remove_user_password(world.store, RemoveRequest("carol", "cli"))
    try:
        assert not is_signed_in(replay(world, cookie))
        assert sign_in(world.client(), "carol").status_code == 401
    finally:
        set_password(world.site.plan, world.store, PasswordRequest("carol", PASSWORD, "cli"))
    assert not is_signed_in(replay(world, cookie))  # a new password is not the old session


def _without(plan: Any, login: str) -> Any:
    roles = [
        role.model_copy(update={"members": [m for m in role.members if m.login != login]})
        for role in plan.roles
    ]
    return plan.model_copy(update={"roles": roles})


def _demoted(plan: Any, role_id: str, permission: str) -> Any:
    roles = [
        role.model_copy(update={"permission": permission}) if role.id == role_id else role
        for role in plan.roles
    ]
    return plan.model_copy(update={"roles": roles})


def test_a_member_removed_from_the_plan_is_signed_out_at_once(
    world: WebWorld, restore_plan: None
) -> None:
    bob, csrf = signed_in(world, "bob")
    world.site.plan = _without(world.site.plan, "bob")
    assert not is_signed_in(bob)
    refused = bob.post("/incidents", data={"title": "still here?", "csrf": csrf})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert sign_in(world.client(), "bob").status_code == 401  # the password alone is nothing
    assert not any(i.title == "still here?" for i in _incidents(world))


def test_a_member_whose_role_loses_a_permission_loses_it_at_once(
    world: WebWorld, restore_plan: None
) -> None:
    alice, csrf = signed_in(world, "alice")
    assert alice.get("/admin").status_code == 200
    world.site.plan = _demoted(world.site.plan, "admins", "viewer")
    assert alice.get("/admin").status_code == 403
    answer = alice.post(
        "/admin/tokens", data={"name": "sneaky", "permission": "admin", "csrf": csrf}
    )
    assert answer.status_code == 403
    assert "sneaky" not in world.api("admin").get("/api/v1/tokens").text


def test_a_cookie_copied_before_signing_out_no_longer_works(world: WebWorld) -> None:
    bob, csrf = signed_in(world, "bob")
    stolen = bob.cookies[COOKIE]
    assert bob.post("/logout", data={"csrf": csrf}).status_code == 303
    assert not is_signed_in(bob)
    assert not is_signed_in(replay(world, stolen))


def test_a_session_ends_twelve_hours_after_sign_in_however_active(
    world: WebWorld, restore_plan: None
) -> None:
    start = datetime.now(UTC)
    world.site.clock = lambda: start
    carol, _csrf = signed_in(world, "carol")
    for step in range(1, 40):  # a request every 20 minutes for 13 hours
        moment = start + timedelta(minutes=20 * step)
        world.site.clock = lambda moment=moment: moment  # type: ignore[misc]
        if not is_signed_in(carol):
            break
    assert moment - start > timedelta(hours=12)
    assert not is_signed_in(carol)


# -- API tokens on the pages ------------------------------------------------------------------


def test_a_token_acts_only_within_its_permission_on_the_pages_too(world: WebWorld) -> None:
    viewer, responder = world.api("viewer"), world.api("responder")
    before = accounts(world.store)["carol"].updated_at
    for client in (viewer, responder):
        assert client.get("/admin").status_code == 403
        assert client.post("/jobs", data={"job": "anything"}).status_code == 403
        assert (
            client.post("/admin/tokens", data={"name": "x", "permission": "admin"}).status_code
            == 403
        )
        answer = client.post("/admin/users/carol/password", data={"password": "pwned by a token"})
        assert answer.status_code == 403
        assert client.post("/admin/tokens/1/revoke").status_code == 403
        assert (
            client.post("/api/v1/tokens", json={"name": "x", "permission": "admin"}).status_code
            == 403
        )
    assert viewer.post("/incidents", data={"title": "from a viewer token"}).status_code == 403
    assert (
        viewer.post(
            "/silences", data={"service": "mail", "duration": "1h", "reason": "x"}
        ).status_code
        == 403
    )
    assert accounts(world.store)["carol"].updated_at == before
    assert not any(i.title == "from a viewer token" for i in _incidents(world))


def test_a_wrong_bearer_token_never_falls_back_to_the_cookie(world: WebWorld) -> None:
    alice, _csrf = signed_in(world, "alice")
    for header in ("Bearer rpr_wrong", "Bearer x", "bearer " + "rpr_" + "x" * 300):
        assert alice.get("/api/v1/me", headers={"Authorization": header}).status_code == 401
        answer = alice.get("/admin", headers={"Authorization": header})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_token_given_an_unknown_permission_is_refused(world: WebWorld) -> None:
    alice, csrf = signed_in(world, "alice")
    answer = alice.post(
        "/admin/tokens", data={"name": "root-token", "permission": "root", "csrf": csrf}
    )
    assert answer.status_code == 400
    assert "root-token" not in world.api("admin").get("/api/v1/tokens").text


# -- cross-site requests ----------------------------------------------------------------------


def _incidents(world: WebWorld) -> list[Any]:
    from reprise.usecases.incidents import IncidentListRequest, list_incidents

    return list_incidents(world.store, IncidentListRequest(all=True))


def test_a_cross_site_form_without_the_right_token_changes_nothing(world: WebWorld) -> None:
    bob, csrf = signed_in(world, "bob")
    alice, alice_csrf = signed_in(world, "alice")
    old, _ = signed_in(world, "carol")
    old_csrf = csrf_of(old.get("/").text)
    old.post("/logout", data={"csrf": old_csrf})
    evil = {"Origin": "https://evil.example", "Referer": "https://evil.example/page"}
    for given in (None, "", alice_csrf, old_csrf, csrf[:-1], csrf + "x"):
        data = (
            {"title": f"csrf {given!r}"}
            if given is None
            else {"title": f"csrf {given!r}", "csrf": given}
        )
        assert bob.post("/incidents", data=data, headers=evil).status_code == 403
        assert bob.post("/logout", data={"csrf": given or ""}, headers=evil).status_code == 403
        answer = alice.post(
            "/admin/users/bob/password",
            data={
                "password": "chosen by the attacker",
                "csrf": csrf,
            },  # bob's token, alice's cookie
            headers=evil,
        )
        assert answer.status_code == 403
    assert not any(i.title.startswith("csrf ") for i in _incidents(world))
    assert is_signed_in(bob)
    assert alice.post("/logout", data={"csrf": alice_csrf}).status_code == 303


def test_the_api_with_a_cookie_needs_the_csrf_header_of_that_session(world: WebWorld) -> None:
    bob, csrf = signed_in(world, "bob")
    _alice, alice_csrf = signed_in(world, "alice")
    body = json.dumps({"title": "api csrf"})
    for headers in (
        {"content-type": "application/json"},
        {"content-type": "text/plain"},  # what a cross-site form or fetch may send unasked
        {"content-type": "application/json", "x-csrf-token": alice_csrf},
        {"content-type": "application/json", "x-csrf-token": ""},
    ):
        answer = bob.post("/api/v1/incidents", content=body, headers=headers)
        assert answer.status_code in (403, 422), (headers, answer.status_code)
    assert not any(i.title == "api csrf" for i in _incidents(world))
    ok = bob.post(
        "/api/v1/incidents",
        content=body,
        headers={"content-type": "application/json", "x-csrf-token": csrf},
    )
    assert ok.status_code == 201


def test_signing_in_needs_the_token_of_the_browser_that_asked(world: WebWorld) -> None:
    attacker = world.client()
    attacker_csrf = csrf_of(attacker.get("/login").text)
    victim = world.client()  # login CSRF: the attacker's form, posted by the victim's browser
    for given in ("", attacker_csrf):
        answer = victim.post("/login", data={"login": "carol", "password": PASSWORD, "csrf": given})
        assert answer.status_code == 403
        assert not is_signed_in(victim)
    bare = httpx.post(
        world.url + "/login", data={"login": "carol", "password": PASSWORD, "csrf": attacker_csrf}
    )
    assert bare.status_code == 403
    assert not is_signed_in(world.client(cookies=dict(bare.cookies)))


# -- redirects and headers --------------------------------------------------------------------

REDIRECTS = [
    "/%2F%2Fevil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "https:/evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "//evil.example%2F",
    "/.//evil.example",
    "\x00//evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", REDIRECTS)
def test_no_next_leads_off_the_site(world: WebWorld, target: str) -> None:
    client = world.client()
    answer = sign_in(client, "carol", next=target)
    assert answer.status_code == 303
    assert stays_on_site(world, answer.headers["location"]), answer.headers["location"]
    again = client.get("/login", params={"next": target})  # signed in: sent on at once
    assert again.status_code == 303 and stays_on_site(world, again.headers["location"])
    csrf = csrf_of(client.get("/").text)
    switched = client.post("/language", data={"language": "en", "csrf": csrf, "next": target})
    assert switched.status_code == 303 and stays_on_site(world, switched.headers["location"])


def test_no_header_is_injected_through_next_or_a_file_name(world: WebWorld) -> None:
    carol, csrf = signed_in(world, "carol")
    injected = "/\r\nSet-Cookie: pwned=1\r\nX-Injected: 1"
    answers = [
        carol.get("/login", params={"next": injected}),
        carol.post("/language", data={"language": "fr", "csrf": csrf, "next": injected}),
        carol.get("/sla/report.md", params={"period": "2026-11\r\nX-Injected: 1"}),
        carol.get("/incidents/1/report.md%0D%0AX-Injected:%201"),
        carol.get("/incidents/1/report.html", params={"kind": "final\r\nX-Injected: 1"}),
    ]
    for answer in answers:
        assert "x-injected" not in answer.headers
        assert "pwned" not in answer.headers.get("set-cookie", "")
        assert "\n" not in answer.headers.get("location", "")
        disposition = answer.headers.get("content-disposition")
        if disposition is not None:
            assert disposition.startswith('attachment; filename="') and "\r" not in disposition


# -- hostile text -----------------------------------------------------------------------------


def _clean(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, where
    assert 'href="javascript:' not in html.lower(), where


def test_every_typed_field_is_shown_escaped(world: WebWorld) -> None:
    bob, csrf = signed_in(world, "bob")
    alice, alice_csrf = signed_in(world, "alice")
    opened = bob.post(
        "/incidents", data={"title": HOSTILE, "cause": HOSTILE, "services": "mail", "csrf": csrf}
    )
    assert opened.status_code == 303
    base = opened.headers["location"]
    number = int(base.rsplit("/", 1)[1])
    tasks = world.api("viewer").get(f"/api/v1/incidents/{number}").json()["tasks"]
    skipped = bob.post(
        f"{base}/tasks/{tasks[0]['id']}", data={"status": "skipped", "note": HOSTILE, "csrf": csrf}
    )
    assert skipped.status_code == 303
    public = bob.post(f"{base}/notes", data={"text": HOSTILE, "public": "true", "csrf": csrf})
    assert public.status_code == 303
    silenced = bob.post(
        "/silences", data={"service": "mail", "duration": "1h", "reason": HOSTILE, "csrf": csrf}
    )
    assert silenced.status_code == 303
    token = alice.post(
        "/admin/tokens", data={"name": HOSTILE, "permission": "viewer", "csrf": alice_csrf}
    )
    assert token.status_code == 200
    _clean(token.text, "/admin after creating")
    for path in (base, f"{base}/live", "/incidents", "/alerts", "/", "/services/mail", "/status"):
        page = bob.get(path)
        assert page.status_code == 200, path
        _clean(page.text, path)
    assert "&lt;script&gt;alert(1)" in bob.get(base).text
    _clean(alice.get("/admin").text, "/admin")
    for fmt in ("html", "md"):
        report = bob.get(f"{base}/report.{fmt}")
        assert report.status_code == 200
        assert report.headers["content-disposition"].startswith("attachment")
        if fmt == "html":
            _clean(report.text, f"report.{fmt}")


def test_hostile_text_in_urls_and_queries_is_escaped(world: WebWorld) -> None:
    carol, _csrf = signed_in(world, "carol")
    bob, csrf = signed_in(world, "bob")
    for path, params in (
        ("/sla", {"period": HOSTILE}),
        ("/services/" + HOSTILE.replace("/", "%2F"), {}),
        ("/incidents/" + HOSTILE.replace("/", "%2F"), {}),
        ("/ack/" + HOSTILE.replace("/", "%2F"), {}),
        ("/login", {"next": "/" + HOSTILE}),
    ):
        for client in (carol, world.client()):
            page = client.get(path, params=params)
            assert page.status_code < 500, path
            _clean(page.text, path)
    refused = world.client()
    answer = sign_in(refused, HOSTILE, "wrong", next="/" + HOSTILE)  # the form shows both back
    assert answer.status_code == 401
    _clean(answer.text, "refused sign-in")
    number = open_incident(
        world.site.plan, world.store, OpenRequest("state", "bob", ("mail",), None)
    ).id
    state = bob.post(
        f"/incidents/{number}/state", data={"service": HOSTILE, "state": "down", "csrf": csrf}
    )
    assert state.status_code < 500
    _clean(state.text, "state override")
    api = world.api("viewer").get("/api/v1/services/" + HOSTILE.replace("/", "%2F"))
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")


def test_hostile_names_in_the_plan_are_escaped(world: WebWorld, restore_plan: None) -> None:
    plan = world.site.plan
    links = "[a](javascript:alert(3)) ![b](javascript:alert(4)) <javascript:alert(5)>"
    services = [
        s.model_copy(
            update={
                "name": HOSTILE + links,
                "checks": [c.model_copy(update={"name": HOSTILE}) for c in s.checks],
                "procedure": [
                    step.model_copy(update={"text": HOSTILE + links}) for step in s.procedure
                ],
            }
        )
        for s in plan.services
    ]
    roles = [
        r.model_copy(
            update={
                "title": HOSTILE,
                "members": [m.model_copy(update={"name": HOSTILE}) for m in r.members],
            }
        )
        for r in plan.roles
    ]
    status = plan.status_page.model_copy(
        update={
            "title": HOSTILE,
            "services": [s.model_copy(update={"name": HOSTILE}) for s in plan.status_page.services],
        }
    )
    organisation = plan.organisation.model_copy(update={"name": HOSTILE})
    world.site.plan = plan.model_copy(
        update={
            "services": services,
            "roles": roles,
            "status_page": status,
            "organisation": organisation,
        }
    )
    bob, csrf = signed_in(world, "bob")
    opened = bob.post("/incidents", data={"title": "plan", "services": "mail", "csrf": csrf})
    assert opened.status_code == 303
    base = opened.headers["location"]
    paths = ["/", "/services/mail", "/incidents", "/alerts", "/backups", "/drills", "/sla"]
    paths += ["/audits", base, f"{base}/live", f"{base}/report.html"]
    for path in [*paths, "/status", "/login"]:
        page = (bob if path not in ("/status", "/login") else world.client()).get(path)
        assert page.status_code == 200, path
        _clean(page.text, path)
        assert 'src="javascript:' not in page.text.lower(), path


# -- files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/static/../app.py",
        "/static/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e%2fapp.py",
        "/static/..%5capp.py",
        "/static/....//app.py",
        "/static/%252e%252e/app.py",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/../../../../../../etc/passwd",
        "/static/..%00/app.py",
    ],
)
def test_static_files_never_leave_their_folder(world: WebWorld, path: str) -> None:
    answer = raw_request(
        world, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    assert status_of(answer) in (400, 404), answer[:200]
    assert b"create_app" not in answer and b"root:" not in answer


# -- acknowledgement links --------------------------------------------------------------------


def _ack_link(
    world: WebWorld,
    payload: Any,
    *,
    age: timedelta = timedelta(0),
    salt: str = SALT,
    key: str = "ack",
) -> str:
    """A link signed with the site's ``key`` and ``salt`` as if ``age`` ago."""
    at = int((datetime.now(UTC) - age).timestamp())

    class Dated(TimestampSigner):
        def get_timestamp(self) -> int:
            return at

    serializer = URLSafeTimedSerializer(world.site.secret(key), salt=salt, signer=Dated)
    return "/ack/" + serializer.dumps(payload)


def test_an_ack_link_works_only_as_made_for_its_alert_and_in_time(world: WebWorld) -> None:
    first, second = alert_on_mail(world), alert_on_mail(world)
    bob, csrf = signed_in(world, "bob")
    valid = world.site.plan.web.ack_link_valid
    for link in (
        _ack_link(world, {"a": first.id}, age=valid + timedelta(minutes=1)),  # expired
        _ack_link(world, {"a": str(second.id)}),  # not a number
        _ack_link(world, [second.id]),
        _ack_link(world, {"a": second.id}, key="session"),  # the session key
        _ack_link(world, {"a": second.id}, salt="reprise.session"),  # another purpose
        "/ack/" + bob.cookies[COOKIE],  # a session cookie as a link
    ):
        assert bob.get(link).status_code == 400, link
        assert bob.post(link, data={"csrf": csrf}).status_code == 400, link
    made = ack_url(world.site.plan, world.store, first.id)
    assert made is not None
    path = made.removeprefix(world.url)
    assert bob.post(path, data={"csrf": csrf}).status_code == 303
    assert get_alert(world.store, second.id).acked_at is None  # type: ignore[union-attr]
    assert get_alert(world.store, first.id).acked_by == "bob"  # type: ignore[union-attr]
    fresh = _ack_link(world, {"a": second.id}, age=valid - timedelta(minutes=5))
    assert bob.post(fresh, data={}).status_code == 403  # without the CSRF token: no
    assert get_alert(world.store, second.id).acked_at is None  # type: ignore[union-attr]


# -- heartbeat pings, metrics, API without credentials -----------------------------------------


def test_an_unknown_ping_token_is_not_found_and_writes_nothing(world: WebWorld) -> None:
    client = world.client()
    pings, journal = count(world, heartbeat_pings), count(world, events)
    for token in (
        "nope",
        HEARTBEAT_TOKEN[:-1],
        HEARTBEAT_TOKEN + "x",
        HEARTBEAT_TOKEN.upper(),
        HEARTBEAT_TOKEN + "%00",
        "%2e%2e",
        "x" * 5000,
        "é" + HEARTBEAT_TOKEN,
    ):
        for suffix in ("", "/start", "/fail"):
            for method in ("GET", "POST", "HEAD"):
                answer = client.request(
                    method, f"/ping/{token}{suffix}", content=b"log" if method == "POST" else None
                )
                assert answer.status_code == 404, (token, suffix, method)
                assert "set-cookie" not in answer.headers
    assert count(world, heartbeat_pings) == pings and count(world, events) == journal


def test_a_huge_ping_body_is_cut_not_refused(world: WebWorld) -> None:
    answer = world.client().post(f"/ping/{HEARTBEAT_TOKEN}/fail", content=b"x" * 5_000_000)
    assert answer.status_code == 200
    with world.store.engine.connect() as connection:
        body = connection.execute(
            select(heartbeat_pings.c.body).order_by(heartbeat_pings.c.id.desc()).limit(1)
        ).scalar_one()
    assert body is not None and len(body) <= 10_000


def test_metrics_and_the_api_without_credentials_say_nothing(world: WebWorld) -> None:
    client = world.client()
    for path in (
        "/metrics",
        "/api/v1/services",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/me",
        "/api/v1/alerts",
    ):
        for headers in (
            {},
            {"Authorization": "Bearer rpr_" + "A" * 43},
            {"Authorization": "Basic YWxpY2U6eA=="},
            {"Authorization": "Bearer " + HEARTBEAT_TOKEN},
        ):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 401, (path, headers)
            assert answer.headers["www-authenticate"] == "Bearer"
            assert "mail" not in answer.text and "set-cookie" not in answer.headers


# -- methods, sizes, odd input ----------------------------------------------------------------


def test_odd_methods_on_protected_routes_give_nothing_away(world: WebWorld) -> None:
    client = world.client()
    for path in ("/", "/admin", "/incidents", "/api/v1/services", "/api/v1/tokens", "/metrics"):
        for method in ("HEAD", "OPTIONS", "TRACE", "PUT", "PATCH", "DELETE", "PROPFIND"):
            answer = client.request(
                method,
                path,
                headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
            )
            assert answer.status_code in (303, 401, 405), (method, path, answer.status_code)
            assert "access-control-allow-origin" not in answer.headers
            assert "mail" not in answer.text and "rpr_" not in answer.text


def test_huge_bodies_are_refused_and_the_server_stays_up(world: WebWorld) -> None:
    bob, csrf = signed_in(world, "bob")
    big = "a" * 20_000_000
    form = {"content-type": "application/x-www-form-urlencoded"}
    answers = [
        world.client().post("/login", content=f"login={big}&password=x&csrf=x", headers=form),
        bob.post("/incidents", content=f"title={big}&csrf={csrf}", headers=form),
        bob.post(
            "/incidents",
            content="&".join(f"services={i}" for i in range(200_000)) + f"&title=x&csrf={csrf}",
            headers=form,
        ),
        bob.post("/incidents", files={"title": ("t", big.encode())}, data={"csrf": csrf}),
        world.api("responder").post("/api/v1/incidents", content=json.dumps({"title": big})),
        world.api("responder").post(
            "/api/v1/incidents",
            content="[" * 100_000 + "]" * 100_000,
            headers={"content-type": "application/json"},
        ),
        world.api("responder").post(
            "/api/v1/incidents",
            content=b"\xff\xfe" * 1000,
            headers={"content-type": "application/json"},
        ),
    ]
    for number, answer in enumerate(answers):
        assert 400 <= answer.status_code < 500, (number, answer.status_code, answer.text[:200])
    assert not any(i.title == "x" for i in _incidents(world))
    assert world.client().get("/login").status_code == 200


def test_a_giant_authorization_header_is_refused_not_a_crash(world: WebWorld) -> None:
    client = world.client()
    answer = client.get("/api/v1/me", headers={"Authorization": "Bearer rpr_" + "a" * 8000})
    assert answer.status_code == 401
    huge = raw_request(
        world,
        b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer rpr_"
        + b"a" * 1_000_000
        + b"\r\n\r\n",
    )
    assert status_of(huge) in (0, 400, 413, 431)  # refused, or the connection closed
    assert client.get("/login").status_code == 200


@pytest.mark.parametrize(
    "login",
    [
        "alice\x00",
        "\x00alice",
        "ALICE",
        "Alice",
        "alice ",
        " alice",
        "ａｌｉｃｅ",
        "alice\u200b",
        "\u202ealice",
        "alic\u0435",
        "\udcff",
        "🙂" * 100,
    ],
)
def test_odd_login_names_sign_no_one_in_and_lock_no_one_out(world: WebWorld, login: str) -> None:
    client = world.client()
    csrf = csrf_of(client.get("/login").text)
    body = f"login={_quote(login)}&password={_quote(PASSWORD)}&csrf={csrf}"
    answer = client.post(
        "/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code in (401, 422), answer.status_code
    assert not is_signed_in(client)
    assert accounts(world.store)["alice"].failures == 0
    with world.store.engine.connect() as connection:
        logins = connection.execute(select(web_users.c.login)).scalars().all()
    assert sorted(logins) == ["alice", "bob", "carol"]


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", errors="surrogatepass"), safe="")


def test_a_spoofed_forwarded_for_does_not_reset_the_throttle(world: WebWorld) -> None:
    client = world.client()
    csrf = csrf_of(client.get("/login").text)
    codes = []
    for attempt in range(11):
        # what nginx's $proxy_add_x_forwarded_for passes on: the client's own header, then
        # the address nginx saw
        headers = {"X-Forwarded-For": f"198.51.100.{attempt}, 203.0.113.7"}
        answer = client.post(
            "/login",
            data={"login": f"nobody{attempt}", "password": "guess", "csrf": csrf},
            headers=headers,
        )
        codes.append(answer.status_code)
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_the_lockout_does_not_tell_which_logins_exist(tmp_path: Path) -> None:
    with web_world(tmp_path) as fresh:
        client = fresh.client()
        known = [sign_in(client, "bob", "wrong guess").status_code for _ in range(5)]
        unknown = [sign_in(client, "nobody", "wrong guess").status_code for _ in range(5)]
        assert known == unknown


# -- crashes, caches, cookies -----------------------------------------------------------------

HUGE = "99999999999999999999999"
"""An id no database integer holds."""


def test_a_huge_id_in_a_path_is_not_found_not_a_crash(world: WebWorld) -> None:
    bob, csrf = signed_in(world, "bob")
    alice, alice_csrf = signed_in(world, "alice")
    cookies, admin_cookies = dict(bob.cookies), dict(alice.cookies)
    codes = {}
    for method, path, who in (
        ("GET", f"/incidents/{HUGE}", cookies),
        ("GET", f"/incidents/{HUGE}/live", cookies),
        ("GET", f"/audits/{HUGE}", cookies),
        ("POST", f"/alerts/{HUGE}/ack", cookies),
        ("POST", f"/incidents/{HUGE}/notes", cookies),
        ("POST", f"/incidents/{HUGE}/close", cookies),
        ("POST", f"/admin/tokens/{HUGE}/revoke", admin_cookies),
    ):
        token = alice_csrf if who is admin_cookies else csrf
        client = world.client(cookies=who)  # a 500 closes the connection: one each
        answer = client.request(method, path, data={"csrf": token, "text": "x"})
        codes[path] = answer.status_code
    for method, path in (
        ("GET", f"/api/v1/incidents/{HUGE}"),
        ("GET", f"/api/v1/audits/{HUGE}"),
        ("POST", f"/api/v1/alerts/{HUGE}/ack"),
        ("DELETE", f"/api/v1/tokens/{HUGE}"),
        ("DELETE", f"/api/v1/silences/{HUGE}"),
    ):
        codes["api " + path] = world.api("admin").request(method, path).status_code
    assert all(400 <= code < 500 for code in codes.values()), codes


def test_a_month_outside_the_calendar_is_refused_not_a_crash(world: WebWorld) -> None:
    carol, _csrf = signed_in(world, "carol")
    cookies = dict(carol.cookies)
    codes = {}
    for path in ("/sla", "/sla/report.md", "/api/v1/sla"):
        for period in ("0000-01", "0001-01", "9999-12"):
            client = (
                world.api("viewer") if path.startswith("/api") else world.client(cookies=cookies)
            )
            codes[f"{path}?period={period}"] = client.get(
                path, params={"period": period}
            ).status_code
    assert all(code == 400 for code in codes.values()), codes


def _crash(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("boom at postgresql://reprise:hunter2@db.interne.example/reprise")


def test_a_crash_page_tells_nothing_of_the_error(
    world: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reprise.usecases.audit.list_stored", _crash)
    carol, _csrf = signed_in(world, "carol")
    for client, path in ((carol, "/audits"), (world.api("viewer"), "/api/v1/audits")):
        answer = client.get(path)
        assert answer.status_code == 500
        for secret in ("hunter2", "db.interne", "Traceback", "RuntimeError", "boom"):
            assert secret not in answer.text, (path, secret)


def test_a_crash_page_carries_the_security_headers(
    world: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("reprise.usecases.audit.list_stored", _crash)
    carol, _csrf = signed_in(world, "carol")
    answer = carol.get("/audits")
    assert answer.status_code == 500
    assert "frame-ancestors 'none'" in answer.headers.get("content-security-policy", "")
    assert answer.headers.get("x-frame-options") == "DENY"
    assert answer.headers.get("cache-control") == "no-store"


def test_a_publicly_cacheable_answer_never_carries_a_session_cookie(
    world: WebWorld, restore_plan: None
) -> None:
    start = datetime.now(UTC)
    world.site.clock = lambda: start
    bob, _csrf = signed_in(world, "bob")
    found = []
    for step, path in enumerate(("/status", "/static/app.css"), start=1):
        moment = start + timedelta(minutes=step)  # past the refresh of the last-seen time
        world.site.clock = lambda moment=moment: moment  # type: ignore[misc]
        for client in (bob, world.client()):
            answer = client.get(path)
            assert answer.status_code == 200
            caching = answer.headers.get("cache-control", "")
            private = "no-store" in caching or "private" in caching
            if "set-cookie" in answer.headers and not private:
                found.append((path, answer.headers["set-cookie"][:40]))
    assert found == []


def test_cookies_are_secure_behind_tls_and_secrets_are_never_cached(
    world: WebWorld, restore_plan: None
) -> None:
    plan = world.site.plan
    tls = plan.web.model_copy(update={"base_url": "https://reprise.example.org"})
    world.site.plan = plan.model_copy(update={"web": tls})
    answer = world.client().get("/login")  # the cookie that will carry the sign-in
    assert "; secure" in answer.headers["set-cookie"].lower()
    world.site.plan = plan
    created = world.api("admin").post(
        "/api/v1/tokens", json={"name": "cached?", "permission": "viewer"}
    )
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    alice, csrf = signed_in(world, "alice")
    shown = alice.post(
        "/admin/tokens", data={"name": "shown once", "permission": "viewer", "csrf": csrf}
    )
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"

"""The web in a real browser (Debian's chromium through Playwright) against a real server:
what each permission sees and may do, the acknowledgement link of a mail, an incident
worked through to its close, the public status page, heartbeat pings, hostile text, the
live timeline, a phone's width; and the screenshots of the documentation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from reprise.alerts.links import ack_url
from reprise.alerts.records import get_alert, open_alert
from reprise.store.events import append_event
from tests.support.browser import (
    chromium,  # noqa: F401 (the `browser` fixture)
    csrf_in,
    new_page,
    run_in_thread,
    screenshot,
    sign_in,
)
from tests.support.web import HEARTBEAT_TOKEN, WebWorld, web_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

WAIT_MS = 30_000


@pytest.fixture
def world(tmp_path: Path) -> Iterator[WebWorld]:
    with web_world(tmp_path) as running:
        yield running


def _alert(world: WebWorld, message: str = "smtp: connexion refusée") -> int:
    opened = open_alert(
        world.store,
        service="mail",
        kind="down",
        priority="P1",
        opened_at=datetime.now(UTC),
        message=message,
        roles=["responders"],
    )
    return opened.id


def _incident(world: WebWorld, title: str = "Messagerie en panne") -> dict[str, Any]:
    answer = world.api("responder").post(
        "/api/v1/incidents", json={"title": title, "services": ["mail"]}
    )
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _state(world: WebWorld, service: str, old: str, new: str, at: datetime | None = None) -> None:
    """A state change as the monitor's alert engine records it."""
    payload = {"from": old, "to": new, "failures": [] if new == "up" else ["smtp: refused"]}
    append_event(world.store, "service.state", service, payload, at=at)


def _buttons(page: Page) -> list[str]:
    """The text of every button in the page's main part."""
    return [text.strip() for text in page.locator("main button").all_inner_texts()]


def _click_and_wait(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


# -- a. permissions ------------------------------------------------------------------------


def test_each_permission_sees_only_what_it_may_do(browser: Browser, world: WebWorld) -> None:
    _alert(world)
    incident = _incident(world)
    viewer = new_page(browser)
    sign_in(viewer, world, "viewer")
    assert viewer.url == f"{world.url}/"
    assert viewer.locator("nav a[href='/admin']").count() == 0
    assert "Accès" not in viewer.locator("nav").inner_text()
    for path in ("/", "/alerts", "/incidents", f"/incidents/{incident['id']}", "/services/mail"):
        viewer.goto(world.url + path)
        assert viewer.locator("h1").count() == 1, path
        assert _buttons(viewer) == [], (path, _buttons(viewer))
    viewer.goto(f"{world.url}/alerts")
    forged = viewer.request.post(
        f"{world.url}/alerts/1/ack", form={"csrf": csrf_in(viewer)}, max_redirects=0
    )
    assert forged.status == 403
    assert get_alert(world.store, 1).acked_at is None  # type: ignore[union-attr]

    responder = new_page(browser)
    sign_in(responder, world, "responder")
    assert responder.locator("nav a[href='/admin']").count() == 0
    responder.goto(f"{world.url}/incidents/{incident['id']}")
    shown = _buttons(responder)
    assert "Commencer" in shown and "Terminé" in shown and "Clore l'incident" in shown
    responder.goto(f"{world.url}/alerts")
    assert "Acquitter" in _buttons(responder)
    assert responder.goto(f"{world.url}/admin").status == 403  # type: ignore[union-attr]

    admin = new_page(browser)
    sign_in(admin, world, "admin")
    _click_and_wait(admin, "nav a[href='/admin']")
    assert admin.url == f"{world.url}/admin"
    users = admin.locator("main table").first.inner_text()
    for login in ("alice", "bob", "carol"):
        assert login in users
    admin.fill("#token-name", "supervision")
    admin.select_option("#token-permission", "viewer")
    _click_and_wait(admin, "form[action='/admin/tokens'] button[type=submit]")
    token = admin.locator("#fresh-token").inner_text().strip()
    assert len(token) >= 20
    listed = world.client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/services")
    assert listed.status_code == 200
    assert urlpath(admin) == "/admin/tokens"  # the answer to the form, not a page to keep
    admin.goto(f"{world.url}/admin")
    assert admin.locator("#fresh-token").count() == 0  # shown once
    assert token not in admin.content()
    assert "supervision" in admin.locator("main").inner_text()
    for page in (viewer, responder, admin):
        page.context.close()


# -- b. acknowledging from the mail's link -------------------------------------------------


def test_the_link_of_a_mail_acknowledges_after_signing_in(
    browser: Browser, world: WebWorld
) -> None:
    alert_id = _alert(world)
    link = ack_url(world.site.plan, world.store, alert_id)
    assert link is not None and link.startswith(world.url)
    page = new_page(browser)
    page.goto(link)
    assert urlpath(page).startswith("/login"), page.url
    sign_in(page, world, "responder", go=False)
    assert page.url == link
    assert page.locator("h1").inner_text().strip().endswith(str(alert_id))
    _click_and_wait(page, "form[action^='/ack/'] button[type=submit]")
    assert urlpath(page) == "/alerts"
    acked = get_alert(world.store, alert_id)
    assert acked is not None and acked.acked_at is not None
    assert acked.acked_by == "bob"
    assert "par bob le" in page.locator("main table").inner_text()
    page.context.close()


def urlpath(page: Page) -> str:
    """The page's path and query, without the server's address."""
    return re.sub(r"^https?://[^/]+", "", page.url)


# -- c. an incident worked through to its close --------------------------------------------


def test_tasks_done_element_up_then_the_incident_closes(browser: Browser, world: WebWorld) -> None:
    incident = _incident(world)
    number = incident["id"]
    page = new_page(browser)
    sign_in(page, world, "responder")
    page.goto(f"{world.url}/incidents/{number}")
    tasks = page.locator("#tasks li.task")
    assert tasks.count() >= 2
    _click_and_wait(page, "#tasks li.task >> nth=0 >> button:text-is('Commencer')")
    assert "task-doing" in (page.locator("#tasks li.task").first.get_attribute("class") or "")
    for _ in range(10):
        done = page.locator("#tasks button:text-is('Terminé')")
        if done.count() == 0:
            break
        _click_and_wait(page, "#tasks button:text-is('Terminé') >> nth=0")
    assert page.locator("#tasks button").count() == 0
    statuses = page.locator("#tasks .task-status").all_inner_texts()
    assert statuses and all(status.strip() == "fait" for status in statuses), statuses
    page.select_option("#state-mail", "up")
    _click_and_wait(page, "form[action$='/state']:has(#state-mail) button[type=submit]")
    assert "opérationnel" in page.locator("section[aria-labelledby=elements-title]").inner_text()
    page.fill("#close-note", "Postfix redémarré, file vidée.")
    _click_and_wait(page, f"form[action='/incidents/{number}/close'] button[type=submit]")
    assert page.locator(".badge.status-closed").inner_text().strip() == "clos"
    assert "Incident clos" in page.locator(".flash").inner_text()
    assert page.locator("form[action$='/close']").count() == 0
    closed = world.api("viewer").get(f"/api/v1/incidents/{number}").json()
    assert closed["status"] == "closed"
    page.context.close()


# -- d. the public status page -------------------------------------------------------------


def _status(page: Page, world: WebWorld) -> str:
    """The public state word of the mail service, the page made afresh."""
    from reprise.web.routes import public

    public._cache.clear()
    if page.url == f"{world.url}/status":
        page.reload()  # the browser keeps the page for 5 s too (max-age=5): ask again
    else:
        page.goto(f"{world.url}/status")
    row = page.locator("li.service", has=page.locator(".name", has_text="Courrier électronique"))
    return row.locator(".state").inner_text().strip()


def test_the_status_page_follows_a_service_down_and_back(
    browser: Browser, world: WebWorld, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=30)
    _state(world, "mail", "unknown", "up", start)
    _state(world, "vpn", "unknown", "up", start)
    page = new_page(browser)  # nobody signed in
    assert _status(page, world) == "Opérationnel"
    assert "Messagerie" not in page.locator("body").inner_text()  # the public name only
    _state(world, "mail", "up", "down")
    assert _status(page, world) == "Indisponible"
    assert "Tous les services" not in page.locator(".banner").inner_text()
    _state(world, "mail", "down", "up")
    assert _status(page, world) == "Opérationnel"
    assert "Tous les services fonctionnent normalement" in page.locator(".banner").inner_text()
    page.context.close()


# -- e. heartbeat pings --------------------------------------------------------------------


class Clock:
    """An explicit clock, moved by the test; the web's and the monitor's."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def _monitor_once(world: WebWorld, clock: Clock) -> str:
    """Judge the vpn's heartbeat check at ``clock`` as the monitor does: probe, board,
    alert engine, results written. The state found."""
    from reprise.monitor.results import write_results
    from reprise.orchestrators.monitor import Monitor
    from reprise.plan.checks import HeartbeatCheck
    from reprise.probes.context import ProbeContext, ProbeRun
    from reprise.probes.heartbeat import probe_heartbeat
    from reprise.probes.run import describe_check

    plan = world.site.plan
    check = plan.service("vpn").checks[0]
    assert isinstance(check, HeartbeatCheck)
    sent: list[str] = []

    def send(url: str, subject: str, body: str) -> str | None:
        sent.append(subject)
        return None

    monitor = Monitor(plan, world.store, clock=clock, sender=send)

    async def once() -> str:
        context = ProbeContext(plan, world.store)
        try:
            result = await probe_heartbeat(check, ProbeRun(context, "vpn"), clock())
            monitor.observe("vpn", describe_check(check), result, clock())
            await monitor.dispatcher.drain(5)
        finally:
            monitor.dispatcher.close()
            await context.aclose()
        return result.state

    state = run_in_thread(once())
    write_results(world.store, monitor.buffer.take())
    return state


def _check_state(page: Page, world: WebWorld) -> str:
    page.goto(f"{world.url}/services/vpn")
    heading = page.locator("section.check h3", has_text="export")
    return heading.locator(".badge").first.inner_text().strip()


def test_a_heartbeat_check_goes_down_when_pings_stop_and_up_when_they_resume(
    browser: Browser, world: WebWorld
) -> None:
    clock = Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=3))
    world.site.clock = clock
    page = new_page(browser)
    answer = page.request.get(f"{world.url}/ping/{HEARTBEAT_TOKEN}")
    assert answer.status == 200 and answer.text() == "OK\n"
    assert page.request.get(f"{world.url}/ping/not-a-token").status == 404
    clock.at += timedelta(minutes=1)
    assert _monitor_once(world, clock) == "up"
    clock.at += timedelta(days=1, hours=1, minutes=1)  # past period + grace
    assert _monitor_once(world, clock) == "down"
    sign_in(page, world, "viewer")
    assert _check_state(page, world) == "en panne"
    answer = page.request.post(f"{world.url}/ping/{HEARTBEAT_TOKEN}", data="export: 42 lignes")
    assert answer.status == 200
    clock.at += timedelta(minutes=1)
    assert _monitor_once(world, clock) == "up"
    assert _check_state(page, world) == "opérationnel"
    page.context.close()


# -- f. hostile text -----------------------------------------------------------------------

TITLE = '<img src=x onerror="window.__pwned=1">'
NOTE = "<script>window.__pwned=2</script>"


def test_hostile_titles_and_notes_show_as_text(browser: Browser, world: WebWorld) -> None:
    page = new_page(browser)
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    sign_in(page, world, "responder")
    page.goto(f"{world.url}/incidents")
    page.click("details summary")
    page.fill("#incident-title", TITLE)
    page.check("input[name=services][value=mail]")
    page.fill("#incident-cause", NOTE)
    _click_and_wait(page, "form[action='/incidents'] button[type=submit]")
    assert re.search(r"/incidents/\d+$", page.url), page.url
    assert TITLE in (page.text_content("h1") or "")
    page.fill("#note-text", NOTE)
    _click_and_wait(page, "form[action$='/notes'] button[type=submit]")
    assert NOTE in (page.text_content("#timeline") or "")
    assert page.locator("main img, main script").count() == 0
    for path in ("", "/", "/incidents"):
        if path:
            page.goto(world.url + path)
        assert TITLE in (page.text_content("main") or ""), path
        assert page.evaluate("typeof window.__pwned") == "undefined", path
    page.wait_for_timeout(500)  # an onerror would have fired by now
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    page.context.close()


# -- g. the live timeline ------------------------------------------------------------------


def test_the_timeline_shows_a_new_note_without_reloading(browser: Browser, world: WebWorld) -> None:
    incident = _incident(world)
    page = new_page(browser)
    sign_in(page, world, "viewer")
    page.goto(f"{world.url}/incidents/{incident['id']}")
    page.evaluate("window.__sameDocument = true")
    text = "Note ajoutée par l'API pendant que la page est ouverte"
    assert text not in (page.text_content("#timeline") or "")
    added = world.api("responder").post(
        f"/api/v1/incidents/{incident['id']}/notes", json={"text": text}
    )
    assert added.status_code == 201, added.text
    page.locator("#timeline .text", has_text=text).wait_for(timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True  # not reloaded
    assert page.get_attribute("#live", "data-refreshed")
    page.context.close()


# -- h. a phone's width --------------------------------------------------------------------

UNLABELLED = """() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden")
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby"))
  .map((el) => el.outerHTML)"""


def test_on_a_phone_nothing_scrolls_sideways_and_every_field_has_a_label(
    browser: Browser, world: WebWorld
) -> None:
    _state(world, "mail", "up", "down")
    _alert(world)
    incident = _incident(world)
    page = new_page(browser, 390, 844)
    sign_in(page, world, "admin")
    for path in (
        "/",
        "/alerts",
        "/incidents",
        f"/incidents/{incident['id']}",
        "/admin",
        "/services/mail",
        "/sla",
        "/backups",
    ):
        page.goto(world.url + path)
        wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1] + 1, (path, wide)
        assert page.evaluate(UNLABELLED) == [], path
        fields = page.locator("input:not([type=hidden]), select, textarea").count()
        assert fields >= 1, path  # the language choice at least
    page.goto(f"{world.url}/login")
    assert page.evaluate(UNLABELLED) == []
    page.context.close()


# -- screenshots ---------------------------------------------------------------------------


def _results(world: WebWorld, start: datetime) -> None:
    """Check results every 5 minutes since ``start``: the mail server refusing for the
    last 25 minutes, the vpn's export pinging."""
    from reprise.monitor.results import ResultBuffer, write_results
    from reprise.probes.result import ProbeResult

    buffer = ResultBuffer()
    now = datetime.now(UTC)
    at = start
    while at < now:
        down = at >= now - timedelta(minutes=25)
        mail = (
            ProbeResult("down", "connect refused", 0.002)
            if down
            else ProbeResult("up", "220 mx1 ESMTP", 0.012 + (at.minute % 7) / 1000)
        )
        buffer.add("mail", "smtp", mail, at)
        buffer.add("vpn", "export", ProbeResult("up", "last ping 2 h ago", None), at)
        at += timedelta(minutes=5)
    write_results(world.store, buffer.take())


def test_screenshots_of_the_overview_an_incident_and_the_status_page(
    browser: Browser, world: WebWorld, tmp_path: Path
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=90)
    _state(world, "mail", "unknown", "up", start)
    _state(world, "vpn", "unknown", "up", start)
    _state(world, "mail", "up", "down", datetime.now(UTC) - timedelta(minutes=25))
    _results(world, start)
    _alert(world, "smtp 127.0.0.1:25 : connexion refusée")
    incident = _incident(world, "Messagerie indisponible")
    number = incident["id"]
    api = world.api("responder")
    api.post(
        f"/api/v1/incidents/{number}/notes",
        json={"text": "Le serveur mx1 ne répond plus ; redémarrage en cours.", "public": True},
    )
    api.post(f"/api/v1/incidents/{number}/tasks/1", json={"status": "doing"})
    page = new_page(browser)
    sign_in(page, world, "responder")
    shots = [screenshot(page, tmp_path, "web-overview.png")]
    page.goto(f"{world.url}/incidents/{number}")
    shots.append(screenshot(page, tmp_path, "web-incident.png"))
    from reprise.web.routes import public

    public._cache.clear()
    page.goto(f"{world.url}/status")
    assert "Indisponible" in page.locator("main").inner_text()
    shots.append(screenshot(page, tmp_path, "web-status.png"))
    for shot in shots:
        assert 5_000 < shot.stat().st_size < 400_000, (shot, shot.stat().st_size)
    page.context.close()

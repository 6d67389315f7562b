"""The web served for real on loopback: sign-in per permission, refusals, CSRF."""

from __future__ import annotations

from pathlib import Path

from tests.support.web import web_world


def test_pages_need_sign_in_and_permissions_hold(tmp_path: Path) -> None:
    with web_world(tmp_path) as world:
        anonymous = world.client()
        first = anonymous.get("/")
        assert first.status_code == 303 and first.headers["location"].startswith("/login")
        assert anonymous.get("/api/v1/services").status_code == 401
        viewer, csrf = world.signed_in("viewer")
        page = viewer.get("/")
        assert page.status_code == 200 and "Messagerie" in page.text
        assert "Content-Security-Policy" in page.headers
        forged = viewer.post("/alerts/1/ack", data={"csrf": csrf})
        assert forged.status_code == 403
        responder, csrf = world.signed_in("responder")
        no_token = responder.post("/incidents", data={"title": "Test", "csrf": "wrong"})
        assert no_token.status_code == 403
        opened = responder.post("/incidents", data={"title": "Panne", "csrf": csrf})
        assert opened.status_code == 303, opened.text
        assert world.api("viewer").get("/api/v1/incidents").json()[0]["title"] == "Panne"


def test_no_page_or_answer_shows_a_password_or_a_contact_token(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from reprise.alerts.records import open_alert

    with web_world(tmp_path) as world:
        open_alert(
            world.store,
            service="mail",
            kind="down",
            priority="P1",
            opened_at=datetime.now(UTC),
            message="GET https://probe:hunter2-secret@mx1/health failed; notified "
            "tgram://123456:AAEsecretbot/42 and PGPASSWORD=s3cr3t-value",
            roles=["responders"],
        )
        viewer, _csrf = world.signed_in("viewer")
        page = viewer.get("/alerts").text
        answer = world.api("viewer").get("/api/v1/alerts").text
        for shown in (page, answer):
            assert "failed; notified" in shown
            for secret in ("hunter2-secret", "AAEsecretbot", "s3cr3t-value"):
                assert secret not in shown


def test_the_language_a_person_chooses_follows_them_to_their_next_session(
    tmp_path: Path,
) -> None:
    with web_world(tmp_path) as world:
        first, csrf = world.signed_in("viewer")
        assert "<h1>Vue d&#39;ensemble</h1>" in first.get("/").text
        switched = first.post("/language", data={"language": "en", "csrf": csrf, "next": "/"})
        assert switched.status_code == 303
        assert "<h1>Overview</h1>" in first.get("/").text
        later, _csrf = world.signed_in("viewer")
        assert "<h1>Overview</h1>" in later.get("/").text
        other, _csrf = world.signed_in("responder")
        assert "<h1>Vue d&#39;ensemble</h1>" in other.get("/").text

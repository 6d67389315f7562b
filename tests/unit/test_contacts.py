"""Delivery lines name who a contact reaches (a report reader must tell two contacts apart)
and never show a password or token from the plan."""

from __future__ import annotations

import pytest

from reprise.plan.contacts import recipient

SECRETS = [
    "s3cr3tpw",
    "TIiajkdnlazkcOXrIdevi7FQ",
    "hunter2",
    "JHMHI8qBe7bk2ZwO5U711o3dV_js",
    "abcdefabcdefabcdefabcdefabcdefab",
    "tok3n",
    "abcdefg_hijklmnop",
]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mailto://127.0.0.1:2525?from=reprise@infra.test&to=team@infra.test", "team@infra.test"),
        (
            "mailtos://ops:s3cr3tpw@smtp.infra.test?to=a@infra.test,b@infra.test",
            "a@infra.test, b@infra.test",
        ),
        ("mailto://mina:s3cr3tpw@gmail.com", "mina@gmail.com"),
        ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#ops", "#ops"),
        ("json://user:hunter2@127.0.0.1:8080/hook?token=tok3n", "127.0.0.1:8080/hook"),
        ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://"),
        (
            "twilio://AC12345678901234567890123456789012:abcdefabcdefabcdefabcdefabcdefab"
            "@+15551234567/+33612345678",
            "+33612345678",
        ),
        ("tgram://123456789:abcdefg_hijklmnop/-100123456", "-100123456"),
        ("ntfy://ntfy.infra.test/astreinte", "ntfy://ntfy.infra.test/astreinte"),
    ],
)
def test_recipient_names_the_destination_without_secrets(url: str, shown: str) -> None:
    line = recipient(url)
    assert shown in line
    for secret in SECRETS:
        assert secret not in line, (url, line)


def test_a_url_apprise_cannot_read_shows_only_its_scheme_and_host() -> None:
    assert recipient("mailto://user:s3cr3tpw@relay/?to=x@y.fr") == "mailto://relay"

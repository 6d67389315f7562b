"""Contacts are Apprise URLs: check that Apprise can send to each one, and show them
without their secrets."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from reprise.plan.model import Plan
from reprise.plan.references import Problem


def redact(url: str) -> str:
    """A contact URL fit for logs and screens: scheme and host, never tokens or passwords."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    return f"{parts.scheme}://{host}{port}" + ("/…" if parts.path.strip("/") else "")


def recipient(url: str) -> str:
    """Who a contact reaches, for delivery lines in reports and logs, never a secret: the
    addresses of an e-mail contact, else Apprise's privacy form of the URL (passwords and
    tokens masked) without its options; the scheme and host when Apprise cannot read it."""
    from apprise import Apprise

    plugin = Apprise.instantiate(url, suppress_exceptions=True)
    if plugin is None:
        return redact(url)
    if url.split("://", 1)[0].lower() in EMAIL_SCHEMES:
        addresses = [
            target[1]
            for target in getattr(plugin, "targets", [])
            if isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], str)
        ]
        if addresses:
            return ", ".join(addresses)
    private = str(plugin.url(privacy=True)).split("?", 1)[0]  # type: ignore[no-untyped-call]
    return unquote(private).rstrip("/")


EMAIL_SCHEMES = ("mailto", "mailtos")


def contact_problems(plan: Plan) -> Iterator[Problem]:
    """Each contact Apprise cannot use, named by its role, member and position."""
    contacts = [
        (r_index, role, m_index, member, c_index, url)
        for r_index, role in enumerate(plan.roles)
        for m_index, member in enumerate(role.members)
        for c_index, url in enumerate(member.contacts)
    ]
    if not contacts:
        return
    from apprise import Apprise  # 0.1 s to import: only for plans that have contacts

    for r_index, role, m_index, member, c_index, url in contacts:
        if Apprise.instantiate(url, suppress_exceptions=True) is None:
            yield Problem(
                ("roles", r_index, "members", m_index, "contacts", c_index),
                f"role {role.id!r}, member {member.name!r}: contact {c_index + 1} "
                f"({redact(url)}) is not a URL Apprise can send to",
                "check the scheme and its required parts (https://github.com/caronc/apprise"
                "/wiki), e.g. mailtos://user:pass@smtp.example.org?to=oncall@example.org",
            )

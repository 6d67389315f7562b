"""Secrets out of text people or logs see: passwords in URLs, ``NAME=secret`` assignments,
age secret keys, the tokens in Apprise contact URLs, and the exact secrets a caller knows
(the plan's ``.env`` values, its contact URLs). The CLI's logs and the web's pages use it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reprise.plan.contacts import redact as redact_contact

if TYPE_CHECKING:
    from reprise.plan.model import Plan

MASK = "***"

AGE_SECRET = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]+|AGE-PLUGIN-[0-9A-Z-]+-1[0-9A-Z]+", re.I)
ASSIGNED = re.compile(
    r"\b(\w*(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|APIKEY|API_KEY|ACCESS_KEY|PRIVATE_KEY))"
    r"(\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s&;,'\"]+)",
    re.I,
)
"""``PGPASSWORD=…``, ``password=…`` in a libpq DSN, ``?pass=…`` in an Apprise URL."""
_ASSIGNED_MARKS = ("pass", "pwd", "secret", "token", "key")
"""What every name ASSIGNED matches contains (lower case)."""
USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://[^\s/@:]*:)[^\s@]+@", re.I)
"""The password of ``scheme://user:PASSWORD@host``."""
URL = re.compile(r"\b([a-z][a-z0-9+.\-]*)://[^\s\"'<>]+", re.I)
PLAIN_SCHEMES = frozenset(
    {"http", "https", "postgresql", "postgres", "sqlite", "file", "s3", "unix", "ssh"}
)
"""URL schemes whose path is no secret. Any other scheme is taken for an Apprise contact,
whose path holds tokens (``tgram://BOT_TOKEN/CHAT``): only its scheme and host are kept."""


def _contact(match: re.Match[str]) -> str:
    if match.group(1).lower() in PLAIN_SCHEMES:
        return match.group(0)
    return redact_contact(match.group(0))


def redact_text(text: str, known: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret masked: ``known`` (exact secret → what replaces it) first,
    then the patterns above."""
    for secret in sorted(known or {}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, (known or {})[secret])
    # Each pattern only where its mark is (a page or an API answer may be megabytes long).
    lower = text.lower()
    if "age-" in lower:
        text = AGE_SECRET.sub("AGE-SECRET-KEY-" + MASK, text)
    if "=" in text and any(mark in lower for mark in _ASSIGNED_MARKS):
        text = ASSIGNED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    if "://" in text:
        text = USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
        text = URL.sub(_contact, text)
    return text


def plan_secrets(plan: Plan) -> dict[str, str]:
    """The plan's contact URLs and what replaces each (their tokens masked)."""
    return {
        url: redact_contact(url)
        for role in plan.roles
        for member in role.members
        for url in member.contacts
    } | {url: redact_contact(url) for url in plan.communication.test_contacts}

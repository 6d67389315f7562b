"""The verdict on an HTTP answer, shared by the httpx probe and the lean one: status,
body, JSON value."""

from __future__ import annotations

import json
import re
from typing import Any

from reprise.plan.checks import HttpCheck
from reprise.probes.result import ProbeResult, down, up
from reprise.words import say

BODY_LIMIT = 1024 * 1024
"""Bytes of body read for body_regex / json_path; a huge page never fills the memory."""


def judge_response(
    language: str, check: HttpCheck, status: int, body: bytes, latency: float
) -> ProbeResult:
    """Up when the status is expected and the body and JSON value match; else down."""
    details: dict[str, Any] = {"status": status}
    if status not in check.expect_status:
        expected = ", ".join(str(code) for code in check.expect_status)
        message = say(language, "probe.http_status", status=status, expected=expected)
        return down(message, latency, **details)
    text = body.decode("utf-8", "replace")
    if check.body_regex and not re.search(check.body_regex, text):
        message = say(language, "probe.http_body", status=status, pattern=repr(check.body_regex))
        return down(message, latency, **details)
    if check.json_path:
        found, value = _json_value(text, check.json_path)
        if not found:
            message = say(language, "probe.http_json_missing", status=status, path=check.json_path)
            return down(message, latency, **details)
        details["json_value"] = value
        if (
            check.json_equals is not None
            and value != check.json_equals
            and str(value) != str(check.json_equals)
        ):
            return down(
                say(
                    language,
                    "probe.http_json_value",
                    path=check.json_path,
                    value=repr(value),
                    expected=repr(check.json_equals),
                ),
                latency,
                **details,
            )
    message = say(language, "probe.http_ok", status=status, latency=f"{latency * 1000:.0f}")
    return up(message, latency, **details)


def _json_value(text: str, path: str) -> tuple[bool, Any]:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return False, None
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, None
    return True, value

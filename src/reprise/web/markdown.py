"""Reports written in Markdown, shown inside a page: raw HTML in the text is escaped,
never passed through, so a hostile title or note stays text."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

from reprise.plan.redaction import redact_text

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def to_html(text: str) -> Markup:
    """Markdown rendered as safe HTML (raw HTML escaped, secrets masked)."""
    return Markup(_PARSER.render(redact_text(text)))  # noqa: S704  # html=False: the parser escapes raw HTML

"""Reports written in Markdown, shown inside a page: raw HTML in the text is escaped,
never passed through, so a hostile title or note stays text."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def to_html(text: str) -> Markup:
    """Markdown rendered as safe HTML (raw HTML escaped)."""
    return Markup(_PARSER.render(text))  # noqa: S704  # html=False: the parser escapes raw HTML

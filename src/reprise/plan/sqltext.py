"""Just enough of PostgreSQL's lexer to count the statements of an SQL text: ``;`` inside
string constants, quoted identifiers, dollar-quoted bodies and comments does not end a
statement.

Used to refuse, when the plan is validated, an integrity assertion that holds several
statements. It is a courtesy, not the safeguard: drills send each assertion with the
extended query protocol, which PostgreSQL itself refuses for more than one statement.
"""

from __future__ import annotations

import re
from functools import cache

_DOLLAR_TAG = r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$"
_IDENTIFIER_CHAR = r"[A-Za-z0-9_$\x80-\U0010ffff]"


@cache
def _pattern(source: str) -> re.Pattern[str]:
    """Compiled on first use: these Unicode ranges take milliseconds to compile, paid by
    every command's plan loading otherwise, for plans that mostly have no SQL text."""
    return re.compile(source)


def _skip_quoted(text: str, start: int, quote: str, *, backslashes: bool) -> int | None:
    """Index just after the constant opened at ``start`` (None when it never closes)."""
    index = start + 1
    while index < len(text):
        char = text[index]
        if backslashes and char == "\\":
            index += 2
            continue
        if char == quote:
            if text.startswith(quote, index + 1):  # doubled: one literal quote
                index += 2
                continue
            return index + 1
        index += 1
    return None


def _skip_block_comment(text: str, start: int) -> int | None:
    depth, index = 0, start
    while index < len(text):
        if text.startswith("/*", index):
            depth, index = depth + 1, index + 2
        elif text.startswith("*/", index):
            depth, index = depth - 1, index + 2
            if depth == 0:
                return index
        else:
            index += 1
    return None


def split_statements(text: str) -> list[str] | None:
    """The statements of ``text`` (without empty ones, comments kept), or None when the
    text is not complete enough to tell (an unclosed quote or comment)."""
    statements: list[str] = []
    begin = index = 0
    meaningful = False
    while index < len(text):
        char = text[index]
        after: int | None
        if char == "-" and text.startswith("--", index):
            newline = text.find("\n", index)
            index = len(text) if newline == -1 else newline + 1
            continue
        if char == "/" and text.startswith("/*", index):
            after = _skip_block_comment(text, index)
            if after is None:
                return None
            index = after
            continue
        if char == ";":
            if meaningful:
                statements.append(text[begin:index].strip())
            begin, index, meaningful = index + 1, index + 1, False
            continue
        if char.isspace():
            index += 1
            continue
        meaningful = True
        if char in "'\"":
            escaped = (
                char == "'"
                and index > 0
                and text[index - 1] in "eE"
                and (index < 2 or not _pattern(_IDENTIFIER_CHAR).match(text[index - 2]))
            )
            after = _skip_quoted(text, index, char, backslashes=escaped)
            if after is None:
                return None
            index = after
            continue
        if char == "$" and not (index > 0 and _pattern(_IDENTIFIER_CHAR).match(text[index - 1])):
            tag = _pattern(_DOLLAR_TAG).match(text, index)
            if tag:
                close = text.find(tag.group(0), tag.end())
                if close == -1:
                    return None
                index = close + len(tag.group(0))
                continue
        index += 1
    if meaningful:
        statements.append(text[begin:].strip())
    return statements

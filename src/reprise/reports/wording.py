"""Messages kept as words of the catalog rather than as sentences: a list of parts, each a
catalog key and the facts that fill it, worded in any language when shown.

Reprise stores the English sentence of such a message (for the journal and the JSON of the
commands) together with its parts (in a timeline entry's ``details``), so a report can word
it again in its own language. A fact may itself be a list of parts (worded and joined with
commas), e.g. a state or a list of figures. A measured number kept as text (``seconds``:
``"12.5"``) is spelled in the language's decimals when worded (``12,5`` in French)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from reprise.words import words
from reprise.words.format import number

Part = tuple[str, dict[str, Any]]
"""One catalog key and the values of its ``{placeholders}``."""


def part(key: str, **params: Any) -> Part:
    """One part of a message."""
    return (key, params)


def is_parts(value: object) -> TypeGuard[Sequence[Any]]:
    """Whether ``value`` (as stored in JSON: lists, not tuples) is a list of parts."""
    return isinstance(value, list | tuple) and all(
        isinstance(item, list | tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], Mapping)
        for item in value
    )


MEASURES = frozenset({"seconds", "timeout", "latency", "rtt", "percent", "loss"})
"""The facts that are measured numbers (stored as text, English decimals)."""
_DECIMAL = re.compile(r"-?\d+\.(\d+)")


def _measure(language: str, value: object) -> object:
    """A measured number kept as text (``"12.5"``) in the language's decimals."""
    if language != "en" and isinstance(value, str) and (match := _DECIMAL.fullmatch(value)):
        return number(float(value), language, len(match.group(1)))
    return value


def word_parts(
    language: str,
    parts: Sequence[Any],
    separator: str = "",
    names: Mapping[str, str] | None = None,
) -> str:
    """The message in ``language``; KeyError when a key or a placeholder is missing. A
    fact that is itself a list of parts is worded and joined with commas; a measured
    number (:data:`MEASURES`) is spelled in the language's decimals; with ``names``
    (service id → name), a ``service`` (stored by its id) is named by its name."""
    table = words(language)

    def value(name: str, item: object) -> object:
        if item and is_parts(item):
            return word_parts(language, item, ", ", names)
        if name == "service" and names and isinstance(item, str):
            return names.get(item, item)
        return _measure(language, item) if name in MEASURES else item

    return separator.join(
        table[key].format(**{name: value(name, item) for name, item in params.items()})
        for key, params in parts
    )


def english(parts: Sequence[Part]) -> str:
    """The message in English, as stored."""
    return word_parts("en", parts)


def json_parts(parts: Sequence[Part]) -> list[list[Any]]:
    """The parts in their JSON form."""
    return [[key, dict(params)] for key, params in parts]


def reworded(
    language: str, parts: object, fallback: str, names: Mapping[str, str] | None = None
) -> str:
    """The message in ``language`` from its stored parts, else ``fallback`` (what was
    stored before parts were kept, or parts this version does not know); ``names`` as for
    :func:`word_parts`."""
    if not is_parts(parts) or not parts:
        return fallback
    try:
        return word_parts(language, parts, names=names)
    except (KeyError, IndexError, ValueError):
        return fallback

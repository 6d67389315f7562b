"""One catalog of every word Reprise shows to people, in French and in English.

Each language is a flat table of ``section.name`` keys (``report.status``, ``alert.down``,
``step.command``…) in its own module, with the ``probe.*`` words of ``probes`` merged in;
both tables have the same keys and each text the same ``{placeholders}``
(tests/unit/test_words.py checks it), so nothing is ever half translated. This package
sits on a low floor: it imports nothing of Reprise but errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Formatter
from types import MappingProxyType

from reprise.errors import InputError
from reprise.words import (
    audit,
    clock,
    doctor,
    en,
    exercise,
    fr,
    probes,
    sla,
    status_page,
    terminal,
    web,
)

CATALOG: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        language: MappingProxyType(
            {
                **table,
                **probes.WORDS[language],
                **sla.WORDS[language],
                **audit.WORDS[language],
                **exercise.WORDS[language],
                **web.WORDS[language],
                **status_page.WORDS[language],
                **doctor.WORDS[language],
                **clock.WORDS[language],
                **terminal.WORDS[language],
            }
        )
        for language, table in (("fr", fr.WORDS), ("en", en.WORDS))
    }
)
"""Language → key → text."""

LANGUAGES = tuple(CATALOG)
"""The languages Reprise speaks."""


def words(language: str, section: str = "") -> Mapping[str, str]:
    """The texts of one language; with ``section`` (``"report"``), only that section's,
    keyed without the ``report.`` prefix (what a template reads as ``t.status``)."""
    try:
        table = CATALOG[language]
    except KeyError:
        raise InputError(f"no language {language!r}", hint="use fr or en") from None
    if not section:
        return table
    prefix = f"{section}."
    return {key[len(prefix) :]: text for key, text in table.items() if key.startswith(prefix)}


def say(language: str, key: str, **params: object) -> str:
    """One text of the catalog with its ``{placeholders}`` filled in."""
    return words(language)[key].format(**params)


def placeholders(text: str) -> set[str]:
    """The ``{names}`` a text expects (what both languages of a key must agree on)."""
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}

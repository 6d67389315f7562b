"""The words catalog: both languages complete, with the same placeholders, and a text for
every kind of procedure step."""

from __future__ import annotations

from typing import get_args

import pytest

from reprise.errors import InputError
from reprise.plan.steps import Step
from reprise.words import CATALOG, LANGUAGES, placeholders, say, words


def test_every_key_is_in_every_language() -> None:
    keys = {language: set(table) for language, table in CATALOG.items()}
    for language in LANGUAGES:
        for other in LANGUAGES:
            missing = keys[other] - keys[language]
            assert missing == set(), f"{language} lacks {sorted(missing)}"


def test_both_texts_of_a_key_have_the_same_placeholders() -> None:
    first, *others = LANGUAGES
    for key, text in CATALOG[first].items():
        for language in others:
            assert placeholders(CATALOG[language].get(key, text)) == placeholders(text), key


def test_no_text_is_empty() -> None:
    for language, table in CATALOG.items():
        assert [key for key, text in table.items() if not text.strip()] == [], language


def test_every_step_kind_has_its_words() -> None:
    union = get_args(get_args(Step)[0])
    kinds = {get_args(model.model_fields["kind"].annotation)[0] for model in union}
    assert kinds, "no step kind found"
    for language in LANGUAGES:
        assert {f"step.{kind}" for kind in kinds} - set(CATALOG[language]) == set(), language


def test_say_fills_placeholders_and_sections_drop_their_prefix() -> None:
    assert (
        say("en", "alert.recovered", name="db", duration="5 min") == "db is up again after 5 min."
    )
    assert words("fr", "report")["status"] == "Statut"
    with pytest.raises(InputError, match="no language 'de'"):
        words("de")


def test_placeholders_are_the_names_between_braces() -> None:
    assert placeholders("{a} and {b}, {a}") == {"a", "b"}
    assert placeholders("none") == set()

"""The SQL that recreates a database's own properties under any name, quoted by psycopg."""

from __future__ import annotations

import pytest

from reprise.pg.database_properties import create_statement, setting_value, split_list_setting

FACTS = {
    "owner": "Comptable Été",
    "encoding": "LATIN1",
    "collate": "C",
    "ctype": "C",
    "locale_provider": "libc",
    "locale": None,
    "icu_rules": None,
    "tablespace": "pg_default",
}


@pytest.mark.parametrize(
    ("stored", "elements"),
    [
        ('"Ventes 2026", public, "weird""quote"', ["Ventes 2026", "public", 'weird"quote']),
        ("public", ["public"]),
        ('""', [""]),
        ("$user,public", ["$user", "public"]),
    ],
)
def test_list_settings_are_split_as_pg_dump_splits_them(stored: str, elements: list[str]) -> None:
    assert split_list_setting(stored) == elements


def test_a_list_setting_becomes_one_literal_per_element_and_others_one_literal() -> None:
    name, value = setting_value('search_path="Ventes 2026", public')
    assert name == "search_path"
    assert value.as_string(None) == "'Ventes 2026', 'public'"
    name, value = setting_value("DateStyle=ISO, DMY")
    assert name == "DateStyle" and value.as_string(None) == "'ISO, DMY'"


def test_create_database_carries_owner_encoding_and_locale_under_the_new_name() -> None:
    text = create_statement(
        'copie "2" été', FACTS, target_version=150000, tablespace=False
    ).as_string(None)
    assert text == (
        'CREATE DATABASE "copie ""2"" été" WITH TEMPLATE = template0 '
        "OWNER = \"Comptable Été\" ENCODING = 'LATIN1' LOCALE_PROVIDER = libc "
        "LC_COLLATE = 'C' LC_CTYPE = 'C'"
    )


def test_an_icu_database_keeps_its_icu_locale_and_a_tablespace_is_named_when_present() -> None:
    facts = {
        **FACTS,
        "encoding": "UTF8",
        "locale_provider": "icu",
        "locale": "fr-FR",
        "icu_rules": "&a < b",
        "tablespace": "rapide",
    }
    text = create_statement("ventes", facts, target_version=160000, tablespace=True).as_string(None)
    assert "LOCALE_PROVIDER = icu" in text and "ICU_LOCALE = 'fr-FR'" in text
    assert "ICU_RULES = '&a < b'" in text and text.endswith('TABLESPACE = "rapide"')


def test_a_server_before_15_gets_no_locale_provider() -> None:
    text = create_statement("x", FACTS, target_version=140000, tablespace=False).as_string(None)
    assert "LOCALE_PROVIDER" not in text and "LC_CTYPE = 'C'" in text

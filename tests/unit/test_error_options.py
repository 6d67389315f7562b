"""Request settings named in core messages: each door spells them its own way."""

from __future__ import annotations

from reprise.errors import InputError, cli_flag, option, render_options


def test_the_cli_spells_a_setting_as_its_flag() -> None:
    assert cli_flag("overwrite") == "--overwrite"
    assert cli_flag("target_dir") == "--target-dir"
    assert cli_flag("as_name") == "--as"  # `as` is a Python keyword, the flag is not


def test_an_error_keeps_the_reference_and_renders_it_per_door() -> None:
    error = InputError(
        f"{option('as_name')} renames one database",
        hint=f"add {option('database')} NAME, or restore again with {option('clean')}",
    )
    assert error.options == ["as_name", "database", "clean"]
    assert (
        str(error)
        == "--as renames one database\nFix: add --database NAME, or restore again with --clean"
    )
    labels = {"as_name": "« New name »", "database": "« Database »", "clean": "« Replace »"}
    message, hint = error.render(labels.__getitem__)
    assert message == "« New name » renames one database"
    assert hint == "add « Database » NAME, or restore again with « Replace »"


def test_text_without_references_is_left_alone() -> None:
    text = "docker ps --format '{{.Names}}' and {braces} stay as they are"
    assert render_options(text) == text

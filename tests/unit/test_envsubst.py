"""${VAR} expansion and the strict .env reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from reprise.plan.envsubst import EnvFileError, Substitution, read_env_file
from reprise.plan.yamlsource import load_yaml


def expand(text: str, variables: dict[str, str]) -> tuple[object, Substitution]:
    data, source = load_yaml(text, "plan.yaml")
    substitution = Substitution(variables, source, None)
    return substitution.expand(data), substitution


def test_variables_defaults_and_literal_dollars() -> None:
    result, substitution = expand(
        'a: "${HOST}:${PORT:-5432}"\nb: "$$HOME stays"\nc: "${EMPTY:-fallback}"\n',
        {"HOST": "db", "EMPTY": ""},
    )
    assert substitution.issues == []
    assert result == {"a": "db:5432", "b": "$HOME stays", "c": "fallback"}


def test_an_unset_variable_is_located_and_the_fix_named() -> None:
    _, substitution = expand("a:\n  dsn: postgresql://u:${DB_PASSWORD}@h/db\n", {})
    [issue] = substitution.issues
    assert (issue.line, issue.path) == (2, "a.dsn")
    assert "${DB_PASSWORD:-default}" in (issue.hint or "")


def test_a_variable_cannot_inject_yaml_structure() -> None:
    hostile = "x\ncommand: rm -rf /"
    result, _ = expand("host: ${EVIL}\n", {"EVIL": hostile})
    assert result == {"host": hostile}


def test_malformed_references_are_reported() -> None:
    _, substitution = expand("a: ${not valid}\n", {})
    assert "not a valid variable reference" in substitution.issues[0].message


def test_env_file_reads_quotes_exports_and_comments(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "# comment\nexport A=1\nB=\"two words\" # note\nC='single'\n"
        'D=plain # trailing\n\nE="line\\nbreak"\n'
    )
    assert read_env_file(env) == {
        "A": "1",
        "B": "two words",
        "C": "single",
        "D": "plain",
        "E": "line\nbreak",
    }


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("A=1\nthis is not a line\n", 2),
        ('A="unterminated\n', 1),
        ("1A=bad name\n", 1),
    ],
)
def test_env_file_lines_that_cannot_be_read_are_errors(
    tmp_path: Path, content: str, line: int
) -> None:
    env = tmp_path / ".env"
    env.write_text(content)
    with pytest.raises(EnvFileError) as caught:
        read_env_file(env)
    assert caught.value.issue.line == line

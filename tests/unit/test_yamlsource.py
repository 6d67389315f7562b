"""The YAML reader keeps positions and refuses what PyYAML silently accepts."""

from __future__ import annotations

import pytest

from reprise.plan.yamlsource import MAX_VALUES, YamlSourceError, format_path, load_yaml


def test_positions_of_values_and_keys_are_one_based() -> None:
    data, source = load_yaml("a:\n  b: [1, 2]\n  c: {d: x}\n", "f.yaml")
    assert data == {"a": {"b": [1, 2], "c": {"d": "x"}}}
    assert source.values[("a", "b", 1)].line == 2
    assert source.values[("a", "b", 1)].column == 10
    assert source.keys[("a", "c")].line == 3
    assert source.keys[("a", "c")].column == 3


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    _, source = load_yaml("a:\n  b: 1\n", "f.yaml")
    mark = source.locate(("a", "missing", 3))
    assert mark is not None
    assert mark.line == 2


def test_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(YamlSourceError) as caught:
        load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    issue = caught.value.issue
    assert issue.line == 3
    assert "first written at line 1" in issue.message


def test_billion_laughs_is_refused_before_it_expands() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    with pytest.raises(YamlSourceError) as caught:
        load_yaml("\n".join(lines), "bomb.yaml")
    assert str(MAX_VALUES) in caught.value.issue.message


def test_recursive_aliases_are_refused() -> None:
    with pytest.raises(YamlSourceError) as caught:
        load_yaml("a: &x [*x]\n", "f.yaml")
    assert "nested" in caught.value.issue.message


def test_merge_keys_work_and_local_keys_win() -> None:
    data, _ = load_yaml(
        "base: &b {interval: 30s, retries: 2}\ncheck: {<<: *b, retries: 5}\n", "f.yaml"
    )
    assert data["check"] == {"interval": "30s", "retries": 5}


@pytest.mark.parametrize(
    "text", ["a: !!python/object/apply:os.system ['true']", "a: !custom 1", "a: !!binary aGVsbG8="]
)
def test_custom_tags_are_refused(text: str) -> None:
    with pytest.raises(YamlSourceError) as caught:
        load_yaml(text, "f.yaml")
    assert "tag" in caught.value.issue.message


def test_several_documents_are_refused() -> None:
    with pytest.raises(YamlSourceError) as caught:
        load_yaml("a: 1\n---\nb: 2\n", "f.yaml")
    assert caught.value.issue.line == 3  # where the second document starts


def test_syntax_errors_carry_the_position() -> None:
    with pytest.raises(YamlSourceError) as caught:
        load_yaml("a:\n  b: 1\n c: 2\n", "f.yaml")
    assert caught.value.issue.line == 3
    assert "YAML syntax error" in caught.value.issue.message


def test_an_unquoted_variable_in_a_flow_mapping_gets_a_specific_hint() -> None:
    with pytest.raises(YamlSourceError) as caught:
        load_yaml("organisation: {name: ${ORG}, timezone: UTC}\n", "f.yaml")
    assert 'name: "${ORG}"' in (caught.value.issue.hint or "")


def test_yes_and_on_as_keys_stay_words() -> None:
    data, _ = load_yaml("on: 1\nyes: 2\n", "f.yaml")
    assert data == {"on": 1, "yes": 2}


def test_dates_stay_text_for_the_model_to_parse() -> None:
    data, _ = load_yaml("holidays: [2026-12-25]\n", "f.yaml")
    assert data == {"holidays": ["2026-12-25"]}


def test_format_path() -> None:
    assert format_path(("services", 3, "checks", 0, "port")) == "services[3].checks[0].port"
    assert format_path(()) == ""

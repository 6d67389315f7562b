"""Turn pydantic validation errors into located, actionable plan issues.

Pydantic says ``('services', 3, 'tcp', 'prot'): Extra inputs are not permitted``; a person
needs ``reprise.yaml:41:9: services[3].checks[0].prot: unknown key 'prot'. Fix: did you mean
'port'?``. This module walks the model along the error's location to know which keys were
valid there, drops the union tags pydantic inserts, finds the line in the source map, and
writes a message and a fix for each kind of error.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from reprise.errors import PlanIssue
from reprise.plan.yamlsource import Path_, SourceMap, format_path

_MAX_SHOWN = 60


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _union_members(annotation: Any) -> list[Any]:
    annotation = _strip_annotated(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [_strip_annotated(member) for member in get_args(annotation)]
    return [annotation]


def _model_for_tag(annotation: Any, tag: str) -> type[BaseModel] | None:
    for member in _union_members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            kind = member.model_fields.get("kind")
            if kind is not None and tag in get_args(_strip_annotated(kind.annotation)):
                return member
    return None


def input_keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts in the plan (aliases where a field has one)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if (field.alias or name) == key:
            return field.annotation
    return None


class _Walk:
    """Follow a pydantic error location through the model and the document together."""

    def __init__(self, root: type[BaseModel], data: Any) -> None:
        self.root = root
        self.data = data

    def resolve(self, loc: tuple[str | int, ...]) -> tuple[Path_, Any, Any]:
        """Return the document path (union tags removed), the annotation reached and the
        document value there (or None when absent)."""
        annotation: Any = self.root
        value: Any = self.data
        path: list[str | int] = []
        for part in loc:
            if part == "[key]":
                continue
            members = _union_members(annotation)
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            model = models[0] if models else None
            if (
                len(models) > 1
                and isinstance(part, str)
                and isinstance(value, dict)
                and value.get("kind") == part
            ):
                # The tag pydantic inserts after a discriminated union, not a document key
                # (a `command` source also has a `command` key: the model tells them apart).
                annotation = _model_for_tag(annotation, part) or annotation
                continue
            if (
                isinstance(part, str)
                and model is None
                and any(get_origin(m) is Literal for m in members)
            ):
                continue  # pydantic names the union branch ('literal['all']', 'list[str]')
            path.append(part)
            value = _step_into(value, part)
            annotation = _annotation_of(annotation, part)
        return tuple(path), annotation, value


def _step_into(value: Any, part: str | int) -> Any:
    if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
        return value[part]
    if isinstance(part, str) and isinstance(value, dict):
        return value.get(part)
    return None


def _annotation_of(annotation: Any, part: str | int) -> Any:
    for member in _union_members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel) and isinstance(part, str):
            found = _field_by_key(member, part)
            if found is not None:
                return found
        origin = get_origin(member)
        if origin is list and isinstance(part, int):
            return get_args(member)[0]
        if origin is dict and isinstance(part, str):
            return get_args(member)[1]
    return None


def _models_at(annotation: Any, value: Any) -> list[type[BaseModel]]:
    """The model(s) that apply to a mapping at this place of the plan."""
    members = _union_members(annotation)
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if len(models) > 1 and isinstance(value, dict):
        tagged = _model_for_tag(annotation, str(value.get("kind")))
        if tagged is not None:
            return [tagged]
    return models


def _closest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 50 else text[:47] + "..."


def _choices(expected: str) -> list[str]:
    return [
        choice.strip().strip("'\"")
        for choice in expected.replace(" or ", ", ").split(",")
        if choice.strip()
    ]


def _describe(
    error: ErrorDetails, key: str | int | None, parent_models: list[type[BaseModel]]
) -> tuple[str, str | None]:
    """Message and fix for one pydantic error."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = error.get("input")

    if kind == "extra_forbidden":
        valid = sorted({k for model in parent_models for k in input_keys(model)})
        suggestion = _closest(str(key), valid)
        if suggestion:
            return f"unknown key {key!r}", f"did you mean {suggestion!r}?"
        return f"unknown key {key!r}", "remove it; valid keys here: " + ", ".join(valid)
    if kind == "missing":
        example = _example_for(parent_models, key)
        described = _description(parent_models, str(key))
        fix = f"add {key}: {example}" if example else f"add {key}: <value>"
        return f"required key {key!r} is missing", fix + (f" ({described})" if described else "")
    if kind == "union_tag_invalid":
        expected = _choices(ctx.get("expected_tags", ""))
        tag = ctx.get("tag")
        suggestion = _closest(str(tag), expected)
        fix = (
            f"did you mean {suggestion!r}?" if suggestion else "use one of: " + ", ".join(expected)
        )
        return f"unknown kind {tag!r}", fix
    if kind == "union_tag_not_found":
        return "this entry has no 'kind'", "add kind: <one of the kinds listed in the docs>"
    if kind in {"literal_error", "enum"}:
        expected = _choices(ctx.get("expected", ""))
        suggestion = _closest(str(got), expected)
        fix = (
            f"did you mean {suggestion!r}?" if suggestion else "use one of: " + ", ".join(expected)
        )
        return f"{_show(got)} is not allowed here", fix
    if "hint" in ctx:  # our own PydanticCustomError (units, ids, cross-field rules)
        return error["msg"], str(ctx["hint"])
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("more than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        word, name = bounds[kind]
        limit = ctx.get(name)
        return f"must be {word} {limit} (got {_show(got)})", f"use a value {word} {limit}"
    if kind in {"too_short", "too_long"}:
        return error["msg"].rstrip("."), (
            "add at least one entry" if kind == "too_short" else "remove entries"
        )
    if kind == "string_pattern_mismatch":
        example = _example_for(parent_models, key)
        return (
            f"{_show(got)} does not have the expected form",
            f"write it like {example!r}" if example else None,
        )
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return (
            f"expected a mapping (key: value), got {_kind_of(got)}",
            "indent the keys under this one, one per line",
        )
    if kind == "list_type":
        return f"expected a list, got {_kind_of(got)}", "write a YAML list: [a, b] or '- a' lines"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"expected a whole number, got {_show(got)}", "write a number without quotes"
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number, got {_show(got)}", "write a number without quotes"
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false, got {_show(got)}", "write true or false"
    if kind in {"string_type"}:
        return f"expected text, got {_kind_of(got)}", "quote the value"
    if kind in {"date_parsing", "date_from_datetime_parsing", "date_type"}:
        return f"expected a date, got {_show(got)}", "write a date as YYYY-MM-DD"
    message = error["msg"].removeprefix("Value error, ").rstrip(".")
    return message, None


def _description(models: list[type[BaseModel]], key: str) -> str | None:
    field = _field_info(models, key)
    if field is not None and field.description:
        return field.description.rstrip(".")
    return None


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{_show(value)}"


def _field_info(models: list[type[BaseModel]], key: str) -> FieldInfo | None:
    for model in models:
        for name, field in model.model_fields.items():
            if (field.alias or name) == key:
                return field
    return None


def _as_yaml(value: Any) -> str:
    """An example as one would write it in the plan: ``{keep_daily: 7}``, ``[a, b]``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_as_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_as_yaml(v) for v in value) + "]"
    return str(value)


def _example_for(models: list[type[BaseModel]], key: str | int | None) -> str | None:
    """An example value for a key, from the model's field examples or its type."""
    field = _field_info(models, str(key))
    if field is None:
        return None
    if field.examples:
        return _as_yaml(field.examples[0])
    for item in field.metadata:
        examples = (getattr(item, "json_schema", None) or {}).get("examples")
        if examples:
            return str(examples[0])
    annotation = _strip_annotated(field.annotation)
    if get_origin(annotation) is Literal:
        return " | ".join(str(choice) for choice in get_args(annotation))
    if any(isinstance(m, type) and issubclass(m, BaseModel) for m in _union_members(annotation)):
        return "{...}"
    if get_origin(annotation) is list:
        return "[...]"
    return None


def _misspellings(errors: list[ErrorDetails], walk: _Walk) -> set[tuple[str | int, ...]]:
    """Locations of 'missing' errors explained by a misspelt key beside them.

    ``criticalty: major`` makes pydantic report both an unknown key and a missing
    ``criticality``; one line saying "did you mean 'criticality'?" is the whole truth.
    """
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    explained: set[tuple[str | int, ...]] = set()
    for error in errors:
        if error["type"] != "extra_forbidden":
            continue
        loc = tuple(error["loc"])
        _, parent_annotation, parent_value = walk.resolve(loc[:-1])
        valid = {
            k for model in _models_at(parent_annotation, parent_value) for k in input_keys(model)
        }
        suggestion = _closest(str(loc[-1]), valid)
        if suggestion is not None and (*loc[:-1], suggestion) in missing:
            explained.add((*loc[:-1], suggestion))
    return explained


def translate(
    error: ValidationError, data: Any, source: SourceMap, root: type[BaseModel]
) -> list[PlanIssue]:
    """Located issues for every error pydantic found, in file order."""
    walk = _Walk(root, data)
    details_list = error.errors(include_url=False)
    explained = _misspellings(details_list, walk)
    issues: list[PlanIssue] = []
    seen: set[tuple[str, str]] = set()
    for details in details_list:
        loc = tuple(details["loc"])
        if details["type"] == "missing" and loc in explained:
            continue
        path, _, _ = walk.resolve(loc)
        parent_path, parent_annotation, parent_value = (
            walk.resolve(loc[:-1]) if loc else ((), root, data)
        )
        key = path[-1] if path else None
        parent_models = _models_at(parent_annotation, parent_value)
        message, hint = _describe(details, key, parent_models)
        if (
            details["type"] == "extra_forbidden"
            and hint
            and hint.startswith("did you mean")
            and (*loc[:-1], hint.split("'")[1]) in explained
        ):
            hint += " (it is required)"
        if details["type"] == "union_tag_invalid":
            path = (*path, "kind")  # point at the misspelt kind, not the whole entry
        signature = (format_path(path), message)
        if signature in seen:
            continue
        seen.add(signature)
        issues.append(
            source.issue(
                path,
                message,
                hint,
                prefer_key=details["type"] == "extra_forbidden",
                at=parent_path if details["type"] == "missing" else path,
            )
        )
    issues.sort(key=lambda issue: (issue.line or 0, issue.column or 0))
    return issues[:_MAX_SHOWN]

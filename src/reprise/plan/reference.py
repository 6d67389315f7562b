"""The plan reference (docs/plan-reference.md), generated from the model so that every key
is documented and the documentation cannot drift from the code.

    python -m reprise.plan.reference > docs/plan-reference.md
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from datetime import timedelta
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from reprise.plan import checks, common, model, sources, steps, units

_VALIDATOR_NAMES: dict[Callable[..., Any], str] = {
    units._positive_duration: "duration",
    units.parse_duration: "duration",
    units.parse_size: "size",
    units.parse_percent: "percentage",
    units.parse_schedule: "schedule",
    units.parse_time_of_day: "time (HH:MM)",
    common._identifier: "id",
    common._host: "host",
    common._regex: "regex",
    common._plan_path: "path",
    common._absolute_path: "absolute path",
    common._dsn: "PostgreSQL DSN",
    model._contact: "Apprise URL",
    model._timezone: "time zone",
    model._weekdays: "days",
    model._recipient: "age recipient",
    model._response: "duration or next_business_day",
    sources._databases: "all or list of names",
}


def _kind(member: type[BaseModel]) -> str:
    return str(get_args(member.model_fields["kind"].annotation)[0])


_SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("Plan (top level)", model.Plan),
    ("organisation", model.Organisation),
    ("organisation.business_hours", model.BusinessHours),
    ("objectives", model.Objectives),
    ("priorities", model.Priorities),
    ("priorities.P1 / P2 / P3", model.Priority),
    ("roles[]", model.Role),
    ("roles[].members[]", model.Member),
    ("communication", model.Communication),
    ("alerting", model.Alerting),
    *(
        (f"repositories.NAME (kind: {_kind(member)})", member)
        for member in get_args(get_args(model.Repository)[0])
    ),
    ("repositories.NAME.object_lock", model.ObjectLock),
    ("keys", model.Keys),
    ("state", model.StateSettings),
    ("sla", model.Sla),
    ("audit", model.Audit),
    ("services[]", model.Service),
    ("services[].objectives", model.ObjectiveOverrides),
    ("services[].drill", model.Drill),
    ("services[].backups[].retention", sources.Retention),
    ("scenarios[]", model.Scenario),
    ("scenarios[].parameters[]", model.ScenarioParameter),
]


def _kind_sections() -> Iterator[tuple[str, type[BaseModel]]]:
    for title, union in (
        ("services[].checks[]", checks.Check),
        ("services[].backups[]", sources.BackupSource),
        ("services[].procedure[] and scenarios[].steps[]", steps.Step),
    ):
        for member in get_args(get_args(union)[0]):
            yield f"{title} (kind: {_kind(member)})", member


def _section_titles() -> dict[type[BaseModel], str]:
    titles: dict[type[BaseModel], str] = {}
    for title, model_class in [*_SECTIONS, *_kind_sections()]:
        titles.setdefault(model_class, title.split(" (kind")[0])
    return titles


def _union_label(members: list[Any]) -> str | None:
    models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
    if len(models) < 2 or not all("kind" in m.model_fields for m in models):
        return None
    kinds = [str(get_args(m.model_fields["kind"].annotation)[0]) for m in models]
    return "one of the kinds " + ", ".join(kinds) + " (sections below)"


def _validator_name(metadata: list[Any]) -> str | None:
    for item in metadata:
        func = getattr(item, "func", None)
        if func in _VALIDATOR_NAMES:
            return _VALIDATOR_NAMES[func]
    return None


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A short human name for a field's type: ``duration``, ``list of id``, ``P1 | P2``."""
    named = _validator_name(list(metadata or []))
    if get_origin(annotation) is typing.Annotated:
        inner, *extra = get_args(annotation)
        return type_name(inner, [*(metadata or []), *extra])
    if named:
        return named
    origin = get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(str(value) for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        return _union_label(members) or " or ".join(type_name(m) for m in members)
    if origin is list:
        item = type_name(get_args(annotation)[0])
        return (
            "list; each: " + item.removeprefix("mapping: ")
            if item.startswith("mapping")
            else "list of " + item
        )
    if origin is dict:
        return "mapping of " + type_name(get_args(annotation)[1])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        title = _section_titles().get(annotation)
        return f"mapping: see *{title}*" if title else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " \\| ".join(str(member.value) for member in annotation)
    names = {
        str: "text",
        int: "integer",
        float: "number",
        bool: "true/false",
        timedelta: "duration",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except TypeError:
            return ""
        if isinstance(value, BaseModel):
            return "see section"
        return "" if value in ([], {}) else f"`{_show(value)}`"
    if field.default is None or field.default is PydanticUndefined:
        return ""
    return f"`{_show(field.default)}`"


def _show(value: Any) -> str:
    if isinstance(value, timedelta):
        return units.format_duration(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def _table(model_class: type[BaseModel]) -> list[str]:
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for name, field in model_class.model_fields.items():
        key = field.alias or name
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| `{key}` | {type_name(field.annotation, field.metadata)} | "
            f"{_default(field)} | {description} |"
        )
    return lines


def render_reference() -> str:
    """The whole reference as Markdown."""
    out = [
        "# Plan reference (`reprise.yaml`)",
        "",
        "Generated from the model by `python -m reprise.plan.reference`; do not edit by hand",
        "(a test fails when this file and the code disagree). `reprise plan schema` prints",
        "the same as JSON Schema for editors.",
        "",
        "Value types: a *duration* is written `30s`, `15m`, `4h`, `1d`, `2w` or `1h30m` (a",
        "bare number is refused: seconds or minutes?); a *size* `512MiB`, `10GiB` or `2GB`;",
        "a *percentage* `99.9%`; a *schedule* is a five-field cron expression (six with",
        "seconds last, for tests and demos) or `@hourly`, `@daily`, `@weekly`, `@monthly`, and",
        "must fire (`0 0 30 2 *` is refused); an *id* is lowercase letters, digits, `-` and `_`.",
        "Relative *paths* are read from the plan file's directory. Any value may use",
        "`${VAR}` or `${VAR:-default}` from the environment or a `.env` file beside the plan.",
        "",
    ]
    for title, model_class in [*_SECTIONS, *_kind_sections()]:
        doc = (model_class.__doc__ or "").strip().split("\n\n")[0]
        doc = " ".join(doc.split())
        out += [f"## {title}", "", doc, "", *_table(model_class), ""]
    return "\n".join(out)


if __name__ == "__main__":
    print(render_reference(), end="")  # noqa: T201 - a generator script

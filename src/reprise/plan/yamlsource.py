"""Read a YAML document into plain Python values while remembering where each value was.

PyYAML's safe loader loses positions, silently keeps the last of two duplicate keys, and
happily expands alias bombs. This module composes the node graph (which never expands
aliases) and builds the values itself, so that:

- every value and every mapping key has a ``file:line:column``;
- a duplicate key is an error naming both lines;
- aliases and merge keys (``<<: *defaults``) work, but the expanded document is bounded in
  size and depth, so a "billion laughs" plan is refused instead of eating the memory;
- only the YAML core types are built (no ``!!python/object`` or other custom tags).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from reprise.errors import PlanIssue

MAX_FILE_BYTES = 4 * 1024 * 1024
"""A plan is a few hundred lines; anything above a few MiB is a mistake or an attack."""
MAX_VALUES = 200_000
"""Upper bound on the values of the expanded document (aliases counted each time used)."""
MAX_DEPTH = 64

Path_ = tuple[str | int, ...]
"""A position inside the document: ``("services", 3, "checks", 0, "port")``."""


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column in the source file."""

    line: int
    column: int


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document was written."""

    file: str
    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)

    def locate(self, path: Path_, *, prefer_key: bool = False) -> Mark | None:
        """The mark of ``path``, or of its nearest ancestor present in the source."""
        probe = path
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for marks in table:
                if probe in marks:
                    return marks[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def issue(
        self,
        path: Path_,
        message: str,
        hint: str | None = None,
        *,
        prefer_key: bool = False,
        at: Path_ | None = None,
    ) -> PlanIssue:
        """An issue about ``path``, located at ``at`` (default: ``path``) or its nearest
        ancestor written in the file."""
        mark = self.locate(path if at is None else at, prefer_key=prefer_key)
        return PlanIssue(
            self.file,
            mark.line if mark else None,
            mark.column if mark else None,
            format_path(path),
            message,
            hint,
        )


class YamlSourceError(Exception):
    """The document is not acceptable YAML; carries a located issue."""

    def __init__(self, issue: PlanIssue) -> None:
        super().__init__(issue.render())
        self.issue = issue


class _Builder:
    """Turn a composed node graph into plain values, recording marks as it goes."""

    def __init__(self, file: str) -> None:
        self.source = SourceMap(file)
        self.count = 0
        self._constructor = yaml.SafeLoader.__new__(yaml.SafeLoader)
        yaml.constructor.SafeConstructor.__init__(self._constructor)

    def _issue(
        self, node: yaml.Node, message: str, hint: str | None = None, path: Path_ = ()
    ) -> YamlSourceError:
        mark = node.start_mark
        return YamlSourceError(
            PlanIssue(
                self.source.file, mark.line + 1, mark.column + 1, format_path(path), message, hint
            )
        )

    def build(self, node: yaml.Node, path: Path_ = (), depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            # Report the top-level entry being expanded: the deep path inside it means nothing.
            raise YamlSourceError(
                self.source.issue(
                    path[:1],
                    f"the document expands to more than {MAX_VALUES} values "
                    "(an alias bomb, or a generated file that is not a plan)",
                    "write the plan without deeply nested aliases",
                    prefer_key=True,
                )
            )
        if depth > MAX_DEPTH:
            raise self._issue(
                node,
                f"the document is nested more than {MAX_DEPTH} levels deep",
                "flatten the structure",
                path,
            )
        self.source.values.setdefault(
            path, Mark(node.start_mark.line + 1, node.start_mark.column + 1)
        )
        expected = (
            "tag:yaml.org,2002:map"
            if isinstance(node, yaml.MappingNode)
            else "tag:yaml.org,2002:seq"
            if isinstance(node, yaml.SequenceNode)
            else None
        )
        if expected is not None and node.tag != expected:
            raise self._issue(
                node,
                f"the tag {node.tag!r} is not allowed in a plan",
                "remove the tag; plans hold plain strings, numbers, lists and mappings",
                path,
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [
                self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)
            ]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: Path_) -> Any:
        assert isinstance(node, yaml.ScalarNode)
        tag = node.tag
        known = {
            "tag:yaml.org,2002:null",
            "tag:yaml.org,2002:bool",
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
            "tag:yaml.org,2002:str",
            "tag:yaml.org,2002:timestamp",
        }
        if tag not in known:
            raise self._issue(
                node,
                f"the tag {tag!r} is not allowed in a plan",
                "remove the tag; plans hold plain strings, numbers, lists and mappings",
                path,
            )
        if tag == "tag:yaml.org,2002:timestamp":
            # Dates and times stay text; the model parses them with the right time zone.
            return node.value
        try:
            value = self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as error:
            raise self._issue(
                node, f"cannot read this value: {error.problem}", "quote the value", path
            ) from None
        if isinstance(value, str) and not _is_encodable(value):
            # "\ud800" escapes make text no file, terminal or JSON document can hold.
            raise self._issue(
                node,
                "the text holds a lone UTF-16 surrogate (an escape such "
                "as \\ud800), which is not a character",
                "remove the escape or write the character itself",
                path,
            )
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.update(self._merge_source(value_node, path, depth))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._issue(
                    key_node,
                    "a mapping key must be a plain word",
                    "write keys as simple names such as 'port'",
                    path,
                )
            key = self._scalar(key_node, path)
            if not isinstance(key, str):
                # YAML 1.1 reads keys such as `on`, `yes` or `1` as booleans or numbers.
                key = str(key_node.value)
            if key in first_seen:
                raise self._issue(
                    key_node,
                    f"duplicate key {key!r} (first written at line {first_seen[key]})",
                    "keep one of the two; YAML would silently drop the first",
                    (*path, key),
                )
            first_seen[key] = key_node.start_mark.line + 1
            child = (*path, key)
            self.source.keys[child] = Mark(
                key_node.start_mark.line + 1, key_node.start_mark.column + 1
            )
            result[key] = self.build(value_node, child, depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_source(self, node: yaml.Node, path: Path_, depth: int) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self._issue(
                    source,
                    "a merge key (<<) needs a mapping or a list of them",
                    "point << at an anchored mapping: <<: *defaults",
                    path,
                )
            for key, value in self._mapping(source, path, depth + 1).items():
                merged.setdefault(key, value)
        return merged


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def format_path(path: Path_) -> str:
    """``("services", 3, "checks", 0, "port")`` → ``services[3].checks[0].port``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def load_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document and return its plain value with the source map.

    Raises YamlSourceError for syntax errors, several documents, unknown tags, duplicate
    keys and documents that are too large once aliases are expanded.
    """
    if len(text.encode("utf-8", errors="replace")) > MAX_FILE_BYTES:
        raise YamlSourceError(
            PlanIssue(
                file,
                None,
                None,
                "",
                f"the file is larger than {MAX_FILE_BYTES} bytes",
                "check that this is the plan you meant",
            )
        )
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except RecursionError:
        # PyYAML composes recursively: thousands of nested [ or { exhaust the stack first.
        raise YamlSourceError(
            PlanIssue(
                file,
                None,
                None,
                "",
                f"the document is nested more than {MAX_DEPTH} levels deep",
                "flatten the structure",
            )
        ) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = error.problem or error.context or "invalid YAML"
        hint = "check the indentation, and quote values that contain ': ', '#', '{' or '*'"
        lines = text.splitlines()
        source_line = lines[mark.line] if mark and mark.line < len(lines) else ""
        if "${" in source_line:
            hint = (
                'quote values that use ${VAR} inside { } or [ ], e.g. name: "${ORG}"; '
                "YAML reads the braces as a mapping"
            )
        raise YamlSourceError(
            PlanIssue(file, line, column, "", f"YAML syntax error: {problem}", hint)
        ) from None
    except yaml.YAMLError as error:  # e.g. a reader error on a control character
        raise YamlSourceError(
            PlanIssue(
                file,
                None,
                None,
                "",
                f"not readable as YAML: {error}",
                "save the plan as plain UTF-8 text",
            )
        ) from None
    if len(nodes) > 1:
        mark = nodes[1].start_mark
        raise YamlSourceError(
            PlanIssue(
                file,
                mark.line + 1,
                mark.column + 1,
                "",
                "the file holds several YAML documents",
                "keep a single document (remove the '---' lines)",
            )
        )
    builder = _Builder(file)
    if not nodes or nodes[0] is None:
        return None, builder.source
    return builder.build(nodes[0]), builder.source

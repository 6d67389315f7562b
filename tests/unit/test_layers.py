"""The import layers of the core, stated once and checked on every run.

Each floor may import only the floors below it (and itself); two packages on one floor do
not import each other. A back-arrow (a floor importing one above it) or an import cycle
between modules fails here, with the line that made it.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "reprise"

FLOORS: list[set[str]] = [
    {"reprise", "errors"},  # reprise/__init__.py: the version
    {"security", "libc"},
    {"paths", "words", "writeback"},
    {"plan"},
    {"store", "pg", "reports"},
    {"repository", "heartbeat", "accounts"},
    {"backup", "probes", "scaffold", "scheduler"},
    {"wal", "monitor"},
    {"restore", "alerts"},
    {"drill", "incidents", "sla"},
    {"orchestrators", "audit"},
    {"dashboard", "metrics", "statuspage", "doctor"},
    {"usecases"},
    {"web"},
    {"cli"},
    {"__main__"},
]
"""Bottom to top. ``reports`` renders view models that domains build, so it sits low and
imports no domain; ``monitor`` holds the board of states the alert engine reads; the
orchestrators (monitor daemon, status, runbook execution) run domains over time; use cases
are what every door calls; ``cli`` is a door."""

FLOOR_OF = {package: number for number, floor in enumerate(FLOORS) for package in floor}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "reprise"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Lines inside ``if TYPE_CHECKING:`` blocks (imports for annotations never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                for inner in ast.walk(child):
                    if hasattr(inner, "lineno"):
                        lines.add(inner.lineno)
    return lines


def _imports() -> list[tuple[str, str, int, bool]]:
    """(importing module, imported module, line, only for type checking) for every import
    of a reprise module, lazy ones inside functions included."""
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _type_checking_lines(tree)
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                if node.module.split(".")[0] == "reprise":
                    targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "reprise"]
            for target in targets:
                found.append((module, target, node.lineno, node.lineno in typing_only))
    return found


MODULES = {_module_name(path) for path in SOURCE.rglob("*.py")}


def test_every_package_has_a_floor() -> None:
    packages = {_package(module) for module in MODULES}
    assert packages - set(FLOOR_OF) == set(), "add the new package to FLOORS"


def test_no_import_goes_up_or_sideways() -> None:
    wrong = []
    for module, target, line, _typing in _imports():
        if target not in MODULES:
            continue
        source, imported = _package(module), _package(target)
        if source == imported:
            continue
        if FLOOR_OF[imported] >= FLOOR_OF[source]:
            wrong.append(f"{module}:{line} imports {target} ({source} → {imported})")
    assert wrong == []


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, target, _line, typing_only in _imports():
        if typing_only or target not in MODULES or target == module:
            continue
        if module.startswith(target + "."):
            continue  # a module importing its own package's __init__
        graph[module].add(target)
    cycles = _cycles(graph)
    assert cycles == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
    ],
)
def test_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    """The checker itself: a cycle is reported, a chain is not."""
    full: dict[str, set[str]] = defaultdict(set, graph)
    assert _cycles(full) == expected


CLI_RUNTIME_IMPORTS = (
    "reprise.cli",
    "reprise.usecases",
    "reprise.errors",
    "reprise.plan",
    "reprise.security",
    "reprise.reports",
    "reprise.words",
    "reprise.scaffold",
    "reprise.web.run",  # the web door, started by `reprise web` and `reprise serve`
)
"""What a CLI module may import when it runs: its own helpers, the use cases, and what
reading the plan, rendering and errors need. Everything else (the store, the repository,
backups, restores, incidents…) is reached through a use case; types only for annotations."""


def test_cli_reaches_the_core_only_through_use_cases() -> None:
    wrong = []
    for module, target, line, typing_only in _imports():
        if _package(module) != "cli" or typing_only or target not in MODULES:
            continue
        if target == "reprise" or target.startswith(CLI_RUNTIME_IMPORTS):
            continue
        wrong.append(f"{module}:{line} imports {target}")
    assert wrong == []


def _cli_flags() -> set[str]:
    import typer.main

    from reprise.cli.main import app

    flags: set[str] = set()
    pending = [typer.main.get_command(app)]
    while pending:
        command = pending.pop()
        flags.update(opt for param in command.params for opt in param.opts if opt[:2] == "--")
        pending.extend(getattr(command, "commands", {}).values())
    return flags - {"--help"}


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")

FLAGS_ALLOWED = {
    "plan/references.py": ("docker --format",),  # docker's own option, quoted in a hint
    "plan/sources.py": ("given --preserve-special",),  # the plan reference's own words
    "plan/importer.py": ("reprise incident update N --target",),  # a comment in the YAML
    "restore/pitr.py": ("reprise restore --pitr", "wal fetch --source "),  # written to files
    "wal/spool.py": ("reprise restore --pitr",),  # a comment of the script it writes
    "wal/select.py": ("reprise wal push %p --source NAME",),  # the postgresql.conf line
    "usecases/jobs.py": (" --plan ", " --cron"),  # crontab lines
}
"""Strings that are command lines or file contents, not messages to render."""


def _strings_outside_docstrings(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {  # a bare string statement documents, it is never shown to anyone
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if is_text and id(node) not in docstrings:
            found.append((node.lineno, node.value))
    return found


def test_core_messages_name_no_cli_flag() -> None:
    """Messages from the core refer to a request setting with ``errors.option(name)``; only
    the CLI spells it as a flag, so the web and the service can word it their way. A string
    that is only a flag (``"--jobs"``) is a program's argument, not a message."""
    flags = _cli_flags()
    wrong = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE).as_posix()
        if relative.startswith("cli/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _strings_outside_docstrings(tree):
            if FLAG.fullmatch(text.split("=", 1)[0].strip()):
                continue
            for flag in FLAG.findall(text):
                allowed = any(part in text for part in FLAGS_ALLOWED.get(relative, ()))
                if flag in flags and not allowed:
                    wrong.append(f"{relative}:{line}: {flag} in {text!r}")
    assert wrong == []

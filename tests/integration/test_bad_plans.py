"""Every malformed or hostile plan in tests/data/bad-plans gives one clear line: the file,
the line and column of the mistake, what is wrong and how to fix it; exit code 2; never a
traceback.

Each plan says what it expects in its header comments:
``# expect: <text>`` must appear in the message; ``# <-- error`` marks the line(s) the error
may point at; ``# expect-line: none`` when no line applies (a file's permissions);
``# expect-file: .env`` when the error is in another file; ``# chmod: FILE MODE`` sets a
mode first (git does not keep read permissions).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, run_reprise

BAD_PLANS = REPO / "tests" / "data" / "bad-plans"


@dataclass
class Case:
    name: str
    plan: Path
    expect: str
    lines: set[int] | None
    """Lines the error may point at; None when it must not give a line."""
    error_file: str
    chmods: list[tuple[str, int]]


def _load_case(entry: Path, work: Path) -> Case:
    copy = work / entry.name
    if entry.is_dir():
        shutil.copytree(entry, copy)
        plan = copy / "reprise.yaml"
    else:
        copy.mkdir()
        plan = copy / "reprise.yaml"
        shutil.copy(entry, plan)
    raw = plan.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    expect = re.search(r"^# expect: (.+)$", text, re.M)
    assert expect, f"{entry.name}: no '# expect:' header"
    line_header = re.search(r"^# expect-line: (\w+)$", text, re.M)
    if line_header and line_header.group(1) == "none":
        lines: set[int] | None = None
    elif line_header:
        lines = {int(line_header.group(1))}
    else:
        lines = {
            number for number, line in enumerate(text.splitlines(), 1) if "# <-- error" in line
        }
        assert lines, f"{entry.name}: mark the faulty line with '# <-- error'"
    other_file = re.search(r"^# expect-file: (.+)$", text, re.M)
    error_file = str(copy / other_file.group(1)) if other_file else str(plan)
    chmods = [
        (name, int(mode, 8)) for name, mode in re.findall(r"^# chmod: (\S+) (\d+)$", text, re.M)
    ]
    for name, mode in chmods:
        (copy / name).chmod(mode)
    return Case(entry.name, plan, expect.group(1), lines, error_file, chmods)


CASES = sorted(p.name for p in BAD_PLANS.iterdir())


def test_there_are_at_least_25_bad_plans() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", CASES)
def test_bad_plan_gives_one_located_line_with_a_fix(name: str, tmp_path: Path, cli) -> None:
    case = _load_case(BAD_PLANS / name, tmp_path)
    result = cli("plan", "validate", case.plan)
    assert result.exit_code == 2, result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    [line] = errors
    assert case.expect in line
    assert " Fix: " in line
    assert not re.search(r"(?<![${])\{[a-z_]+(![rs])?\}", line), "unformatted template"
    location = line.removeprefix("error: ")
    assert location.startswith(case.error_file + ":" if case.lines else case.error_file), line
    if case.lines is None:
        assert not re.match(re.escape(case.error_file) + r":\d+", location), line
    else:
        match = re.match(re.escape(case.error_file) + r":(\d+):(\d+): ", location)
        assert match, f"no file:line:column in {line!r}"
        assert int(match.group(1)) in case.lines, line


@pytest.mark.parametrize(
    "name",
    [
        "yaml-bomb.yaml",
        "python-object-tag.yaml",
        "world-readable-env",
        "non-utf8.yaml",
        "dependency-cycle.yaml",
    ],
)
def test_the_real_program_exits_2_without_a_traceback(name: str, tmp_path: Path) -> None:
    case = _load_case(BAD_PLANS / name, tmp_path)
    result = run_reprise("plan", "validate", case.plan)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert case.expect in result.stderr


def test_json_output_lists_the_located_error(tmp_path: Path, cli) -> None:
    case = _load_case(BAD_PLANS / "unknown-dependency.yaml", tmp_path)
    result = cli("plan", "validate", "--json", case.plan)
    import json

    report = json.loads(result.stdout)
    assert result.exit_code == 2
    assert report["valid"] is False
    [error] = report["errors"]
    assert error["line"] in case.lines  # type: ignore[operator]
    assert error["path"] == "services[1].depends_on[0]"
    assert error["hint"] == "did you mean 'router'?"


def test_the_hostile_tag_ran_nothing(tmp_path: Path, cli) -> None:
    case = _load_case(BAD_PLANS / "python-object-tag.yaml", tmp_path)
    cli("plan", "validate", case.plan)
    assert not Path("/tmp/pwned").exists()

"""`reprise completion SHELL` and `reprise man`, through the real program.

Bash is always here: its script is sourced in a real bash and the completion function is
driven the way bash drives it (COMP_WORDS, COMP_CWORD), running the installed `reprise`
console script (the lean door, which hands completion requests to the full CLI). zsh and
fish are not installed on every machine: when they are, their scripts must parse; in any
case the program must answer their requests in their format.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from reprise.cli.main import app
from reprise.cli.shell import man_page
from tests.conftest import REPO, run_reprise
from tests.support.completion import complete_in_bash

VENV_BIN = Path(sys.executable).parent
REPRISE = VENV_BIN / "reprise"

TREE = typer.main.get_command(app)


def _program_env() -> dict[str, str]:
    """The environment of a shell that finds the checkout's `reprise` first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_REPRISE_")}
    env.pop("REPRISE_NO_LEAN", None)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _script(shell: str, tmp_path: Path) -> Path:
    result = run_reprise("completion", shell)
    assert result.returncode == 0, result.stderr
    path = tmp_path / f"reprise.{shell}"
    path.write_text(result.stdout)
    return path


@pytest.fixture
def bash_complete(tmp_path: Path):
    """Complete a command line in a real bash with the generated script: `line` is what was
    typed before Tab (a trailing space starts a new word)."""
    script = _script("bash", tmp_path)

    def complete(line: str) -> list[str]:
        return complete_in_bash(script, line, _program_env())

    return complete


def test_the_console_script_is_on_the_path() -> None:
    assert REPRISE.is_file(), "the venv's console script (pip install -e .)"


def test_bash_completes_commands_subcommands_options_and_values(bash_complete) -> None:
    assert bash_complete("reprise ba") == ["backup"]
    backup = TREE.commands["backup"]
    assert set(bash_complete("reprise backup ")) == set(backup.commands)
    assert bash_complete("reprise backup ve") == ["verify"]
    assert bash_complete("reprise --plan ./site backup run --js") == ["--json"]
    assert "--source" in bash_complete("reprise backup run --")
    assert bash_complete("reprise --log-level ") == ["debug", "info", "warning", "error"]
    assert bash_complete("reprise completion ") == ["bash", "zsh", "fish"]
    every_command = set(bash_complete("reprise "))
    assert {"backup", "restore", "wal", "completion", "man"} <= every_command
    assert every_command == set(TREE.commands)


def test_bash_completion_of_wal_push_goes_past_the_lean_door(bash_complete) -> None:
    # `wal push` is what the lean door answers itself; completing it must not run it.
    assert bash_complete("reprise wal pu") == ["push", "pusher"]
    assert bash_complete("reprise wal push --so") == ["--source"]


def _answer(shell: str, words: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """The program's answer to a zsh or fish request, as their scripts ask it."""
    env = {**_program_env(), "_REPRISE_COMPLETE": f"complete_{shell}"}
    env |= {"_TYPER_COMPLETE_ARGS": words, **extra}
    return subprocess.run(
        [str(REPRISE)], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def test_zsh_script_parses_and_the_program_answers_in_zsh_format(tmp_path: Path) -> None:
    script = _script("zsh", tmp_path)
    text = script.read_text()
    # An autoloaded completion file: its first line names the command it completes.
    assert text.startswith("#compdef reprise\n")
    assert "_REPRISE_COMPLETE=complete_zsh reprise" in text
    assert "compdef _reprise_completion reprise" in text
    # Autoloaded from $fpath it must complete at once, not only register itself.
    assert "loadautofunc" in text
    zsh = shutil.which("zsh")
    if zsh is not None:
        checked = subprocess.run([zsh, "-n", script], capture_output=True, text=True, check=False)
        assert (checked.returncode, checked.stderr) == (0, "")
    # Without zsh on this machine the parse check above is skipped; the protocol is not.
    answer = _answer("zsh", "reprise backup ve")
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith('_arguments \'*: :(("verify":')


def test_fish_script_parses_and_the_program_answers_in_fish_format(tmp_path: Path) -> None:
    script = _script("fish", tmp_path)
    text = script.read_text()
    assert text.startswith("complete --command reprise ")
    assert "_REPRISE_COMPLETE=complete_fish" in text
    fish = shutil.which("fish")
    if fish is not None:
        checked = subprocess.run(
            [fish, "--no-execute", script], capture_output=True, text=True, check=False
        )
        assert (checked.returncode, checked.stderr) == (0, "")
        # fish completes a command line without a terminal: the real thing, end to end.
        program = f"source {shlex.quote(str(script))}; complete -C 'reprise backup '"
        shown = subprocess.run(
            [fish, "--no-config", "-c", program],
            capture_output=True,
            text=True,
            timeout=60,
            env={**_program_env(), "HOME": str(tmp_path)},
            check=False,
        )
        assert (shown.returncode, shown.stderr) == (0, "")
        offered = {line.split("\t", 1)[0] for line in shown.stdout.splitlines()}
        assert offered == set(TREE.commands["backup"].commands)
    # Without fish on this machine the checks above are skipped; the protocol is not.
    answer = _answer("fish", "reprise backup ", _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert answer.returncode == 0, answer.stderr
    candidates = dict(line.split("\t", 1) for line in answer.stdout.splitlines())
    assert set(candidates) == set(TREE.commands["backup"].commands)
    assert candidates["verify"].startswith("Prove backups intact")


def test_completion_help_says_where_each_script_goes(cli) -> None:
    result = cli("completion", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    for place in (
        "/usr/local/share/bash-completion/completions/reprise",
        "/etc/fish/completions/reprise.fish",
        "_reprise",
        "$fpath",
        "~/.config/fish/completions/reprise.fish",
    ):
        assert place in text


def test_unknown_shell_is_refused(cli) -> None:
    result = cli("completion", "tcsh")
    assert result.exit_code == 2
    assert "tcsh" in result.stderr


# -- the man page ---------------------------------------------------------------------------

SECTIONS = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "GLOBAL OPTIONS",
    "COMMANDS",
    "EXIT STATUS",
    "ENVIRONMENT",
    "FILES",
    "SEE ALSO",
]
MACROS = re.compile(r"^\.(TH|SH|SS|PP|TP|IP|B|I|br|nh|ad)( |$)")


def _paths(command, prefix: str = "reprise"):
    for name, sub in getattr(command, "commands", {}).items():
        if not sub.hidden:
            yield f"{prefix} {name}"
            yield from _paths(sub, f"{prefix} {name}")


@pytest.fixture(scope="module")
def page() -> str:
    result = run_reprise("man", env={"SOURCE_DATE_EPOCH": "1780000000"})
    assert (result.returncode, result.stderr) == (0, "")
    return result.stdout


def test_man_page_has_every_section_and_every_command(page: str) -> None:
    lines = page.splitlines()
    assert lines[0].startswith('.TH REPRISE 1 "2026-05-28" "reprise ')
    headings = [line.removeprefix(".SH ") for line in lines if line.startswith(".SH ")]
    assert headings == SECTIONS
    subsections = [lines[i + 1] for i, line in enumerate(lines) if line == ".SS"]
    titled = {" ".join(s.replace("\\-", "-").split()[:4]) for s in subsections}
    expected = list(_paths(TREE))
    assert len(expected) > 60
    for path in expected:
        assert any(t == path or t.startswith(path + " ") for t in titled), path
    # Only our own requests: nothing from a help text can become one.
    for line in lines:
        if line.startswith((".", "'")):
            assert MACROS.match(line), line


def test_man_page_lists_every_environment_variable_reprise_reads(page: str) -> None:
    read = set()
    for source in (REPO / "src" / "reprise").rglob("*.py"):
        read |= set(re.findall(r"\"(REPRISE_[A-Z_]+)\"", source.read_text()))
    documented = set(re.findall(r"^\.B (REPRISE_[A-Z_]+)$", page, re.MULTILINE))
    assert read and read <= documented


def test_man_page_exit_status_is_the_readme_table(page: str) -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", table, re.MULTILINE)
    section = page.split(".SH EXIT STATUS\n", 1)[1].split(".SH ", 1)[0].split(".TP\n")[1:]
    shown = []
    for item in section:
        code, text = item.strip().split("\n")
        plain = re.sub(r"\\f[BIR]", "", text).replace("\\-", "-")
        shown.append((code.removeprefix(".B "), plain))
    assert shown == [(code, meaning.replace("`", "")) for code, meaning in rows]
    assert len(shown) == 7


def _render(roff: str, tmp_path: Path) -> str:
    """The page as `man` shows it, failing on any warning from the formatter."""
    source = tmp_path / "reprise.1"
    source.write_text(roff)
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed (Debian: apt-get install groff-base)")
    checked = subprocess.run(
        [groff, "-man", "-Tutf8", "-ww", "-z", source], capture_output=True, text=True
    )
    assert (checked.returncode, checked.stderr) == (0, "")
    man = shutil.which("man")
    command = [man, "-l", source] if man else [groff, "-man", "-Tutf8", source]
    shown = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "", "PAGER": "cat"},
    )
    assert (shown.returncode, shown.stderr) == (0, "")
    return re.sub(r".\x08", "", shown.stdout)  # overstrike bold and underline, if any


def test_man_renders_without_warnings(page: str, tmp_path: Path) -> None:
    text = _render(page, tmp_path)
    assert text.lstrip().startswith("REPRISE(1)")
    flat = " ".join(text.split())
    assert "reprise backup run [OPTIONS]" in flat
    assert "--log-level <debug|info|warning|error>" in flat
    assert "REPRISE_STATE_DIR" in flat
    assert "✅/❌" in flat  # non-ASCII survives whatever the locale


def test_man_escapes_what_roff_would_read_as_requests(tmp_path: Path) -> None:
    hostile = typer.Typer(help="Reprise: a test tree. More.")

    @hostile.command("odd")
    def odd(
        path: str = typer.Option(".", help=".SH INJECTED\n'br quoted \\fB not bold - minus"),
    ) -> None:
        """.TH FAKE 9

        'ti 3 then C:\\new and `--code-x` and *stress* à la française."""

    @hostile.command("other")
    def other() -> None:
        """Another."""

    roff = man_page(typer.Context(typer.main.get_command(hostile), info_name="reprise"))
    for line in roff.splitlines():
        if line.startswith((".", "'")):
            assert MACROS.match(line), line
    text = " ".join(_render(roff, tmp_path).split())
    assert ".TH FAKE 9" in text
    assert "'ti 3 then C:\\new and --code-x and stress à la française." in text
    assert ".SH INJECTED 'br quoted \\fB not bold - minus" in text


def test_man_output_file_is_readable_by_everyone(tmp_path: Path) -> None:
    target = tmp_path / "man1" / "reprise.1"
    target.parent.mkdir()
    env = {"SOURCE_DATE_EPOCH": "1780000000"}
    result = run_reprise("man", "--output", target, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert target.stat().st_mode & 0o777 == 0o644
    assert target.read_text() == run_reprise("man", env=env).stdout
    missing = run_reprise("man", "--output", tmp_path / "nowhere" / "reprise.1")
    assert missing.returncode == 1
    assert "cannot write the man page" in missing.stderr
    assert "bug" not in missing.stderr

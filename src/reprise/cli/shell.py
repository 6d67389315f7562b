"""``reprise completion`` and ``reprise man``: shell completion scripts and the man page
reprise(1), both derived from the command tree itself so they never drift from it.

Completion uses Typer's own protocol: the script a shell sources runs ``reprise`` again with
``_REPRISE_COMPLETE`` set, and Typer (in :func:`reprise.cli.main.main`) answers with the
candidates instead of running a command. Typer registers the classes that speak that
protocol only when ``add_completion`` is on (which would also add ``--install-completion``,
an installer that edits the user's shell start-up files), so this module registers them on
import: :mod:`reprise.cli.main` imports it before the first request can arrive.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script
from typer.core import TyperGroup

from reprise import __version__
from reprise.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_INTERNAL_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_VERIFICATION_FAILED,
    EXIT_WAITING_FOR_PERSON,
    OperationError,
)

completion_init()

PROG = "reprise"
COMPLETE_VAR = "_REPRISE_COMPLETE"
"""The variable that turns a run of ``reprise`` into a completion request."""


class Shell(StrEnum):
    """The shells a completion script is written for."""

    bash = "bash"
    zsh = "zsh"
    fish = "fish"


_ZSH_REGISTER = f"compdef _{PROG}_completion {PROG}"
_ZSH_EITHER_WAY = f"""\
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  # autoloaded from $fpath (the file _{PROG}): complete now
  _{PROG}_completion "$@"
else
  # sourced: register the function for later
  {_ZSH_REGISTER}
fi"""


def completion_script(shell: Shell) -> str:
    """The script that makes ``shell`` complete ``reprise`` through the real program.

    Typer's zsh script only registers its function (``compdef``), which is right when it
    is sourced but loses the first Tab when zsh autoloads it from ``$fpath``: there it
    completes at once, as Click's own zsh script does."""
    script = get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=shell.value)
    # Typer's template writes a raw newline inside bash's $'...': the same IFS, spelt out.
    script = script.replace("$'\n'", "$'\\n'")
    if shell is Shell.zsh and script.endswith(_ZSH_REGISTER):
        script = script[: -len(_ZSH_REGISTER)] + _ZSH_EITHER_WAY
    return script + "\n"


def completion_command(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the completion script for a shell (bash, zsh or fish): Tab then completes
    commands, subcommands, options and their values.

    Install it once where the shell looks for it; new shells pick it up (scripts/install.sh
    does it for the whole host):

    - bash (Debian's bash-completion package): `reprise completion bash >
    /usr/local/share/bash-completion/completions/reprise`, or for yourself alone
    `~/.local/share/bash-completion/completions/reprise`.

    - zsh: a file named `_reprise` in a folder of `$fpath`, e.g. `reprise completion zsh >
    /usr/local/share/zsh/site-functions/_reprise`, then `compinit` (or a new shell).

    - fish: `reprise completion fish > /etc/fish/completions/reprise.fish` (every user), or
    `~/.config/fish/completions/reprise.fish`.

    To try it in the current shell: `source <(reprise completion bash)` (or `zsh`)."""
    print(completion_script(shell), end="")


# -- the man page ---------------------------------------------------------------------------

EXIT_STATUS = (
    (EXIT_OK, "success"),
    (EXIT_FAILED, "the operation failed (a server unreachable, a tool missing, a disk full)"),
    (EXIT_BAD_INPUT, "bad input or configuration (the plan, a flag, a file's permissions)"),
    (
        EXIT_VERIFICATION_FAILED,
        "verification failed (a checksum, a signature, a restore drill, an audit not compliant)",
    ),
    (
        EXIT_WAITING_FOR_PERSON,
        "`runbook run`: a step waits for a person (run again on a terminal, or with `--yes`)",
    ),
    (
        EXIT_INTERNAL_ERROR,
        "internal error: a bug in Reprise (run with `REPRISE_DEBUG=1` for the traceback)",
    ),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
)
"""The README's exit code table (a test keeps the two equal)."""

ENVIRONMENT = {
    "REPRISE_STATE_DIR": "The state directory when the plan sets no `state.dir`. Default: "
    "`/var/lib/reprise` for root, else `$XDG_STATE_HOME/reprise` (`~/.local/state/reprise`).",
    "REPRISE_CACHE_DIR": "Where `wal push` and `wal fetch` cache the plan's settings between "
    "runs. Default: `$XDG_CACHE_HOME/reprise` (`~/.cache/reprise`).",
    "REPRISE_PG_BINDIR": "The folder holding PostgreSQL's programs, searched first (then "
    "`/usr/lib/postgresql/*/bin`, `pg_config --bindir` and `$PATH`).",
    "REPRISE_SCRATCH_USER": "The unprivileged user that scratch PostgreSQL instances (restore "
    "drills, tests) run as when Reprise runs as root. Default: `postgres`.",
    "REPRISE_USER": "Who is acting, recorded in the journal and incidents when `--by` is not "
    "given. Default: the login name.",
    "REPRISE_DEBUG": "Set to 1 to print the traceback of an internal error (exit 70).",
    "REPRISE_NO_LEAN": "Set to 1 to run `wal push` and `wal fetch` through the full command "
    "line interface instead of the fast path (to compare the two).",
}
"""Variables read outside the options (those behind an option come from the tree)."""

FILES = (
    (
        "./reprise.yaml",
        "The plan, unless `--plan` or `$REPRISE_PLAN` says otherwise (a folder "
        "means its `reprise.yaml`).",
    ),
    (".env", "Next to the plan: the secrets it refers to (`${NAME}`), readable by its owner only."),
    (
        "keys/",
        "Next to the plan (as `reprise init` writes it): the age recipients, the age "
        "identity (needed only to restore) and the signing key.",
    ),
    ("/etc/reprise/", "The plan, `.env` and keys of a system install."),
    (
        "/var/lib/reprise/",
        "The state directory of root (`~/.local/state/reprise/` for another "
        "user): the state database `reprise.db`, reports, spools.",
    ),
    ("/etc/systemd/system/reprise.service", "The unit `reprise install systemd` writes."),
)

SEE_ALSO = "pg_dump(1), pg_restore(1), psql(1), age(1), systemctl(1), crontab(5)"


def man_command(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Write the page to this file (mode 0644) instead of standard output.",
        ),
    ] = None,
) -> None:
    """Print the man page reprise(1), generated from the commands' own help.

    A system install puts it where `man` looks: `reprise man >
    /usr/local/share/man/man1/reprise.1`. To read it without installing it:
    `reprise man | man -l -`."""
    page = man_page(typer.Context(ctx.find_root().command, info_name=PROG))
    if output is None:
        print(page, end="")
        return
    try:
        output.write_text(page, encoding="utf-8")
        # A man page is public; the CLI's umask (077) would have made it 0600.
        output.chmod(0o644)
    except OSError as error:
        raise OperationError(
            f"{output}: cannot write the man page ({error.strerror})",
            hint="give a file in an existing folder you can write to",
        ) from None


def man_page(root: typer.Context) -> str:
    """The roff source of reprise(1) for the command tree under ``root``."""
    command = root.command
    summary = (command.help or "").split(". ", 1)[0].removeprefix("Reprise: ").rstrip(".")
    stamp = os.environ.get("SOURCE_DATE_EPOCH", "")  # reproducible builds set it
    when = datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() else datetime.now(UTC)
    lines = [
        f'.TH REPRISE 1 "{when:%Y-%m-%d}" "{PROG} {_roff(__version__)}" "User Commands"',
        ".nh",  # no hyphenation: commands, paths and options stay whole
        ".ad l",
        ".SH NAME",
        f"{PROG} \\- {_text(summary)}",
        ".SH SYNOPSIS",
        f".B {PROG}",
        "[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGUMENTS\\fR]...",
        ".br",
        f".B {PROG}",
        "\\fICOMMAND\\fR \\fB\\-\\-help\\fR",
        ".SH DESCRIPTION",
        *_paragraphs(command.help or ""),
        ".PP",
        "Every command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR for its own help.",
        ".SH GLOBAL OPTIONS",
        *_parameters(root),
        ".SH COMMANDS",
    ]
    for context in _subcommands(root):
        lines.extend(_command(context))
    lines.append(".SH EXIT STATUS")
    for code, meaning in EXIT_STATUS:
        lines.extend([".TP", f".B {code}", _text(meaning)])
    lines.append(".SH ENVIRONMENT")
    for name, help_text in _environment(root):
        lines.extend([".TP", f".B {name}", _text(help_text)])
    lines.append(".SH FILES")
    for path, meaning in FILES:
        lines.extend([".TP", f".I {_roff(path)}", _text(meaning)])
    lines.extend([".SH SEE ALSO", _roff(SEE_ALSO)])
    return "\n".join(lines) + "\n"


def _subcommands(parent: typer.Context) -> Iterator[typer.Context]:
    """Contexts of every visible command under ``parent``, depth first, in help order."""
    group = parent.command
    if not isinstance(group, TyperGroup):
        return
    for name in group.list_commands(parent):
        command = group.get_command(parent, name)
        if command is None or command.hidden:
            continue
        context = typer.Context(command, parent=parent, info_name=name)
        yield context
        yield from _subcommands(context)


def _command(context: typer.Context) -> list[str]:
    usage = " ".join([context.command_path, *context.command.collect_usage_pieces(context)])
    return [".SS", _roff(usage), *_paragraphs(context.command.help or ""), *_parameters(context)]


def _parameters(context: typer.Context) -> list[str]:
    """A tagged paragraph for each argument and option but the help option."""
    lines: list[str] = []
    for parameter in context.command.get_params(context):
        if parameter.name == "help" or getattr(parameter, "hidden", False):
            continue
        record = parameter.get_help_record(context)
        if record is None:
            continue
        names, help_text = record
        lines.extend([".TP", _names(names), _text(help_text)])
    return lines


def _names(names: str) -> str:
    """``-p, --plan <path>``: option names in bold, argument and value names in italics."""
    words = []
    for word in names.split(" "):
        bare = word.rstrip(",")
        style = "B" if bare.startswith("-") else "I" if bare not in {"/", ""} else "R"
        words.append(f"\\f{style}{_roff(bare)}\\fR{word[len(bare) :]}")
    return " ".join(words)


def _environment(root: typer.Context) -> list[tuple[str, str]]:
    """The variables behind options anywhere in the tree, then the others."""
    found: dict[str, str] = {}
    for context in (root, *_subcommands(root)):
        for parameter in context.command.params:
            envvar = parameter.envvar
            for name in [envvar] if isinstance(envvar, str) else list(envvar or []):
                flag = max(parameter.opts, key=len)
                where = "" if context is root else f" of `{context.command_path}`"
                found.setdefault(name, f"The default of `{flag}`{where}.")
    return [*found.items(), *ENVIRONMENT.items()]


def _paragraphs(text: str) -> list[str]:
    """Help text (Markdown-ish, as Typer shows it) as roff paragraphs."""
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if paragraph.lstrip().startswith(("- ", "* ")):
            lines.extend([".IP \\(bu 2", _text(paragraph.lstrip()[2:])])
        elif paragraph.strip():
            lines.extend([".PP", _text(paragraph)])
    return lines


def _text(text: str) -> str:
    """One line of running text: `code` in bold, *emphasis* in italics, the rest escaped."""
    pieces = []
    for index, piece in enumerate(" ".join(text.split()).split("`")):
        if index % 2:
            pieces.append(f"\\fB{_roff(piece)}\\fR")
        else:
            pieces.append(re.sub(r"\*([^*\s][^*]*?)\*", r"\\fI\1\\fR", _roff(piece)))
    return _guard("".join(pieces))


def _roff(text: str) -> str:
    """Characters roff would read as something else, escaped: the backslash, the hyphen (a
    minus, so options copy right), and anything outside ASCII (as a Unicode code point, so
    the page renders the same whatever the reader's locale)."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\(rs")
        elif char == "-":
            out.append("\\-")
        elif char in "\t\n":
            out.append(" ")
        elif ord(char) > 126 or ord(char) < 32:
            out.append(f"\\[u{ord(char):04X}]")
        else:
            out.append(char)
    return "".join(out)


def _guard(line: str) -> str:
    """A line of text that would start with a control character (. or ') made literal."""
    return "\\&" + line if line.startswith((".", "'")) else line

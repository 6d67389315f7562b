"""The ``reprise`` command: a thin door into the core.

``run()`` is the single exit point: it turns ``RepriseError`` into one clear message and its
exit code, usage errors into exit 2, Ctrl-C into 130. The root callback configures Python
logging for every command (``--log-level``, ``--log-format``: stderr only, secrets masked).
Command modules import heavy libraries inside their functions, so ``reprise --help`` stays
fast.
"""

from __future__ import annotations

import copy
import logging
import os
import re
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer

from reprise import __version__
from reprise.cli import (
    accounts,
    alerts,
    audit,
    backup,
    doctor,
    drill,
    events,
    incident,
    init,
    install,
    keys,
    monitor,
    pg,
    plan,
    repo,
    restore,
    runbook,
    schedule,
    serve,
    shell,
    sla,
    state,
    wal,
    web,
)
from reprise.cli.context import CliState
from reprise.cli.logs import LogFormat, LogLevel, configure, redact, reset
from reprise.errors import EXIT_FAILED, EXIT_INTERNAL_ERROR, EXIT_INTERRUPTED, EXIT_OK, RepriseError

app = typer.Typer(
    name="reprise",
    help="Reprise: your continuity plan (PCRA / PRA) as code. It watches services, keeps "
    "backups proven restorable, drives the recovery and measures RPO, RTO and uptime.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("init", help=init.__doc__)(init.init_command)
app.add_typer(plan.app, name="plan")
app.add_typer(state.app, name="state")
app.add_typer(events.app, name="events")
app.add_typer(pg.app, name="pg")
app.add_typer(keys.app, name="keys")
app.add_typer(repo.app, name="repo")
app.add_typer(backup.app, name="backup")
app.command("restore", help=restore.restore_command.__doc__)(restore.restore_command)
app.add_typer(drill.app, name="drill")
app.add_typer(wal.app, name="wal")
app.command("status", help=monitor.status_command.__doc__)(monitor.status_command)
app.command("check", help=monitor.check_command.__doc__)(monitor.check_command)
app.command("monitor", help=monitor.monitor_command.__doc__)(monitor.monitor_command)
app.add_typer(alerts.alert_app, name="alert")
app.add_typer(alerts.silence_app, name="silence")
app.add_typer(incident.app, name="incident")
app.add_typer(runbook.app, name="runbook")
app.add_typer(schedule.schedule_app, name="schedule")
app.add_typer(schedule.jobs_app, name="jobs")
app.add_typer(serve.app, name="serve")
app.add_typer(install.app, name="install")
app.command("sla", help=sla.sla_command.__doc__)(sla.sla_command)
app.add_typer(audit.app, name="audit")
app.command("web", help=web.web_command.__doc__)(web.web_command)
app.add_typer(accounts.user_app, name="user")
app.add_typer(accounts.token_app, name="token")
app.command("doctor", help=doctor.doctor_command.__doc__)(doctor.doctor_command)
app.command("completion", help=shell.completion_command.__doc__)(shell.completion_command)
app.command("man", help=shell.man_command.__doc__)(shell.man_command)


def _show_version(value: bool) -> None:
    if value:
        print(f"reprise {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    ctx: typer.Context,
    plan_path: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            "-p",
            envvar="REPRISE_PLAN",
            show_envvar=True,
            help="The plan file (or a directory holding reprise.yaml). Default: ./reprise.yaml.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    log_level: Annotated[
        LogLevel,
        typer.Option(
            "--log-level",
            envvar="REPRISE_LOG_LEVEL",
            show_envvar=True,
            case_sensitive=False,
            help="Log records of this level and above go to stderr (wins over --quiet and "
            "--verbose).",
        ),
    ] = LogLevel.warning,
    log_format: Annotated[
        LogFormat,
        typer.Option(
            "--log-format",
            envvar="REPRISE_LOG_FORMAT",
            show_envvar=True,
            case_sensitive=False,
            help="Log lines as text, or as one JSON object a line (journald, Loki).",
        ),
    ] = LogFormat.text,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Only errors and the result: no progress bar, no info line, logs at error "
            "(an explicit --log-level wins).",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Details and info logs; -vv: debug logs (an explicit --log-level wins).",
        ),
    ] = 0,
) -> None:
    from reprise.cli import output

    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose cannot go together", param_hint="--quiet")
    level = -1 if quiet else verbose
    output.reset()
    output.set_verbosity(level)
    implied = output.verbosity().log_level
    source = ctx.get_parameter_source("log_level")  # given explicitly, it wins
    given = source is not None and source.name != "DEFAULT"
    if implied is not None and not given:
        log_level = LogLevel(implied)
    configure(log_level, log_format)
    # The reprise processes a command starts (the service's job runs) log the same way.
    os.environ["REPRISE_LOG_LEVEL"] = log_level.value
    os.environ["REPRISE_LOG_FORMAT"] = log_format.value
    ctx.obj = CliState(plan_path, level, given)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by ``run`` and by tests).

    The umask is 077 while a command runs, so that everything it creates is private
    (files 0600, folders 0700) from its first byte even where the core gives no mode (the
    core gives one wherever it creates a file, for the other doors and for tests that call
    it directly); the previous umask is restored after (tests run many commands in one
    process). Likewise the environment, to which a command exports the plan's ``.env``, and
    logging, which the root callback configures."""
    from reprise.security import private_umask

    environment = dict(os.environ)
    try:
        with private_umask():
            return _main(argv)
    finally:
        reset()
        if os.environ != environment:
            os.environ.clear()
            os.environ.update(environment)


_VALUED_ROOT_OPTIONS = frozenset({"--plan", "-p", "--log-level", "--log-format"})
_FLAG_ROOT_OPTIONS = frozenset({"--quiet", "-q", "--verbose"})


def _narrowed(argv: list[str]) -> typer.Typer | None:
    """The root command with only the group of commands that ``argv`` names (``backup``),
    or None when the words are anything else (``--help``, a top-level command, a typo, an
    unusual option form): then the full app answers. Typer builds every command of an app
    before running one, inspecting each signature (20 ms and more a start); the root's
    options and callback stay."""
    words = iter(argv)
    for word in words:
        if word.split("=", 1)[0] in _VALUED_ROOT_OPTIONS:
            if "=" not in word:
                next(words, None)
        elif word in _FLAG_ROOT_OPTIONS or re.fullmatch(r"-v+", word):
            continue
        elif word.startswith("-"):
            return None
        else:
            groups = [info for info in app.registered_groups if info.name == word]
            if len(groups) != 1:
                return None  # a top-level command (`man` reads the whole tree) or a typo
            narrow = copy.copy(app)
            narrow.registered_groups = groups
            narrow.registered_commands = []
            return narrow
    return None


def _main(argv: list[str] | None) -> int:
    words = sys.argv[1:] if argv is None else argv
    # a shell's completion request needs every command name
    door = None if os.environ.get("_REPRISE_COMPLETE") else _narrowed(words)
    try:
        result = (door or app)(args=argv, prog_name="reprise", standalone_mode=False)
    except RepriseError as error:
        from reprise.cli.output import print_error

        print_error(error)
        return error.exit_code
    except typer.Exit as exit_:
        return exit_.exit_code
    except typer.Abort as abort:
        if isinstance(abort.__cause__, KeyboardInterrupt | EOFError):
            print("Interrupted.", file=sys.stderr)
            return EXIT_INTERRUPTED
        print("Aborted.", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except typer.TyperException as error:
        show = getattr(error, "show", None)
        if show is not None:
            show()
        else:
            print(f"error: {error.message}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # `reprise … | head`: the reader left; that is not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001 - the last line of defence: no raw traceback
        return _internal_error(error)
    return result if isinstance(result, int) else 0


def _internal_error(error: Exception) -> int:
    # The traceback goes to the logs (journald keeps it) before the message for a person.
    logging.getLogger("reprise.cli").error(
        "internal error: %s: %s", type(error).__name__, error, exc_info=error
    )
    if os.environ.get("REPRISE_DEBUG"):
        traceback.print_exception(error)
    else:
        print(
            redact(f"internal error: {type(error).__name__}: {error}") + "\n"
            "This is a bug in Reprise. Run again with REPRISE_DEBUG=1 to see the traceback, "
            "and report it.",
            file=sys.stderr,
        )
    return EXIT_INTERNAL_ERROR


def run() -> None:
    """Console-script entry point. Python's exit skips the collector's last scans of the
    objects the command leaves (:mod:`reprise.cli.collector`)."""
    from reprise.cli import collector

    collector.console()
    code = main()
    collector.before_exit()
    sys.exit(code)


__all__ = ["app", "main", "run"]

"""Drive a bash completion script in a real bash, as Tab would."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path


def complete_in_bash(
    script: Path, line: str, env: dict[str, str], *, program: Path | None = None
) -> list[str]:
    """The candidates bash offers for ``line`` (what was typed before Tab; a trailing space
    starts a new word) once ``script`` is sourced; with ``program``, first check that
    ``reprise`` on ``env``'s PATH is that program."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    lines = (
        [f"[[ $(command -v reprise) == {shlex.quote(str(program))} ]] || exit 7"] if program else []
    )
    lines += [
        f"source {shlex.quote(str(script))}",
        # bash would call the function `complete -p reprise` names: check it is ours
        'spec=$(complete -p reprise) || exit 9; [[ $spec == *" -F _reprise_completion "* ]]'
        " || exit 8",
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})",
        f"COMP_CWORD={len(words) - 1}",
        f"COMP_LINE={shlex.quote(line)}",
        "COMP_POINT=${#COMP_LINE}",
        "_reprise_completion reprise",
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
    ]
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "\n".join(lines)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd="/",
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, ""), result
    return [word for word in result.stdout.split("\n") if word]

"""``${VAR}`` and ``${VAR:-default}`` in plan values, from the environment and a ``.env``;
``${file:/path}`` and ``VAR_FILE`` read a secret from a file (systemd credentials, Docker
secrets).

Substitution happens on parsed string values, never on the raw text, so a variable's
content cannot change the structure of the YAML (no injection through an environment
variable holding ``\\n  command: rm -rf /``). ``$$`` writes a literal ``$``.

The ``.env`` reader is deliberately strict (python-dotenv skips lines it cannot parse with
a warning): a malformed line is an error naming the line, because a silently ignored
password line would surface hours later as a failed backup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reprise.errors import PlanIssue
from reprise.plan.yamlsource import Path_, SourceMap

_REFERENCE = re.compile(r"\$\$|\$\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_SECRET_FILE = 64 * 1024
"""A secret file holds a password or a token, not a document."""
_ENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class EnvFileError(Exception):
    """A ``.env`` line cannot be read; carries a located issue."""

    def __init__(self, issue: PlanIssue) -> None:
        super().__init__(issue.render())
        self.issue = issue


def read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=value`` lines (``export`` prefix, quotes and ``#`` comments allowed)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise EnvFileError(
            PlanIssue(str(path), None, None, "", "the file is not UTF-8 text", "save it as UTF-8")
        ) from None
    except OSError as error:  # e.g. postgres running `wal push` without the readers group
        raise EnvFileError(
            PlanIssue(
                str(path),
                None,
                None,
                "",
                f"cannot read the .env file ({error.strerror})",
                "let the user running Reprise read it: owner root, mode 0640 and the group "
                "named by keys.readers_group, that user being a member (docs/install.md)",
            )
        ) from None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _ENV_LINE.match(line)
        if not match:
            raise EnvFileError(
                PlanIssue(
                    str(path),
                    number,
                    1,
                    "",
                    "not a KEY=value line",
                    "write NAME=value (names: letters, digits, underscore); quote values with "
                    "spaces",
                )
            )
        name, value = match.group(1), match.group(2).strip()
        if value[:1] in {'"', "'"}:
            quote = value[0]
            end = value.find(quote, 1)
            if end == -1:
                raise EnvFileError(
                    PlanIssue(
                        str(path),
                        number,
                        len(raw) - len(raw.lstrip()) + 1,
                        "",
                        f"the {quote} quote is never closed",
                        f"end the value with {quote}",
                    )
                )
            rest = value[end + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise EnvFileError(
                    PlanIssue(
                        str(path),
                        number,
                        1,
                        "",
                        "text after the closing quote",
                        "put comments after a ' #'",
                    )
                )
            value = value[1:end]
            if quote == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[name] = value
    return values


@dataclass
class Substitution:
    """Expand references in a parsed document, collecting every problem at once."""

    variables: Mapping[str, str]
    source: SourceMap
    env_file: Path | None

    def __post_init__(self) -> None:
        self.issues: list[PlanIssue] = []
        self.files_read: list[Path] = []
        """Secret files read (``${file:…}``, ``NAME_FILE``): inputs of the plan too."""

    def expand(self, value: Any, path: Path_ = ()) -> Any:
        """Return ``value`` with every ``${…}`` in its strings replaced."""
        if isinstance(value, dict):
            return {key: self.expand(item, (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [self.expand(item, (*path, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            return _REFERENCE.sub(lambda match: self._replace(match, path), value)
        return value

    def _replace(self, match: re.Match[str], path: Path_) -> str:
        if match.group(0) == "$$":
            return "$"
        body = match.group(1)
        if body.startswith("file:"):
            return self._from_file(Path(body[len("file:") :]), path, match.group(0))
        name, has_default, default = body.partition(":-")
        if not _NAME.match(name):
            self._problem(
                path,
                f"${{{body}}} is not a valid variable reference",
                "write ${NAME} or ${NAME:-default}; write $$ for a literal $",
            )
            return match.group(0)
        if name in self.variables:
            found = self.variables[name]
            if found or not has_default:
                return found
        if f"{name}_FILE" in self.variables:  # as systemd credentials and Docker secrets
            return self._from_file(
                Path(self.variables[f"{name}_FILE"]), path, match.group(0), via=f"{name}_FILE"
            )
        if has_default:
            return default
        where = f"the environment or {self.env_file}" if self.env_file else "the environment"
        self._problem(
            path, f"${{{name}}} is not set", f"set {name} in {where}, or write ${{{name}:-default}}"
        )
        return match.group(0)

    def _from_file(self, file: Path, path: Path_, written: str, via: str | None = None) -> str:
        """A secret kept in a file (``/run/credentials/reprise/smtp``): its text without the
        final newline. Such files are the operator's (systemd, Docker): their modes are
        theirs to set, but one that group or others can read is refused like ``.env``."""
        from reprise.errors import UnsafePermissionsError
        from reprise.security import ensure_private_file

        named = f"{via}={file}" if via else written
        self.files_read.append(file)
        if not file.is_absolute():
            self._problem(
                path,
                f"{named}: a secret file needs an absolute path",
                "write ${file:/run/credentials/reprise/NAME}",
            )
            return written
        try:
            ensure_private_file(file, "secret file")
            with file.open(encoding="utf-8") as handle:
                text = handle.read(MAX_SECRET_FILE + 1)
        except UnsafePermissionsError as error:
            self._problem(path, f"{named}: {error.detail}", error.hint or "chmod 600")
            return written
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            self._problem(
                path,
                f"{named}: cannot read the secret file ({reason})",
                "check the path, and that the user running Reprise can read it",
            )
            return written
        if len(text) > MAX_SECRET_FILE:
            self._problem(
                path,
                f"{named}: larger than {MAX_SECRET_FILE} characters",
                "a secret file holds one value",
            )
            return written
        return text.removesuffix("\n").removesuffix("\r")

    def _problem(self, path: Path_, message: str, hint: str) -> None:
        self.issues.append(self.source.issue(path, message, hint))

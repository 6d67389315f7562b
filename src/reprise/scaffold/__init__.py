"""``reprise init``: a commented plan, a ``.env.example`` and fresh keys in a directory.

Nothing is written unless everything can be: existing files are listed and refused (without
``force``) before the first byte is written, and each file appears atomically with mode
0600 from its first byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reprise.errors import FileExistsRefusal, InputError, option
from reprise.security import write_private_file

EXAMPLES = ("minimal", "akig-app", "pcra-infra")
"""Plans ``reprise init --example`` can start from."""

IDENTITY = Path("keys/identity.txt")
RECIPIENTS = Path("keys/recipients.txt")
SIGNING_KEY = Path("keys/signing.key")
SIGNING_PUBLIC = Path("keys/signing.pub")

_GITIGNORE = """\
# Written by `reprise init`: secrets stay out of version control.
.env
keys/identity.txt
keys/signing.key
"""


@dataclass(frozen=True)
class Scaffold:
    """What ``init`` wrote."""

    directory: Path
    plan: Path
    files: list[Path]
    identity: Path
    recipient: str
    signing_fingerprint: str


def example_text(example: str, name: str) -> str:
    """The packaged text of an example's file (``reprise.yaml`` or ``env.example``)."""
    if example not in EXAMPLES:
        raise InputError(f"unknown example {example!r}", hint="use one of: " + ", ".join(EXAMPLES))
    return (resources.files("reprise.scaffold") / "examples" / example / name).read_text(
        encoding="utf-8"
    )


def write_scaffold(directory: Path, example: str = "minimal", *, force: bool = False) -> Scaffold:
    """Write a plan, ``.env.example``, ``.gitignore`` and keys into ``directory``."""
    plan_text = example_text(example, "reprise.yaml")
    env_text = example_text(example, "env.example")
    targets = [
        Path("reprise.yaml"),
        Path(".env.example"),
        Path(".gitignore"),
        IDENTITY,
        RECIPIENTS,
        SIGNING_KEY,
        SIGNING_PUBLIC,
    ]
    existing = [directory / t for t in targets if (directory / t).exists()]
    if existing and not force:
        raise FileExistsRefusal(
            "refusing to overwrite " + ", ".join(str(path) for path in existing),
            hint=f"choose an empty directory, or pass {option('force')} to replace them (a "
            "replaced identity can no longer decrypt backups made with the old one)",
        )
    if directory.exists() and not directory.is_dir():
        raise InputError(
            f"{directory} exists and is not a directory", hint="choose a directory path"
        )
    # Imported here: `reprise --help` reads EXAMPLES and must not load the repository layer.
    from reprise.repository.keys import generate_age_identity, generate_signing_key

    age = generate_age_identity()
    signing = generate_signing_key()
    contents = {
        Path("reprise.yaml"): plan_text.encode(),
        Path(".env.example"): env_text.encode(),
        Path(".gitignore"): _GITIGNORE.encode(),
        IDENTITY: age.identity_file.encode(),
        RECIPIENTS: f"# age recipients: backups are encrypted to every key listed here\n"
        f"{age.recipient}\n".encode(),
        SIGNING_KEY: signing.private_pem,
        SIGNING_PUBLIC: signing.public_pem,
    }
    (directory / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    (directory / "keys").chmod(0o700)
    for relative, data in contents.items():
        write_private_file(directory / relative, data)
    return Scaffold(
        directory,
        directory / "reprise.yaml",
        [directory / relative for relative in contents],
        directory / IDENTITY,
        age.recipient,
        signing.fingerprint,
    )

"""What `python3 -m build` ships: a wheel named reprise-dr with the `reprise` command and
every file the package reads at run time, and an sdist a packager can rebuild from.

Installing the wheel into a fresh venv and running it is the system install's test."""

from __future__ import annotations

import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path, PurePosixPath

import reprise
from tests.conftest import run_reprise
from tests.support.packaging import CHECKOUT, built_sdist, built_wheel

PACKAGE = CHECKOUT / "src" / "reprise"
DISTRIBUTION = "reprise-dr"


def _metadata(text: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for name, value in Parser().parsestr(text).items():
        fields.setdefault(name, []).append(value)
    return fields


def _package_files() -> set[str]:
    """Files of the import package in the checkout, as the wheel names them."""
    return {
        str(PurePosixPath("reprise", *path.relative_to(PACKAGE).parts))
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_wheel_is_named_reprise_dr_with_the_version_of_the_package() -> None:
    wheel = built_wheel()
    assert wheel.name.startswith("reprise_dr-")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = _metadata(archive.read(name).decode())
    assert metadata["Name"] == [DISTRIBUTION]
    assert metadata["Version"] == [reprise.__version__]
    assert metadata["Requires-Python"] == [">=3.11.2"]
    # One source of the version: what the command prints is what the wheel says.
    printed = run_reprise("--version")
    assert (printed.returncode, printed.stdout.strip()) == (0, f"reprise {reprise.__version__}")


def test_wheel_installs_the_reprise_command_through_the_lean_door() -> None:
    with zipfile.ZipFile(built_wheel()) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        lines = archive.read(name).decode().split()
    assert lines[lines.index("[console_scripts]") + 1 :][:3] == [
        "reprise",
        "=",
        "reprise.cli.entry:run",
    ]


def test_wheel_holds_the_whole_package_and_its_data_files() -> None:
    with zipfile.ZipFile(built_wheel()) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    shipped = {n for n in names if not PurePosixPath(n).parts[0].endswith(".dist-info")}
    expected = _package_files()
    data = {n for n in expected if not n.endswith(".py")}
    # What the package reads at run time besides its modules: the store's migrations
    # template, report and web templates, web assets, the examples `reprise init` copies,
    # the systemd unit template.
    assert {n for n in data if "/migrations/" in n}
    assert {n for n in data if n.startswith("reprise/web/static/")}
    assert {n for n in data if n.startswith("reprise/scaffold/examples/")}
    assert data - shipped == set()
    assert {n for n in expected if "/migrations/versions/" in n} <= shipped
    assert shipped == expected, "only the package, as in the checkout"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_sdist_has_what_a_packager_rebuilds_from_and_nothing_local() -> None:
    sdist = built_sdist()
    assert sdist.name == f"reprise_dr-{reprise.__version__}.tar.gz"
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
        (pkg_info,) = [n for n in members if n.count("/") == 1 and n.endswith("/PKG-INFO")]
        extracted = archive.extractfile(pkg_info)
        assert extracted is not None
        metadata = _metadata(extracted.read().decode())
    root = f"reprise_dr-{reprise.__version__}"
    assert all(n == root or n.startswith(root + "/") for n in members)
    relative = {n.removeprefix(root + "/") for n in members}
    assert metadata["Name"] == [DISTRIBUTION]
    assert metadata["Version"] == [reprise.__version__]
    assert {"README.md", "pyproject.toml", "src/reprise/__init__.py"} <= relative
    assert {"src/" + n for n in _package_files()} <= relative
    local = {
        n
        for n in relative
        if {".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".git"}
        & set(Path(n).parts)
        or n.endswith((".pyc", ".egg-info"))
    }
    assert local == set()
    # Secrets never travel: the only .env and identity files are the bad-plan fixtures.
    secrets = {n for n in relative if Path(n).name in {".env", "identity.txt"}}
    assert all(n.startswith("tests/data/bad-plans/") for n in secrets), secrets

"""Evidence bundles keep the plan's secrets out unless the step asks for them, never follow
a symbolic link out of what they collect, and are private (0600 files, 0700 folders) from
the first byte, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reprise.incidents.evidence import verify_evidence
from tests.support.backups import World


def _scenario(world: World, paths: list[str | Path], *, include_secrets: bool = False) -> None:
    with world.plan.open("a", encoding="utf-8") as plan:
        plan.write(
            "scenarios:\n  - id: intrusion\n    title: Intrusion\n    steps:\n"
            f"      - kind: evidence\n        paths: {json.dumps([str(p) for p in paths])}\n"
            + ("        include_secrets: true\n" if include_secrets else "")
        )
    (world.plan_dir / ".env").write_text("SMTP_PASSWORD=hunter2\n")
    (world.plan_dir / ".env").chmod(0o600)


def _run(world: World, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "reprise",
            "--plan",
            str(world.plan),
            "runbook",
            "run",
            "intrusion",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        umask=umask,
        env={**os.environ, **world.env},
    )


def _bundle(world: World) -> tuple[Path, dict[str, Any]]:
    [bundle] = list((world.root / "state" / "evidence").iterdir())
    return bundle, verify_evidence(bundle)


def _message(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    message: str = json.loads(result.stdout)["steps"][-1]["message"]
    return message


def test_the_plans_own_secrets_are_left_out_and_the_bundle_says_so(world: World) -> None:
    _scenario(world, [world.plan_dir])
    message = _message(_run(world))
    bundle, manifest = _bundle(world)
    collected = {Path(entry["path"]).name for entry in manifest["files"]}
    assert {"reprise.yaml", "signing.pub", "recipients.txt", ".env.example"} <= collected
    assert not {".env", "identity.txt", "signing.key"} & collected
    skipped = {Path(entry["path"]).name: entry["reason"] for entry in manifest["skipped"]}
    assert "the plan's .env: a secret of the plan" in skipped[".env"]
    assert skipped["identity.txt"].startswith("the plan's age identity (keys.identity)")
    assert skipped["signing.key"].startswith("the plan's signing key (keys.signing_key)")
    assert "include_secrets: true" in skipped["signing.key"]
    assert manifest["secrets_included"] == []
    assert "3 secret file(s) of the plan left out" in message
    assert str(world.plan_dir / "keys" / "identity.txt") in message
    assert "add include_secrets: true to the step" in message
    stored = {path.name for path in bundle.rglob("*")}
    assert not {".env", "identity.txt", "signing.key"} & stored
    for secret in (b"hunter2", b"AGE-SECRET-KEY", b"PRIVATE KEY"):
        assert not any(
            secret in path.read_bytes() for path in bundle.rglob("*") if path.is_file()
        ), secret


def test_a_secret_reached_through_a_link_or_another_name_is_still_left_out(
    world: World, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("GET /admin 403\n")
    os.link(world.plan_dir / "keys" / "signing.key", logs / "backup-of-key.log")
    (logs / "identity.log").symlink_to(world.plan_dir / "keys" / "identity.txt")
    (logs / "plan").symlink_to(world.plan_dir)
    _scenario(world, [logs, f"{logs}/*/.env", logs / "identity.log"])
    message = _message(_run(world))
    _bundle_dir, manifest = _bundle(world)
    assert [Path(entry["path"]).name for entry in manifest["files"]] == ["app.log"]
    skipped = {entry["path"]: entry for entry in manifest["skipped"]}
    assert skipped[str(logs / "backup-of-key.log")]["reason"].startswith(
        "the plan's signing key"
    )  # a hard link: same file, another name
    link = skipped[str(logs / "identity.log")]
    assert (
        link["reason"] == f"symbolic link to {world.plan_dir / 'keys' / 'identity.txt'}, "
        "not followed"
    )
    assert link["target"] == str(world.plan_dir / "keys" / "identity.txt")
    assert skipped[str(logs / "plan")]["reason"].startswith("symbolic link to")
    assert (
        skipped[str(logs / "plan" / ".env")]["reason"]
        == f"reached through the symbolic link {logs / 'plan'}, not followed"
    )
    assert "1 secret file(s) of the plan left out" in message
    assert "not followed" in message


def test_include_secrets_collects_them_and_says_so(world: World) -> None:
    _scenario(world, [world.plan_dir / ".env", world.plan_dir / "keys"], include_secrets=True)
    message = _message(_run(world))
    bundle, manifest = _bundle(world)
    collected = {Path(entry["path"]).name for entry in manifest["files"]}
    assert {".env", "identity.txt", "signing.key"} <= collected
    assert sorted(Path(path).name for path in manifest["secrets_included"]) == [
        ".env",
        "identity.txt",
        "signing.key",
    ]
    assert "including 3 secret file(s) of the plan (include_secrets: true)" in message
    assert "left out" not in message
    copied = next(bundle.rglob(".env"))
    assert copied.read_text() == "SMTP_PASSWORD=hunter2\n"


def test_symbolic_links_out_of_the_folder_are_recorded_not_followed(
    world: World, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_text("root:$6$SHADOW-MARKER\n")
    logs = tmp_path / "logs"
    (logs / "nginx").mkdir(parents=True)
    (logs / "nginx" / "access.log").write_text("GET / 200\n")
    (logs / "nginx" / "shadow.log").symlink_to(outside / "shadow")
    (logs / "etc").symlink_to(outside)
    _scenario(world, [logs, f"{logs}/**/*"])
    message = _message(_run(world))
    bundle, manifest = _bundle(world)
    assert [entry["path"] for entry in manifest["files"]] == [str(logs / "nginx" / "access.log")]
    reasons = {entry["path"]: entry["reason"] for entry in manifest["skipped"]}
    assert (
        reasons[str(logs / "nginx" / "shadow.log")]
        == f"symbolic link to {outside / 'shadow'}, not followed"
    )
    assert reasons[str(logs / "etc")] == f"symbolic link to {outside}, not followed"
    assert not any(path.startswith(str(logs / "etc") + "/") for path in reasons), (
        "nothing is listed through the link"
    )
    assert f"{logs / 'etc'} (symbolic link to {outside}, not followed)" in message
    assert not any(
        b"SHADOW-MARKER" in path.read_bytes()
        for path in bundle.rglob("*")
        if path.is_file() and not path.is_symlink()
    )
    assert not any(path.is_symlink() for path in bundle.rglob("*"))


def test_the_bundle_is_private_from_the_first_byte_whatever_the_umask(
    world: World, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    (logs / "deep").mkdir(parents=True)
    (logs / "deep" / "app.log").write_text("hello\n")
    (logs / "deep" / "app.log").chmod(0o644)
    _scenario(world, [logs])
    _message(_run(world, umask=0o000))
    bundle, manifest = _bundle(world)
    assert stat.S_IMODE((world.root / "state" / "evidence").stat().st_mode) == 0o700
    entries = [bundle, *bundle.rglob("*")]
    assert len(entries) > 6
    for path in entries:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    [entry] = manifest["files"]
    assert entry["mode"] == "0644"  # the original's mode is recorded, not copied
    assert entry["uid"] == os.getuid()


def test_a_file_swapped_for_a_link_while_collected_is_not_followed(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    from reprise.incidents import evidence
    from reprise.plan.loader import load_plan

    outside = tmp_path / "outside.txt"
    outside.write_text("OUTSIDE-MARKER\n")
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "a.log").write_text("a\n")
    (logs / "sub" / "b.log").write_text("b\n")
    expand = evidence._expand

    def racing(patterns: list[str]) -> Any:
        found = expand(patterns)
        (logs / "a.log").unlink()
        (logs / "a.log").symlink_to(outside)  # a file turned into a link
        (logs / "sub" / "b.log").rename(tmp_path / "b.log")
        (logs / "sub").rmdir()
        (logs / "sub").symlink_to(tmp_path)  # a folder turned into a link
        return found

    monkeypatch.setattr(evidence, "_expand", racing)
    plan = load_plan(world.plan).plan
    bundle = evidence.collect_evidence(
        plan, [str(logs)], tmp_path / "bundle", at=datetime.now(UTC), labels={}
    )
    assert bundle.files == []
    reasons = {entry["path"]: entry["reason"] for entry in bundle.skipped}
    assert reasons == {
        str(logs / "a.log"): "became a symbolic link while collected, not followed",
        str(logs / "sub" / "b.log"): "became a symbolic link while collected, not followed",
    }
    assert not any(
        b"MARKER" in path.read_bytes()
        for path in (tmp_path / "bundle").rglob("*")
        if path.is_file()
    )


def _remove_nested(top: Path) -> None:
    """Remove a tree too deep for shutil.rmtree (and for pytest's clean-up of old temporary
    folders, which would fail on it later): one pass, by descriptors, no recursion."""
    if not top.exists():
        return
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    stack: list[tuple[int, str]] = [(os.open(top, flags), "")]
    while stack:
        descriptor = stack[-1][0]
        child = None
        with os.scandir(descriptor) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    child = entry.name
                    break
                os.unlink(entry.name, dir_fd=descriptor)
        if child is not None:
            stack.append((os.open(child, flags, dir_fd=descriptor), child))
            continue
        os.close(descriptor)
        name = stack.pop()[1]
        if stack:
            os.rmdir(name, dir_fd=stack[-1][0])
    top.rmdir()


def test_planted_link_loops_and_deep_folders_do_not_stall_or_crash_a_globbing_step(
    world: World, tmp_path: Path
) -> None:
    """Whoever can write a collected folder (the intruder, often) plants two 'loop -> .'
    links: glob.glob follows them into 2^40 paths (the step never ends), and 1,100 nested
    folders overflow a recursive walk. Both are collected in seconds, links recorded."""
    logs = tmp_path / "logs"
    (logs / "app").mkdir(parents=True)
    (logs / "app" / "error.log").write_text("boom\n")
    (logs / "app" / "loop").symlink_to(".")
    (logs / "app" / "loop2").symlink_to(".")
    try:
        deep = logs
        for _level in range(1100):  # Path.mkdir(parents=True) would recurse too deep
            deep = deep / "d"
            deep.mkdir()
        (deep / "deep.log").write_text("deep\n")
        _scenario(world, [f"{logs}/**/*.log", logs / "app"])
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "reprise",
                "--plan",
                str(world.plan),
                "runbook",
                "run",
                "intrusion",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, **world.env},
        )
        message = _message(result)
        _bundle_path, manifest = _bundle(world)
        collected = sorted(entry["path"] for entry in manifest["files"])
        assert collected == sorted([str(logs / "app" / "error.log"), str(deep / "deep.log")])
        reasons = {entry["path"]: entry["reason"] for entry in manifest["skipped"]}
        assert reasons[str(logs / "app" / "loop")] == "symbolic link to ., not followed"
        assert reasons[str(logs / "app" / "loop2")] == "symbolic link to ., not followed"
        assert "loop/" not in json.dumps(manifest)
        assert "2 file(s) preserved" in message
    finally:
        _remove_nested(logs / "d")
        for bundle in (world.root / "state" / "evidence").glob("*"):
            _remove_nested(bundle)

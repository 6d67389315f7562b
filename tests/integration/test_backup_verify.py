"""Verification, tampering, budgeted deep checks, reindex, keys and prune."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from reprise.repository.keys import generate_age_identity, generate_signing_key
from tests.support.backups import World

SOURCE = """\
- kind: command
  command: "head -c {size} /dev/urandom; echo ok"
  repository: local
  schedule: "@hourly"
  retention: {retention}
"""


def _setup(world: World, *, size: int = 50_000, retention: str = "{keep_last: 10}") -> None:
    world.write_plan(SOURCE.format(size=size, retention=retention))
    result = world.reprise("repo", "init")
    assert result.returncode == 0, result.stderr


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("target", ["output.txt.zst.age", "manifest.json", "manifest.json.sig"])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_one_flipped_byte_fails_verification_naming_the_file(
    world: World, target: str, where: str
) -> None:
    _setup(world)
    first, second = world.backup_once(), world.backup_once()
    path = world.repository / "backups" / "app-command" / second / target
    size = path.stat().st_size
    _flip_byte(path, {"start": 0, "middle": size // 2, "end": size - 1}[where])
    result = world.reprise("backup", "verify", second)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"app-command/{second}/" in result.stderr
    assert target.split(".sig")[0] in result.stderr
    assert "Traceback" not in result.stderr
    assert world.reprise("backup", "verify", first).returncode == 0
    everything = world.reprise("backup", "verify", "--all")
    assert everything.returncode == 3


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_deep_verification_of_a_flipped_byte_fails_with_exit_3_not_a_bug(
    world: World, where: str
) -> None:
    _setup(world, size=300_000)
    backup_id = world.backup_once()
    path = world.repository / "backups" / "app-command" / backup_id / "output.txt.zst.age"
    size = path.stat().st_size
    _flip_byte(path, {"start": 0, "middle": size // 2, "end": size - 1}[where])
    result = world.reprise("backup", "verify", "--deep", backup_id)
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"app-command/{backup_id}/output.txt.zst.age" in result.stderr
    assert "cannot decrypt" in result.stderr or "checksum mismatch" in result.stderr
    assert "internal error" not in result.stderr


def test_deep_verification_needs_the_identity_and_the_right_one(world: World) -> None:
    _setup(world)
    backup_id = world.backup_once()
    identity = world.plan_dir / "keys" / "identity.txt"
    saved = identity.read_text()
    identity.unlink()
    missing = world.reprise("backup", "verify", backup_id, "--deep")
    assert missing.returncode == 2 and "identity" in missing.stderr
    # Without the identity the default verification still works: it needs no key.
    assert world.reprise("backup", "verify", backup_id).returncode == 0
    identity.write_text(generate_age_identity().identity_file)
    identity.chmod(0o600)
    wrong = world.reprise("backup", "verify", backup_id, "--deep")
    assert wrong.returncode == 3 and "cannot decrypt" in wrong.stderr
    identity.write_text(saved)
    assert world.reprise("backup", "verify", backup_id, "--deep").returncode == 0


def test_budgeted_deep_verification_covers_everything_in_ceil_one_over_budget_runs(
    world: World,
) -> None:
    _setup(world)
    ids = [world.backup_once() for _ in range(8)]
    covered: set[str] = set()
    runs = 0
    while covered != set(ids):
        runs += 1
        assert runs <= 4, "25 % per run must cover everything in four runs"
        result = world.reprise("backup", "verify", "--budget", "25%", "--deep", "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        this_run = {backup["id"] for backup in report["backups"]}
        assert 2 <= len(this_run) <= 3
        unchecked = set(ids) - covered
        if not unchecked <= this_run:
            assert not this_run & covered, "a part was checked again before all were"
        covered |= this_run
    again = json.loads(
        world.reprise("backup", "verify", "--budget", "25%", "--deep", "--json").stdout
    )
    rechecked = [backup["id"] for backup in again["backups"]]
    assert rechecked and set(rechecked) <= covered  # the least recently checked come again


def test_bad_budget_is_a_usage_error(world: World) -> None:
    _setup(world)
    for value in ("abc", "0%", "150%"):
        result = world.reprise("backup", "verify", "--budget", value)
        assert result.returncode == 2 and "--budget" in result.stderr


def test_reindex_rebuilds_the_catalog_from_the_repository_alone(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    ids = [world.backup_once() for _ in range(3)]
    # An incomplete leftover and a damaged backup are reported, not indexed.
    (world.repository / "backups" / "app-command" / ids[2] / "manifest.json.sig").unlink()
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    assert world.reprise("backup", "list", "--json", env=fresh).stdout.strip() == "[]"
    result = world.reprise("repo", "reindex", "local", "--json", env=fresh)
    assert result.returncode == 0, result.stderr
    [report] = json.loads(result.stdout)
    assert report["indexed"] == 2 and report["incomplete"] == [f"app-command/{ids[2]}"]
    listed = json.loads(world.reprise("backup", "list", "--json", env=fresh).stdout)
    assert [item["id"] for item in listed] == ids[:2]
    _flip_byte(world.repository / "backups" / "app-command" / ids[1] / "manifest.json", 10)
    damaged = world.reprise("repo", "reindex", "local", env=fresh)
    assert damaged.returncode == 3 and ids[1] in damaged.stdout


def test_a_replaced_signing_key_no_longer_vouches_for_older_backups(world: World) -> None:
    # Trust is the plan's: its new key signs new backups (the repository file, which
    # still lists the old key, is not consulted), and backups signed by the old key fail
    # verification naming it until the plan keeps it in keys.trusted_signing_keys.
    _setup(world)
    old_id = world.backup_once()
    old_fingerprint = json.loads(world.reprise("keys", "show", "--json").stdout)["signing_key"][
        "fingerprint"
    ]
    key = world.plan_dir / "keys" / "signing.key"
    key.write_bytes(generate_signing_key().private_pem)
    key.chmod(0o600)
    new_id = world.backup_once()
    assert world.reprise("backup", "verify", new_id).returncode == 0
    old = world.reprise("backup", "verify", old_id)
    assert old.returncode == 3, old.stdout + old.stderr
    assert old_fingerprint in old.stderr and "does not trust" in old.stderr
    assert "keys.trusted_signing_keys" in old.stderr


def test_a_signing_key_readable_by_others_is_refused(world: World) -> None:
    _setup(world)
    (world.plan_dir / "keys" / "signing.key").chmod(0o644)
    result = world.reprise("backup", "run", "app")
    assert result.returncode == 2 and "chmod 600" in result.stderr


def test_keys_show_prints_public_material_only(world: World) -> None:
    _setup(world)
    result = world.reprise("keys", "show", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    recipient = (world.plan_dir / "keys" / "recipients.txt").read_text().split()[-1]
    assert shown["recipients"] == [recipient]
    assert shown["signing_key"]["fingerprint"].startswith("SHA256:")
    assert shown["identity"]["matches"] == [recipient]
    text = world.reprise("keys", "show").stdout
    assert "AGE-SECRET-KEY" not in text and "PRIVATE KEY" not in text


def test_several_recipients_each_decrypt(world: World) -> None:
    escrow = generate_age_identity()
    recipients = world.plan_dir / "keys" / "recipients.txt"
    recipients.write_text(recipients.read_text() + f"# offline escrow\n{escrow.recipient}\n")
    _setup(world)
    backup_id = world.backup_once()
    identity = world.plan_dir / "keys" / "identity.txt"
    assert world.reprise("backup", "verify", backup_id, "--deep").returncode == 0
    identity.write_text(escrow.identity_file)
    assert world.reprise("backup", "verify", backup_id, "--deep").returncode == 0


def test_repo_init_twice_changes_nothing(world: World) -> None:
    _setup(world)
    config = world.repository / "reprise-repository.json"
    before = config.read_bytes()
    again = world.reprise("repo", "init")
    assert again.returncode == 0 and "already initialised" in again.stdout
    assert config.read_bytes() == before


def test_backup_into_an_uninitialised_repository_says_how_to_fix(world: World) -> None:
    world.write_plan(SOURCE.format(size=10, retention="{keep_last: 1}"))
    result = world.reprise("backup", "run", "app")
    assert result.returncode == 1 and "reprise repo init local" in result.stderr


def test_prune_applies_retention_keeps_the_newest_verified_and_clears_old_leftovers(
    world: World,
) -> None:
    _setup(world, retention="{keep_last: 2}")
    ids = [world.backup_once() for _ in range(4)]
    assert world.reprise("backup", "verify", ids[0]).returncode == 0  # newest *verified*
    source_dir = world.repository / "backups" / "app-command"
    old_leftover = source_dir / "20260101T000000Z-aaaaaa"
    old_leftover.mkdir()
    (old_leftover / "db.pgdump.zst.age").write_bytes(b"partial")
    long_ago = time.time() - 3 * 86400
    os.utime(old_leftover / "db.pgdump.zst.age", (long_ago, long_ago))
    recent_leftover = source_dir / "20991231T000000Z-bbbbbb"
    recent_leftover.mkdir()
    (recent_leftover / "x.zst.age").write_bytes(b"running")

    dry = json.loads(world.reprise("backup", "prune", "--dry-run", "--json").stdout)
    actions = {item["id"]: item["action"] for item in dry["decisions"]}
    assert actions == {
        ids[0]: "hold",
        ids[1]: "forget",
        ids[2]: "keep",
        ids[3]: "keep",
        old_leftover.name: "leftover",
        recent_leftover.name: "keep",
    }
    assert len(list(source_dir.iterdir())) == 6, "a dry run deleted something"

    result = world.reprise("backup", "prune")
    assert result.returncode == 0, result.stderr
    remaining = sorted(path.name for path in source_dir.iterdir())
    assert remaining == sorted([ids[0], ids[2], ids[3], recent_leftover.name])
    assert [item["id"] for item in world.backups()] == [ids[0], ids[2], ids[3]]
    assert world.reprise("backup", "verify", "--all").returncode == 0


def test_prune_never_deletes_a_damaged_backup(world: World) -> None:
    _setup(world, retention="{keep_last: 1}")
    ids = [world.backup_once() for _ in range(3)]
    _flip_byte(world.repository / "backups" / "app-command" / ids[0] / "manifest.json", 5)
    dry = json.loads(world.reprise("backup", "prune", "--json").stdout)
    actions = {item["id"]: item["action"] for item in dry["decisions"]}
    assert actions == {ids[0]: "damaged", ids[1]: "forget", ids[2]: "keep"}
    assert (world.repository / "backups" / "app-command" / ids[0]).is_dir()


def test_list_and_verify_point_at_complete_backups_the_catalog_lacks(
    world: World, tmp_path: Path
) -> None:
    """A backup killed after its signature but before the catalog insert, or a repository
    seen from a new machine: listed nowhere until a reindex, and said so."""
    _setup(world)
    backup_id = world.backup_once()
    new_machine = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    listed = world.reprise("backup", "list", "--json", env=new_machine)
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    assert (
        f"holds 1 complete-looking backup(s) the catalog lacks (app-command/{backup_id})"
        in listed.stderr
    )
    assert "reprise repo reindex local" in listed.stderr
    verified = world.reprise("backup", "verify", "--all", env=new_machine)
    assert verified.returncode == 0, verified.stderr
    assert (
        f"local: app-command/{backup_id} is complete-looking but not in the catalog"
        in verified.stderr
    )
    assert world.reprise("repo", "reindex", "local", env=new_machine).returncode == 0
    again = world.reprise("backup", "list", env=new_machine)
    assert backup_id in again.stdout and "catalog lacks" not in again.stderr

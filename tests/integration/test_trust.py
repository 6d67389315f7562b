"""Trust pinned by the plan: hostile repositories built with real keys.

An attacker here can write the repository (add or replace files, including
``reprise-repository.json``) and holds signing keys of their own; they hold neither the
plan's signing key nor the state database.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from reprise.backup.pipeline import store_stream
from reprise.pg.scratch import ConnectionInfo
from reprise.repository import Repository
from reprise.repository.keys import (
    SigningKey,
    SigningKeyPair,
    generate_age_identity,
    generate_signing_key,
)
from reprise.repository.local import LocalBackend
from reprise.wal.archive import WalArchive
from tests.support.backups import World, sample_database

SOURCE = """\
- kind: command
  command: "printf 'genuine data\\\\n'"
  filename: data.txt
  repository: local
  schedule: "@hourly"
  retention: {keep_last: 10}
"""


def _setup(world: World) -> None:
    world.write_plan(SOURCE)
    result = world.reprise("repo", "init")
    assert result.returncode == 0, result.stderr


def _signer(pair: SigningKeyPair) -> SigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(pair.private_pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return SigningKey(key, pair.public_pem, Path("/attacker/signing.key"))


def _recipient(world: World) -> str:
    return (world.plan_dir / "keys" / "recipients.txt").read_text().split()[-1]


def _plan_fingerprint(world: World) -> str:
    shown = json.loads(world.reprise("keys", "show", "--json").stdout)
    return str(shown["signing_key"]["fingerprint"])


def _forge(
    world: World,
    folder: Path,
    attacker: SigningKeyPair,
    payload: bytes,
    *,
    backup_id: str | None = None,
) -> Path:
    """Put the attacker's content in ``folder`` (a copy of a genuine backup, renamed to
    ``backup_id`` if given), with a manifest signed by the attacker's key."""
    import pyrage

    if backup_id is not None:
        target = folder.with_name(backup_id)
        shutil.copytree(folder, target)
        folder = target
    manifest = json.loads((folder / "manifest.json").read_text())
    part = manifest["parts"][0]
    stored = folder / part["name"]
    recipients = [pyrage.x25519.Recipient.from_str(_recipient(world))]
    with stored.open("wb") as handle:
        import io

        class Writer:
            def write(self, data: bytes) -> int:
                return handle.write(data)

            def commit(self) -> None: ...

            def abort(self) -> None: ...

        result = store_stream(
            part["name"],
            io.BytesIO(payload),
            Writer(),  # type: ignore[arg-type]
            recipients,
            level=3,
        )
    part.update(
        plain_size=result.plain_size,
        plain_sha256=result.plain_sha256,
        stored_size=result.stored_size,
        sha256=result.sha256,
    )
    manifest["id"] = folder.name
    manifest["signing_key"] = attacker.fingerprint
    data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.json.sig").write_bytes(_signer(attacker).sign(data))
    return folder


def _add_key_to_repository_file(world: World, attacker: SigningKeyPair) -> None:
    path = world.repository / "reprise-repository.json"
    config = json.loads(path.read_text())
    config["signing_keys"].append(
        {"fingerprint": attacker.fingerprint, "pem": attacker.public_pem.decode()}
    )
    path.write_text(json.dumps(config, indent=2))


def _replace_repository_file(world: World, attacker: SigningKeyPair) -> None:
    path = world.repository / "reprise-repository.json"
    config = json.loads(path.read_text())
    config["signing_keys"] = [
        {"fingerprint": attacker.fingerprint, "pem": attacker.public_pem.decode()}
    ]
    config["recipients"] = [generate_age_identity().recipient]
    path.write_text(json.dumps(config, indent=2))


def _listed(world: World, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    result = world.reprise("backup", "list", "--json", env=env)
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def test_a_backup_swapped_for_one_signed_by_a_key_added_to_the_repository_file_is_refused(
    world: World,
) -> None:
    _setup(world)
    genuine, swapped = world.backup_once(), world.backup_once()
    attacker = generate_signing_key()
    _add_key_to_repository_file(world, attacker)
    _forge(
        world, world.repository / "backups" / "app-command" / swapped, attacker, b"attacker data\n"
    )
    trusted = _plan_fingerprint(world)

    verify = world.reprise("backup", "verify", swapped)
    assert verify.returncode == 3, verify.stdout + verify.stderr
    assert attacker.fingerprint in verify.stderr and trusted in verify.stderr
    assert "keys.trusted_signing_keys" in verify.stderr and "Traceback" not in verify.stderr

    target = world.root / "restored"
    target.mkdir()
    (target / "keep.txt").write_text("untouched\n")
    restore = world.reprise("restore", "app", "--target-dir", str(target))  # the newest
    assert restore.returncode == 3, restore.stdout + restore.stderr
    assert attacker.fingerprint in restore.stderr
    assert sorted(path.name for path in target.iterdir()) == ["keep.txt"]
    assert (target / "keep.txt").read_text() == "untouched\n"

    reindex = world.reprise("repo", "reindex", "local", "--json")
    assert reindex.returncode == 3, reindex.stderr
    [report] = json.loads(reindex.stdout)
    assert report["indexed"] == 1
    [problem] = report["problems"]
    assert problem["id"] == swapped and problem["problem"] == "untrusted"
    assert problem["claimed_signing_key"] == attacker.fingerprint
    assert any(
        attacker.fingerprint in line and "does not trust" in line for line in report["warnings"]
    )

    # Nothing is hidden: the forged backup stays listed, marked, and never restored.
    listed = {item["id"]: item for item in _listed(world)}
    assert listed[genuine]["problem"] is None and listed[swapped]["problem"] == "untrusted"
    restored = world.reprise("restore", "app", "--target-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    assert (target / "data.txt").read_text() == "genuine data\n"
    chosen = world.reprise(
        "restore", "app", "--backup", swapped, "--target-dir", str(world.root / "other")
    )
    assert chosen.returncode == 3 and "untrusted" in chosen.stderr
    assert not (world.root / "other").exists()


def test_reindex_keeps_forged_damaged_and_moved_backups_visible_until_forgotten(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    first, second, third = (world.backup_once() for _ in range(3))
    source = world.repository / "backups" / "app-command"
    attacker = generate_signing_key()
    forged_id = "20991231T235959Z-ffffff"
    _forge(world, source / first, attacker, b"planted\n", backup_id=forged_id)
    _replace_repository_file(world, attacker)  # and the trust anchor replaced outright
    manifest = source / second / "manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"data.txt", b"dat4.txt"))
    moved_id = "20991231T235958Z-eeeeee"
    shutil.copytree(source / third, source / moved_id)  # a genuine backup, renamed

    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    reindex = world.reprise("repo", "reindex", "local", "--json", env=fresh)
    assert reindex.returncode == 3, reindex.stderr
    [report] = json.loads(reindex.stdout)
    assert report["indexed"] == 2  # the genuine ones verify despite the forged file
    problems = {item["id"]: item["problem"] for item in report["problems"]}
    assert problems == {forged_id: "untrusted", second: "damaged", moved_id: "moved"}
    assert any("does not trust" in line for line in report["warnings"])
    assert not any("recipients differ" in line for line in report["warnings"])  # no pin

    listed = {item["id"]: item["problem"] for item in _listed(world, fresh)}
    assert listed == {
        first: None,
        third: None,
        forged_id: "untrusted",
        second: "damaged",
        moved_id: "moved",
    }
    text = world.reprise("backup", "list", env=fresh)
    assert "UNTRUSTED" in text.stdout and "backup forget" in text.stdout
    verify = world.reprise("backup", "verify", "--all", "--json", env=fresh)
    assert verify.returncode == 3
    report = json.loads(verify.stdout)
    assert {item["id"] for item in report["problems"]} == {forged_id, second, moved_id}
    assert all(item["ok"] for item in report["backups"])
    human = world.reprise("backup", "verify", "--all", env=fresh)
    assert human.returncode == 3 and "backup forget" in human.stderr
    # Reindexing again changes nothing: the problems stay until a person removes them.
    assert world.reprise("repo", "reindex", "local", env=fresh).returncode == 3
    assert len(_listed(world, fresh)) == 5

    forget = world.reprise("backup", "forget", forged_id, "--delete", "--by", "alice", env=fresh)
    assert forget.returncode == 0, forget.stderr
    assert not (source / forged_id).exists()
    for backup_id in (second, moved_id):
        assert world.reprise("backup", "forget", backup_id, "--delete", env=fresh).returncode == 0
    assert world.reprise("backup", "verify", "--all", env=fresh).returncode == 0
    events = json.loads(
        world.reprise("events", "list", "--kind", "backup.forgotten", "--json", env=fresh).stdout
    )
    assert len(events) == 3
    assert {event["payload"]["id"] for event in events} == {forged_id, second, moved_id}
    assert any(event["payload"]["by"] == "alice" for event in events)


def test_a_genuine_backup_still_verifies_and_restores_after_the_repository_file_is_forged(
    world: World,
) -> None:
    _setup(world)
    backup_id = world.backup_once()
    _replace_repository_file(world, generate_signing_key())
    assert world.reprise("backup", "verify", backup_id).returncode == 0
    verify_all = world.reprise("backup", "verify", "--all", "--json")
    assert verify_all.returncode == 0, verify_all.stdout
    warnings = json.loads(verify_all.stdout)["warnings"]
    assert any("does not trust" in line for line in warnings)
    assert any("recipients differ" in line for line in warnings)
    target = world.root / "restored"
    result = world.reprise("restore", "app", "--target-dir", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "data.txt").read_text() == "genuine data\n"
    (world.repository / "reprise-repository.json").write_text("{not json")
    assert world.reprise("backup", "verify", backup_id).returncode == 0
    assert (
        world.reprise("restore", "app", "--target-dir", str(world.root / "again")).returncode == 0
    )
    # Backups stop: a file that is not a repository file may mean the wrong folder.
    assert world.reprise("backup", "run", "app").returncode == 3
    events = json.loads(
        world.reprise("events", "list", "--kind", "repository.file_mismatch", "--json").stdout
    )
    assert events


def test_a_drill_refuses_a_backup_signed_by_an_untrusted_key(
    world: World, postgres: ConnectionInfo
) -> None:
    sample_database(postgres, "trust_drill", rows=50)
    world.write_plan(f"""\
- kind: postgres
  dsn: "{postgres.dsn()}"
  databases: [trust_drill]
  repository: local
  schedule: "@hourly"
  retention: {{keep_last: 2}}
""")
    world.plan.write_text(
        world.plan.read_text().replace("drill: {enabled: false}", "drill: {enabled: true}")
    )
    assert world.reprise("repo", "init").returncode == 0
    backup_id = world.backup_once()
    attacker = generate_signing_key()
    _add_key_to_repository_file(world, attacker)
    folder = world.repository / "backups" / "app-postgres" / backup_id
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["signing_key"] = attacker.fingerprint
    data = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.json.sig").write_bytes(_signer(attacker).sign(data))
    drill = world.reprise("drill", "app", timeout=300)
    assert drill.returncode == 3, drill.stdout + drill.stderr
    assert attacker.fingerprint in drill.stdout + drill.stderr


def test_an_appended_recipient_refuses_backups_until_an_admin_accepts_it(world: World) -> None:
    _setup(world)
    world.backup_once()
    intruder = generate_age_identity().recipient
    recipients = world.plan_dir / "keys" / "recipients.txt"
    recipients.write_text(recipients.read_text() + intruder + "\n")
    refused = world.reprise("backup", "run", "app")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"added {intruder}" in refused.stderr and "--accept" in refused.stderr
    assert len(_listed(world)) == 1
    shown = world.reprise("repo", "recipients", "local", "--json")
    assert shown.returncode == 2
    assert json.loads(shown.stdout)["added"] == [intruder]
    accepted = world.reprise("repo", "recipients", "local", "--accept", "--by", "admin")
    assert accepted.returncode == 0, accepted.stderr
    assert intruder in accepted.stdout
    backup_id = world.backup_once()
    shown_backup = json.loads(world.reprise("backup", "show", backup_id, "--json").stdout)
    assert intruder in shown_backup["manifest"]["encryption"]["recipients"]
    events = json.loads(
        world.reprise("events", "list", "--kind", "repository.recipients_accepted", "--json").stdout
    )
    assert any(
        event["payload"]["added"] == [intruder] and event["payload"]["by"] == "admin"
        for event in events
    )
    # Removing one is a decision too.
    recipients.write_text(recipients.read_text().replace(intruder + "\n", ""))
    removed = world.reprise("backup", "run", "app")
    assert removed.returncode == 2 and f"removed {intruder}" in removed.stderr


def test_a_state_without_a_pin_takes_the_newest_signed_backups_recipients(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    world.backup_once()
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    assert world.reprise("repo", "reindex", "local", env=fresh).returncode == 0
    recipients = world.plan_dir / "keys" / "recipients.txt"
    recipients.write_text(recipients.read_text() + generate_age_identity().recipient + "\n")
    refused = world.reprise("backup", "run", "app", env=fresh)
    assert refused.returncode == 2 and "added age1" in refused.stderr


def test_key_rotation_keeps_old_backups_trusted_until_the_old_key_is_retired(world: World) -> None:
    _setup(world)
    old_id = world.backup_once()
    old_fingerprint = _plan_fingerprint(world)
    keys = world.plan_dir / "keys"
    shutil.copy(keys / "signing.pub", keys / "retiring.pub")
    new = generate_signing_key()
    (keys / "signing.key").write_bytes(new.private_pem)
    (keys / "signing.pub").write_bytes(new.public_pem)
    plan = world.plan.read_text()
    rotating = plan.replace(
        "  signing_key: keys/signing.key\n",
        "  signing_key: keys/signing.key\n  trusted_signing_keys: [keys/retiring.pub]\n",
    )
    world.plan.write_text(rotating)
    new_id = world.backup_once()
    for backup_id in (old_id, new_id):
        assert world.reprise("backup", "verify", backup_id).returncode == 0
    target = world.root / "old"
    restored = world.reprise("restore", "app", "--backup", old_id, "--target-dir", str(target))
    assert restored.returncode == 0, restored.stderr
    # Pinned by fingerprint: the public key comes from the repository file, checked.
    world.plan.write_text(
        plan.replace(
            "  signing_key: keys/signing.key\n",
            f'  signing_key: keys/signing.key\n  trusted_signing_keys: ["{old_fingerprint}"]\n',
        )
    )
    assert world.reprise("backup", "verify", "--all").returncode == 0
    # A restore-only host: no private key, the backup host's public key only.
    restore_only = plan.replace(
        "  signing_key: keys/signing.key\n",
        "  trusted_signing_keys: [keys/signing.pub, keys/retiring.pub]\n",
    )
    world.plan.write_text(restore_only)
    assert world.reprise("backup", "verify", "--all").returncode == 0
    # Retired: old backups fail with a clear message; new ones still verify.
    world.plan.write_text(plan)
    assert world.reprise("backup", "verify", new_id).returncode == 0
    retired = world.reprise("backup", "verify", old_id)
    assert retired.returncode == 3
    assert old_fingerprint in retired.stderr and "keys.trusted_signing_keys" in retired.stderr


def test_a_plan_that_trusts_no_key_or_a_bad_one_is_bad_input(world: World) -> None:
    _setup(world)
    backup_id = world.backup_once()
    plan = world.plan.read_text()
    world.plan.write_text(plan.replace("  signing_key: keys/signing.key\n", ""))
    nothing = world.reprise("backup", "verify", backup_id)
    assert nothing.returncode == 2 and "trusts no signing key" in nothing.stderr
    world.plan.write_text(
        plan.replace(
            "  signing_key: keys/signing.key\n",
            "  signing_key: keys/signing.key\n  trusted_signing_keys: [keys/signing.key]\n",
        )
    )
    private = world.reprise("backup", "verify", backup_id)
    assert private.returncode == 2 and "not a PEM public key" in private.stderr
    world.plan.write_text(
        plan.replace(
            "  signing_key: keys/signing.key\n",
            '  signing_key: keys/signing.key\n  trusted_signing_keys: ["SHA256:abc"]\n',
        )
    )
    malformed = world.reprise("plan", "validate")
    assert malformed.returncode == 2 and "not a signing key fingerprint" in malformed.stderr


WAL_SOURCE = """\
- kind: postgres_physical
  dsn: "postgresql://backup@127.0.0.1:1/postgres"
  repository: local
  schedule: "@daily"
  retention: {keep_last: 5}
"""

SEGMENTS = ["000000010000000000000001", "000000010000000000000002", "000000010000000000000003"]


@pytest.fixture
def wal_world(world: World) -> World:
    world.write_plan(WAL_SOURCE)
    assert world.reprise("repo", "init").returncode == 0
    return world


def _segment(directory: Path, name: str, fill: bytes) -> Path:
    path = directory / name
    path.write_bytes(fill * 4096)
    return path


def _archive(world: World) -> Path:
    return world.repository / "wal" / "app-postgres-physical"


def test_wal_files_are_signed_and_a_planted_segment_is_never_delivered(
    wal_world: World, tmp_path: Path
) -> None:
    world = wal_world
    import pyrage

    pushed = _segment(tmp_path, SEGMENTS[0], b"g")
    assert world.reprise("wal", "push", str(pushed)).returncode == 0
    [stored] = _archive(world).glob(f"{SEGMENTS[0]}-*.zst.age")
    sidecar = json.loads(stored.with_name(stored.name + ".sig").read_text())
    assert sidecar["statement"].startswith(
        f"reprise-wal-v1 local app-postgres-physical {SEGMENTS[0]} "
    )
    assert sidecar["signing_key"] == _plan_fingerprint(world)
    fetched = world.reprise("wal", "fetch", SEGMENTS[0], str(tmp_path / "one"), "--prefetch", "0")
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "one").read_bytes() == pushed.read_bytes()

    # Idempotent: the same file again stores nothing; a push cut short before the sidecar
    # is completed by the next push.
    before = sorted(path.name for path in _archive(world).iterdir())
    assert world.reprise("wal", "push", str(pushed)).returncode == 0
    assert sorted(path.name for path in _archive(world).iterdir()) == before
    stored.with_name(stored.name + ".sig").unlink()
    assert world.reprise("wal", "push", str(pushed)).returncode == 0
    assert sorted(path.name for path in _archive(world).iterdir()) == before

    # Planted without a signature: anyone can encrypt to the public recipient.
    attacker = generate_signing_key()
    backend = LocalBackend(world.repository)
    foreign = WalArchive(Repository("local", backend), "app-postgres-physical")
    recipients = [pyrage.x25519.Recipient.from_str(_recipient(world))]
    foreign.push(_segment(tmp_path, SEGMENTS[1], b"x"), recipients, _signer(attacker), level=1)
    [planted] = _archive(world).glob(f"{SEGMENTS[1]}-*.zst.age")
    signed_by_attacker = planted.with_name(planted.name + ".sig")
    unsigned = world.reprise("wal", "fetch", SEGMENTS[1], str(tmp_path / "two"), "--prefetch", "0")
    assert unsigned.returncode == 255, unsigned.stderr  # PostgreSQL stops recovery
    assert attacker.fingerprint in unsigned.stdout + unsigned.stderr
    assert not (tmp_path / "two").exists()
    signed_by_attacker.unlink()
    missing = world.reprise("wal", "fetch", SEGMENTS[1], str(tmp_path / "two"), "--prefetch", "0")
    assert missing.returncode == 255 and "not signed" in missing.stdout + missing.stderr
    assert not (tmp_path / "two").exists()

    # A genuine signature copied next to a different segment vouches for nothing.
    genuine = stored.with_name(stored.name + ".sig")
    shutil.copy(genuine, signed_by_attacker)
    copied = world.reprise("wal", "fetch", SEGMENTS[1], str(tmp_path / "two"), "--prefetch", "0")
    assert copied.returncode == 255 and "another file" in copied.stdout + copied.stderr

    # Stored bytes replaced under a genuine signature.
    data = stored.read_bytes()
    planted_bytes = planted.read_bytes()
    stored.write_bytes(planted_bytes)
    swapped = world.reprise("wal", "fetch", SEGMENTS[0], str(tmp_path / "three"), "--prefetch", "0")
    assert swapped.returncode == 255 and "differ from the signed" in swapped.stdout + swapped.stderr
    stored.write_bytes(data)
    assert not (tmp_path / "three").exists()


def test_a_genuine_backup_copied_into_another_sources_folder_is_kept_marked_moved(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    backup_id = world.backup_once()
    copy = world.repository / "backups" / "other-source" / backup_id
    shutil.copytree(world.repository / "backups" / "app-command" / backup_id, copy)
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    reindex = world.reprise("repo", "reindex", "local", "--json", env=fresh)
    assert reindex.returncode == 3, reindex.stderr  # not an internal error on the same id
    [report] = json.loads(reindex.stdout)
    assert report["indexed"] == 1
    [problem] = report["problems"]
    assert problem["problem"] == "moved" and problem["folder"] == f"other-source/{backup_id}"
    assert problem["id"] != backup_id
    listed = {item["id"]: item["problem"] for item in _listed(world, fresh)}
    assert listed == {backup_id: None, problem["id"]: "moved"}
    # Forgetting the copy removes the copy, never the genuine backup of the same id.
    forget = world.reprise("backup", "forget", problem["id"], "--delete", env=fresh)
    assert forget.returncode == 0, forget.stderr
    assert not copy.exists()
    assert (world.repository / "backups" / "app-command" / backup_id).is_dir()
    assert {item["id"] for item in _listed(world, fresh)} == {backup_id}
    assert world.reprise("backup", "verify", "--all", env=fresh).returncode == 0


def test_oversized_or_oddly_named_folders_are_kept_as_damaged_not_a_reindex_failure(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    backup_id = world.backup_once()
    source = world.repository / "backups" / "app-command"
    huge_signature = source / "20991231T235959Z-aaaaaa"
    shutil.copytree(source / backup_id, huge_signature)
    (huge_signature / "manifest.json.sig").write_bytes(b"x" * 5000)
    huge_manifest = source / "20991231T235959Z-bbbbbb"
    shutil.copytree(source / backup_id, huge_manifest)
    (huge_manifest / "manifest.json").write_bytes(b" " * (17 << 20))
    shutil.copytree(source / backup_id, source / "odd name")
    shutil.copytree(source / backup_id, source / ("2" * 60))
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    reindex = world.reprise("repo", "reindex", "local", "--json", env=fresh)
    assert reindex.returncode == 3, reindex.stderr
    [report] = json.loads(reindex.stdout)
    assert report["indexed"] == 1
    folders = {item["folder"]: item["problem"] for item in report["problems"]}
    assert folders == {
        "app-command/20991231T235959Z-aaaaaa": "damaged",
        "app-command/20991231T235959Z-bbbbbb": "damaged",
        "app-command/odd name": "damaged",
        f"app-command/{'2' * 60}": "moved",
    }
    assert all(len(item["id"]) <= 40 for item in report["problems"])
    verify = world.reprise("backup", "verify", "--all", "--json", env=fresh)
    assert verify.returncode == 3, verify.stderr
    assert [item["id"] for item in json.loads(verify.stdout)["backups"]] == [backup_id]


def test_a_fresh_state_never_takes_its_recipients_from_a_rewritten_repository_file(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    intruder = generate_age_identity().recipient
    path = world.repository / "reprise-repository.json"
    config = json.loads(path.read_text())
    config["recipients"] = [intruder]  # whoever can write the repository
    path.write_text(json.dumps(config, indent=2))
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}
    first = world.reprise("backup", "run", "app", env=fresh)
    assert first.returncode == 0, first.stderr  # neither refused nor encrypted to them
    shown = json.loads(world.reprise("repo", "recipients", "local", "--json", env=fresh).stdout)
    assert shown["accepted"] == [_recipient(world)] and shown["origin"] == "plan (first use)"
    assert intruder not in json.dumps(world.backups())
    events = json.loads(
        world.reprise(
            "events", "list", "--kind", "repository.recipients_pinned", "--json", env=fresh
        ).stdout
    )
    assert [event["payload"]["origin"] for event in events] == ["plan (first use)"]


def test_a_fresh_state_without_a_catalog_pins_the_newest_signed_backups_recipients(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    world.backup_once()
    recipients = world.plan_dir / "keys" / "recipients.txt"
    intruder = generate_age_identity().recipient
    recipients.write_text(recipients.read_text() + intruder + "\n")
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "new-machine")}  # no reindex
    refused = world.reprise("backup", "run", "app", env=fresh)
    assert refused.returncode == 2, refused.stderr
    assert f"added {intruder}" in refused.stderr
    shown = json.loads(world.reprise("repo", "recipients", "local", "--json", env=fresh).stdout)
    assert shown["origin"] == "newest signed backup in the repository"


def test_symbolic_links_planted_in_a_local_repository_are_never_followed(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    backup_id = world.backup_once()
    source = world.repository / "backups" / "app-command"
    elsewhere = tmp_path / "elsewhere"
    shutil.move(source, elsewhere)
    source.symlink_to(elsewhere)  # e.g. /etc/cron.d, on a share the attacker writes
    before = sorted(path.name for path in elsewhere.rglob("*"))
    run = world.reprise("backup", "run", "app")
    assert run.returncode != 0, run.stdout
    assert "symbolic link inside the repository" in run.stderr
    verify = world.reprise("backup", "verify", backup_id)
    assert verify.returncode == 3, verify.stdout + verify.stderr
    assert sorted(path.name for path in elsewhere.rglob("*")) == before
    source.unlink()
    shutil.move(elsewhere, source)
    manifest = source / backup_id / "manifest.json"
    outside = tmp_path / "manifest.json"
    shutil.move(manifest, outside)
    manifest.symlink_to(outside)
    refused = world.reprise("backup", "verify", backup_id)
    assert refused.returncode == 3 and "symbolic link" in refused.stdout + refused.stderr
    # Deleting the folder removes the link, never what it points to.
    assert world.reprise("backup", "forget", backup_id, "--delete").returncode == 0
    assert outside.is_file() and not (source / backup_id).exists()


def test_prune_forgets_a_moved_copy_past_its_grace_and_never_deletes_an_odd_name(
    world: World, tmp_path: Path
) -> None:
    _setup(world)
    backup_id = world.backup_once()
    source = world.repository / "backups" / "app-command"
    moved = source / "20991231T235959Z-cccccc"
    shutil.copytree(source / backup_id, moved)
    odd = source / "odd name"
    shutil.copytree(source / backup_id, odd)
    assert world.reprise("repo", "reindex", "local").returncode == 3
    problems = {item["id"]: item["problem"] for item in _listed(world, {}) if item["problem"]}
    assert len(problems) == 2 and "odd name" not in problems  # kept under another id
    kept = world.reprise("backup", "prune", "--json")
    assert kept.returncode == 0, kept.stderr
    assert moved.is_dir() and odd.is_dir()  # within their grace: evidence
    pruned = world.reprise("backup", "prune", "--problem-grace", "1ms", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert not moved.exists()
    assert odd.is_dir()  # a name Reprise never writes is left to a person
    why = {d["id"]: d["reasons"] for d in json.loads(pruned.stdout)["decisions"]}
    assert any("remove" in reason and "by hand" in reason for reason in why["odd name"])
    assert (source / backup_id).is_dir()
    listed = [item["id"] for item in _listed(world, {}) if not item["problem"]]
    assert listed == [backup_id]

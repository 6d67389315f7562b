"""Backups to S3: a moto S3 server process on loopback, reached by boto3 over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.support.backups import S3_ENV, S3Server, World

SOURCE = """\
- kind: command
  command: "{command}"
  repository: offsite
  schedule: "@hourly"
  retention: {{keep_last: 1}}
"""


def _s3_world(world: World, server: S3Server, command: str, *, lock: bool = False) -> None:
    client = server.client()
    bucket = "reprise-locked" if lock else "reprise-test"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=lock)
    object_lock = ", object_lock: {mode: governance, days: 2}" if lock else ""
    world.env.update(S3_ENV)
    world.write_plan(
        SOURCE.format(command=command),
        repositories=(
            f"  offsite: {{kind: s3, bucket: {bucket}, prefix: prod/reprise, "
            f"endpoint_url: '{server.url}', region: us-east-1, part_size: 5MiB{object_lock}}}"
        ),
    )
    result = world.reprise("repo", "init")
    assert result.returncode == 0, result.stderr


def _keys(server: S3Server, bucket: str = "reprise-test") -> list[str]:
    listed = server.client().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_large_parts_go_up_in_multipart_and_verify_deeply(
    world: World, s3_server: S3Server, tmp_path: Path
) -> None:
    _s3_world(world, s3_server, "head -c 12000000 /dev/urandom")
    backup_id = world.backup_once()
    key = f"prod/reprise/backups/app-command/{backup_id}/output.txt.zst.age"
    assert key in _keys(s3_server)
    etag = s3_server.client().head_object(Bucket="reprise-test", Key=key)["ETag"]
    assert etag.strip('"').endswith("-3"), "12 MB in 5 MiB parts is a 3-part upload"
    assert world.reprise("backup", "verify", backup_id, "--deep").returncode == 0
    # A new machine with only the bucket and the keys lists everything.
    fresh = {"REPRISE_STATE_DIR": str(tmp_path / "fresh")}
    assert world.reprise("repo", "reindex", "offsite", env=fresh).returncode == 0
    listed = json.loads(world.reprise("backup", "list", "--json", env=fresh).stdout)
    assert [item["id"] for item in listed] == [backup_id]


def test_prune_on_s3_forgets_what_retention_drops(world: World, s3_server: S3Server) -> None:
    _s3_world(world, s3_server, "echo config")
    first, second = world.backup_once(), world.backup_once()
    result = world.reprise("backup", "prune")
    assert result.returncode == 0, result.stderr
    keys = _keys(s3_server)
    assert not any(first in key for key in keys)
    assert any(second in key for key in keys)


def test_object_lock_retention_is_applied_and_honoured_by_prune(
    world: World, s3_server: S3Server
) -> None:
    _s3_world(world, s3_server, "echo config", lock=True)
    first, _second = world.backup_once(), world.backup_once()
    key = f"prod/reprise/backups/app-command/{first}/manifest.json"
    head = s3_server.client().head_object(Bucket="reprise-locked", Key=key)
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert head["ObjectLockRetainUntilDate"].timestamp() > time.time() + 86400
    dry = json.loads(world.reprise("backup", "prune", "--json").stdout)
    decision = next(item for item in dry["decisions"] if item["id"] == first)
    assert decision["action"] == "hold"
    assert any("object lock until" in reason for reason in decision["reasons"])


def test_s3_server_stopped_mid_upload(world: World, s3_server: S3Server) -> None:
    """The server goes away after the first 5 MiB part: the backup fails clearly, nothing
    incomplete is listed, the earlier backup verifies, and once the server is back the next
    backup succeeds."""
    _s3_world(world, s3_server, "head -c 100000 /dev/urandom")
    good = world.backup_once()
    world.write_plan(
        SOURCE.format(
            command="for i in $(seq 60); do head -c 1000000 /dev/urandom; sleep 0.1; done"
        ),
        repositories=(
            f"  offsite: {{kind: s3, bucket: reprise-test, prefix: prod/reprise, "
            f"endpoint_url: '{s3_server.url}', region: us-east-1, "
            "part_size: 5MiB}"
        ),
    )
    process = world.spawn("backup", "run", "app")
    client = s3_server.client()
    deadline = time.monotonic() + 30
    while not client.list_multipart_uploads(Bucket="reprise-test").get("Uploads"):
        assert time.monotonic() < deadline, "the upload never started"
        time.sleep(0.1)
    time.sleep(0.5)  # the first part is on its way or stored
    s3_server.stop()
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 1, err
    assert "S3 unreachable" in err and "Traceback" not in err
    s3_server.start()
    listed = json.loads(world.reprise("backup", "list", "--json").stdout)
    assert [item["id"] for item in listed] == [good]
    assert world.reprise("backup", "verify", "--all").returncode == 0
    assert not [key for key in _keys(s3_server) if "/backups/" in key and good not in key]
    world.write_plan(
        SOURCE.format(command="echo back"),
        repositories=(
            f"  offsite: {{kind: s3, bucket: reprise-test, prefix: prod/reprise, "
            f"endpoint_url: '{s3_server.url}', region: us-east-1}}"
        ),
    )
    world.backup_once()


def test_unreachable_s3_endpoint_is_a_clear_error(world: World) -> None:
    world.env.update(S3_ENV)
    world.write_plan(
        SOURCE.format(command="echo x"),
        repositories=(
            "  offsite: {kind: s3, bucket: reprise-test, endpoint_url: 'http://127.0.0.1:9', "
            "region: us-east-1}"
        ),
    )
    result = world.reprise("repo", "init")
    assert result.returncode == 1
    assert "S3 unreachable" in result.stderr and "endpoint_url" in result.stderr


def test_missing_bucket_is_a_clear_error(world: World, s3_server: S3Server) -> None:
    world.env.update(S3_ENV)
    world.write_plan(
        SOURCE.format(command="echo x"),
        repositories=(
            f"  offsite: {{kind: s3, bucket: no-such-bucket, endpoint_url: '{s3_server.url}', "
            "region: us-east-1}"
        ),
    )
    result = world.reprise("repo", "init")
    assert result.returncode == 1
    assert "NoSuchBucket" in result.stderr and "create the bucket" in result.stderr


def _local_and_unreachable_s3(world: World) -> None:
    """A plan backing up to a local repository and to an S3 endpoint nobody listens on."""
    world.env.update(S3_ENV)
    world.write_plan(
        SOURCE.format(command="echo x")
        + """\
- kind: command
  name: local-copy
  command: "echo local"
  repository: local
  schedule: "@hourly"
  retention: {keep_last: 1}
""",
        repositories=(
            f"  local: {{kind: local, path: {world.repository}}}\n"
            "  offsite: {kind: s3, bucket: reprise-test, endpoint_url: 'http://127.0.0.1:9', "
            "region: us-east-1}"
        ),
    )
    assert world.reprise("repo", "init", "local").returncode == 0


def test_verify_all_checks_what_it_can_when_a_repository_is_unreachable(world: World) -> None:
    _local_and_unreachable_s3(world)
    assert world.reprise("backup", "run", "app", "--source", "local-copy").returncode == 0
    result = world.reprise("backup", "verify", "--all")
    assert result.returncode == 1
    assert "1 of 1 backup(s) intact" in result.stdout
    assert "could not list repository offsite" in result.stderr
    assert world.reprise("backup", "verify", "--all", "--repository", "local").returncode == 0


def test_prune_prunes_every_reachable_repository_and_names_the_unreachable_one(
    world: World,
) -> None:
    _local_and_unreachable_s3(world)
    for _ in range(3):
        assert world.reprise("backup", "run", "app", "--source", "local-copy").returncode == 0
    assert len(world.backup_dirs("local-copy")) == 3
    result = world.reprise("backup", "prune", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert list(report["unreachable"]) == ["offsite"]
    assert [d["action"] for d in report["decisions"]].count("forget") == 2
    assert len(world.backup_dirs("local-copy")) == 1
    text = world.reprise("backup", "prune")
    assert text.returncode == 1 and "not pruned, unreachable: offsite" in text.stderr
    assert world.reprise("backup", "prune", "--repository", "local").returncode == 0
    unknown = world.reprise("backup", "prune", "--repository", "elsewhere")
    assert unknown.returncode == 2 and "no repository named 'elsewhere'" in unknown.stderr

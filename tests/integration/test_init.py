"""`reprise init`: a working plan and fresh keys, private from the first byte, and never an
overwritten file."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from reprise.plan.loader import load_plan


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("example", ["minimal", "akig-app", "pcra-infra"])
def test_init_writes_a_valid_plan_and_private_keys(cli, tmp_path: Path, example: str) -> None:
    target = tmp_path / "site"
    result = cli("init", target, "--example", example)
    assert result.exit_code == 0, result.stderr
    for name in (
        "reprise.yaml",
        ".env.example",
        ".gitignore",
        "keys/identity.txt",
        "keys/recipients.txt",
        "keys/signing.key",
        "keys/signing.pub",
    ):
        assert mode(target / name) == 0o600, name
    assert mode(target / "keys") == 0o700
    loaded = load_plan(target / "reprise.yaml", environ={})
    assert loaded.warnings == []  # the keys the plan points at now exist
    assert "keys/identity.txt" in result.stdout
    assert "offline" in result.stdout


def test_the_keys_work_with_each_other(cli, tmp_path: Path) -> None:
    import pyrage
    from cryptography.hazmat.primitives.serialization import (
        load_pem_private_key,
        load_pem_public_key,
    )

    cli("init", tmp_path)
    recipient_line = [
        line
        for line in (tmp_path / "keys/recipients.txt").read_text().splitlines()
        if line.startswith("age1")
    ]
    [recipient] = recipient_line
    identity_text = (tmp_path / "keys/identity.txt").read_text()
    assert f"# public key: {recipient}" in identity_text
    secret = next(line for line in identity_text.splitlines() if line.startswith("AGE-SECRET"))
    identity = pyrage.x25519.Identity.from_str(secret)
    sealed = pyrage.encrypt(b"restore me", [pyrage.x25519.Recipient.from_str(recipient)])
    assert pyrage.decrypt(sealed, [identity]) == b"restore me"
    private = load_pem_private_key((tmp_path / "keys/signing.key").read_bytes(), None)
    public = load_pem_public_key((tmp_path / "keys/signing.pub").read_bytes())
    signature = private.sign(b"manifest")  # type: ignore[union-attr, call-arg]
    public.verify(signature, b"manifest")  # type: ignore[union-attr, call-arg]


def test_stock_openssl_verifies_a_signature_made_with_the_signing_key(cli, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    cli("init", tmp_path)
    private = load_pem_private_key((tmp_path / "keys/signing.key").read_bytes(), None)
    (tmp_path / "manifest.json").write_bytes(b'{"backup": "x"}')
    (tmp_path / "manifest.sig").write_bytes(private.sign(b'{"backup": "x"}'))  # type: ignore[union-attr, call-arg]
    verified = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "keys/signing.pub",
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.sig",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert "Signature Verified Successfully" in verified.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(cli, tmp_path: Path) -> None:
    (tmp_path / "reprise.yaml").write_text("# my plan\n")
    result = cli("init", tmp_path)
    assert result.exit_code == 2
    assert "refusing to overwrite" in result.stderr
    assert "--force" in result.stderr
    assert (tmp_path / "reprise.yaml").read_text() == "# my plan\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reprise.yaml"]


def test_force_replaces_the_files(cli, tmp_path: Path) -> None:
    cli("init", tmp_path)
    old_identity = (tmp_path / "keys/identity.txt").read_text()
    assert cli("init", tmp_path).exit_code == 2
    assert cli("init", tmp_path, "--force").exit_code == 0
    assert (tmp_path / "keys/identity.txt").read_text() != old_identity


def test_an_unknown_example_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path, "--example", "nope")
    assert result.exit_code == 2
    assert "minimal, akig-app, pcra-infra" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_into_a_file_path_is_refused(cli, tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("x")
    result = cli("init", target)
    assert result.exit_code == 2
    assert "not a directory" in result.stderr


def test_the_gitignore_keeps_secrets_out_of_version_control(cli, tmp_path: Path) -> None:
    cli("init", tmp_path)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".env").write_text("SMTP_PASSWORD=x\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    staged = subprocess.run(
        ["git", "-C", str(tmp_path), "diff", "--cached", "--name-only"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "keys/recipients.txt" in staged
    assert "reprise.yaml" in staged
    for secret in (".env", "keys/identity.txt", "keys/signing.key"):
        assert secret not in staged

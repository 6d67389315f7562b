"""Who may sign in and with which permission: members' passwords (argon2id, lockout) and
API tokens, through the CLI and the use cases, on a real SQLite state."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reprise.accounts.passwords import check_password, lockout
from reprise.accounts.people import people
from reprise.accounts.tokens import resolve_token
from reprise.errors import InputError, PlanError
from reprise.plan.loader import load_plan
from reprise.store import open_state
from reprise.usecases.accounts import (
    PasswordRequest,
    RevokeRequest,
    TokenRequest,
    new_token,
    revoke,
    set_password,
)
from reprise.web.sessions import Session, SessionCodec
from tests.conftest import run_reprise
from tests.support.web import PASSWORD, PLAN, free_port

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def write_plan(tmp_path: Path, extra_member: str = "") -> Path:
    path = tmp_path / "reprise.yaml"
    text = PLAN.format(
        language="fr",
        state=tmp_path / "state.db",
        port=free_port(),
        dead_port=free_port(),
        token="hb-test-token-0123456789abcdef",
        extra="",
    )
    if extra_member:
        text = text.replace(
            '      - {name: Carol Direction, login: carol, contacts: ["json://127.0.0.1:9/carol"]}',
            '      - {name: Carol Direction, login: carol, contacts: ["json://127.0.0.1:9/carol"]}\n'
            + extra_member,
        )
    path.write_text(text)
    return path


def test_permissions_come_from_the_plan_and_a_person_in_two_roles_gets_the_strongest(
    tmp_path: Path,
) -> None:
    path = write_plan(tmp_path, "      - {name: Bob Astreinte, login: bob}")
    found = people(load_plan(path).plan)
    assert {login: p.permission for login, p in found.items()} == {
        "alice": "admin",
        "bob": "responder",
        "carol": "viewer",
    }
    assert found["bob"].roles == ("responders", "viewers")
    assert found["carol"].may("viewer") and not found["carol"].may("responder")


def test_one_login_on_two_names_is_refused_where_it_is_written(tmp_path: Path) -> None:
    path = write_plan(tmp_path, "      - {name: Mallory, login: alice}")
    with pytest.raises(PlanError) as raised:
        load_plan(path)
    rendered = raised.value.render()[0] + " ".join(i.render() for i in raised.value.issues)
    assert "login 'alice' is already 'Alice Admin'" in rendered
    assert "roles[2].members[1].login" in rendered


def test_wrong_passwords_lock_the_login_out_for_longer_and_longer(tmp_path: Path) -> None:
    loaded = load_plan(write_plan(tmp_path))
    with open_state(loaded) as store:
        set_password(loaded.plan, store, PasswordRequest("bob", PASSWORD, "test"), lambda: NOW)
        assert check_password(store, "bob", PASSWORD, NOW).ok
        verdicts = [check_password(store, "bob", "wrong", NOW) for _ in range(5)]
        assert [v.locked_until for v in verdicts[:4]] == [None] * 4
        assert verdicts[4].locked_until == NOW + timedelta(seconds=30)
        # locked: even the right password is refused, without looking at it
        refused = check_password(store, "bob", PASSWORD, NOW + timedelta(seconds=10))
        assert not refused.ok and refused.locked_until == NOW + timedelta(seconds=30)
        later = NOW + timedelta(seconds=31)
        assert check_password(store, "bob", PASSWORD, later).ok
        assert not check_password(store, "nobody", PASSWORD, later).ok
    assert lockout(6) == timedelta(seconds=60)
    assert lockout(40) == timedelta(hours=1)


def test_passwords_are_checked_before_anything_is_stored(tmp_path: Path) -> None:
    loaded = load_plan(write_plan(tmp_path))
    with open_state(loaded) as store:
        with pytest.raises(InputError, match="too short"):
            set_password(loaded.plan, store, PasswordRequest("bob", "short", "test"))
        with pytest.raises(InputError, match="no member with login 'mallory'"):
            set_password(loaded.plan, store, PasswordRequest("mallory", PASSWORD, "test"))
        assert not check_password(store, "bob", "short", NOW).ok


def test_tokens_are_kept_hashed_and_stop_working_when_revoked_or_expired(tmp_path: Path) -> None:
    loaded = load_plan(write_plan(tmp_path))
    with open_state(loaded) as store:
        token, record = new_token(store, TokenRequest("prometheus", "viewer", "alice"))
        with store.engine.connect() as connection:
            dump = "\n".join(
                str(row) for row in connection.exec_driver_sql("select * from api_tokens")
            )
        assert token not in dump and token.startswith("rpr_")
        assert resolve_token(store, token, datetime.now(UTC)) is not None
        assert resolve_token(store, token + "x", datetime.now(UTC)) is None
        revoke(store, RevokeRequest(record.id, "alice"))
        assert resolve_token(store, token, datetime.now(UTC)) is None
        with pytest.raises(InputError, match="no active token"):
            revoke(store, RevokeRequest(record.id, "alice"))
        short, _ = new_token(store, TokenRequest("ci", "admin", "alice", "1d"), lambda: NOW)
        assert resolve_token(store, short, NOW + timedelta(hours=23)) is not None
        assert resolve_token(store, short, NOW + timedelta(days=2)) is None
        with pytest.raises(InputError, match="--expires 'soon'"):
            new_token(store, TokenRequest("ci", "admin", "alice", "soon"))
        with pytest.raises(InputError, match="no permission 'root'"):
            new_token(store, TokenRequest("ci", "root", "alice"))


def test_a_forged_or_foreign_session_cookie_is_a_new_anonymous_session() -> None:
    codec, other = SessionCodec("k" * 64), SessionCodec("o" * 64)
    session = Session(login="alice", seen_at=1.0)
    cookie = codec.dump(session)
    assert codec.load(cookie).login == "alice"
    assert codec.load(other.dump(session)).login is None
    assert codec.load(cookie[:-2] + "xx").login is None
    assert codec.load("garbage").login is None


def test_the_cli_sets_passwords_from_stdin_and_prints_a_token_once(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    done = run_reprise("--plan", plan, "user", "passwd", "bob", "--password-stdin", env={})
    assert done.returncode == 2  # stdin is empty: too short, said so
    assert "too short" in done.stderr
    piped = subprocess.run(
        [
            sys.executable,
            "-m",
            "reprise",
            "--plan",
            str(plan),
            "user",
            "passwd",
            "bob",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    listed = json.loads(run_reprise("--plan", plan, "user", "list", "--json").stdout)
    assert {u["login"]: u["password_set"] for u in listed} == {
        "alice": False,
        "bob": True,
        "carol": False,
    }
    no_tty = subprocess.run(
        [sys.executable, "-m", "reprise", "--plan", str(plan), "user", "passwd", "carol"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    made = json.loads(
        run_reprise("--plan", plan, "token", "create", "--role", "viewer", "--json").stdout
    )
    listing = run_reprise("--plan", plan, "token", "list", "--json").stdout
    assert made["token"] not in listing and made["prefix"] in listing
    assert run_reprise("--plan", plan, "token", "revoke", str(made["id"])).returncode == 0
    assert run_reprise("--plan", plan, "token", "revoke", "99").returncode == 2

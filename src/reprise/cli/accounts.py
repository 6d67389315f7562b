"""``reprise user`` (members' web passwords) and ``reprise token`` (API tokens)."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from reprise.cli.context import ByOption, who

user_app = typer.Typer(
    no_args_is_help=True,
    help="Who signs in to the web: the plan's members with a `login`; their roles give "
    "the permission (admin, responder, viewer).",
)
token_app = typer.Typer(
    no_args_is_help=True,
    help="API tokens for scripts and scrapers (Prometheus, Grafana), each with a role's "
    "permission; stored hashed, shown once.",
)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class Permission(StrEnum):
    """What a token may do."""

    viewer = "viewer"
    responder = "responder"
    admin = "admin"


def _read_password(login: str, from_stdin: bool) -> str:
    import getpass

    from reprise.errors import InputError

    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise InputError(
            "no terminal to ask the password on",
            hint="pipe it in with --password-stdin (printf '%s' \"$PASSWORD\" | "
            f"reprise user passwd {login} --password-stdin)",
        )
    first = getpass.getpass(f"New password for {login}: ")
    second = getpass.getpass("Again: ")
    if first != second:
        raise InputError("the two passwords differ", hint="type the same password twice")
    return first


@user_app.command("passwd")
def passwd_command(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The member's login (roles → members → login).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (one line).")
    ] = False,
    by: ByOption = None,
) -> None:
    """Set the web password of a member of the plan (argon2id, kept in the state)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.accounts import PasswordRequest, set_password

    with plan_state(ctx) as (loaded, store):
        password = _read_password(login, password_stdin)
        person = set_password(loaded.plan, store, PasswordRequest(login, password, who(by)))
    stdout().print(
        f"Password set for {person.login} ({person.name}, {person.permission}).", markup=False
    )


@user_app.command("remove")
def remove_command(
    ctx: typer.Context,
    login: Annotated[str, typer.Argument(help="The login whose password to forget.")],
    by: ByOption = None,
) -> None:
    """Forget a member's password: they can no longer sign in (sessions end at once)."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.accounts import RemoveRequest, remove_user_password

    with plan_state(ctx) as (_loaded, store):
        remove_user_password(store, RemoveRequest(login, who(by)))
    stdout().print(f"Password removed for {login}.", markup=False)


@user_app.command("list")
def list_command(ctx: typer.Context, json: JsonOption = False) -> None:
    """The members who may sign in, their permission and whether a password is set."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import local_time, print_json, stdout
    from reprise.usecases.accounts import list_users

    with plan_state(ctx) as (loaded, store):
        lines = list_users(loaded.plan, store)
    if json:
        print_json([line.to_dict() for line in lines])
        return
    if not lines:
        stdout().print("No member has a login: add `login:` to members in the plan.")
        return
    zone = loaded.plan.organisation.timezone
    table = Table("Login", "Name", "Permission", "Roles", "Password", "Last sign-in")
    for line in lines:
        account = line.account
        table.add_row(
            line.person.login,
            line.person.name,
            line.person.permission,
            ", ".join(line.person.roles),
            "set" if account else "not set",
            local_time(zone, account.last_login_at) if account else "-",
        )
    stdout().print(table)


@token_app.command("create")
def token_create_command(
    ctx: typer.Context,
    role: Annotated[Permission, typer.Option("--role", help="The token's permission.")],
    name: Annotated[str, typer.Option("--name", help="What uses it (prometheus, ci…).")] = "api",
    expires: Annotated[
        str | None, typer.Option("--expires", help="Lifetime (90d); default: none.")
    ] = None,
    json: JsonOption = False,
    by: ByOption = None,
) -> None:
    """Create an API token; it is printed once (keep it in a secret store). Send it as
    `Authorization: Bearer TOKEN`."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import print_json, stdout
    from reprise.usecases.accounts import TokenRequest, new_token

    with plan_state(ctx) as (_loaded, store):
        token, record = new_token(store, TokenRequest(name, role.value, who(by), expires))
    if json:
        print_json({**record.to_dict(), "token": token})
        return
    out = stdout()
    out.print(f"Token {record.id} ({record.name}, {record.permission}) created:", markup=False)
    out.print(token, markup=False)
    out.print("It is not shown again: keep it in a secret store.", markup=False)


@token_app.command("list")
def token_list_command(ctx: typer.Context, json: JsonOption = False) -> None:
    """Every API token (never the secret): name, permission, last use, revoked or not."""
    from rich.table import Table

    from reprise.cli.context import plan_state
    from reprise.cli.output import local_time, print_json, stdout
    from reprise.usecases.accounts import tokens

    with plan_state(ctx) as (loaded, store):
        found = tokens(store)
    if json:
        print_json([token.to_dict() for token in found])
        return
    zone = loaded.plan.organisation.timezone
    table = Table("Id", "Name", "Permission", "Starts with", "Created", "Last used", "State")
    for token in found:
        state = "revoked" if token.revoked_at else "active"
        if token.expires_at is not None and state == "active":
            state = f"expires {local_time(zone, token.expires_at)}"
        table.add_row(
            str(token.id),
            token.name,
            token.permission,
            token.prefix + "…",
            local_time(zone, token.created_at),
            local_time(zone, token.last_used_at) if token.last_used_at else "never",
            state,
        )
    stdout().print(table)


@token_app.command("revoke")
def token_revoke_command(
    ctx: typer.Context,
    token_id: Annotated[int, typer.Argument(help="The token's id (`reprise token list`).")],
    by: ByOption = None,
) -> None:
    """Revoke an API token at once."""
    from reprise.cli.context import plan_state
    from reprise.cli.output import stdout
    from reprise.usecases.accounts import RevokeRequest, revoke

    with plan_state(ctx) as (_loaded, store):
        revoke(store, RevokeRequest(token_id, who(by)))
    stdout().print(f"Token {token_id} revoked.", markup=False)

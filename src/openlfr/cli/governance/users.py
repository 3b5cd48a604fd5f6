"""`openlfr user`: people and roles."""

from __future__ import annotations

import os

import typer

from openlfr.cli.governance._common import UserOpt, command, login, open_service, show

app = typer.Typer(help="People and roles.", no_args_is_help=True)


@command(app, "add")
def user_add(
    username: str,
    role: list[str] = typer.Option(
        ...,
        "--role",
        "-r",
        help="administrator, authorising_officer, "
        "watchlist_compiler, operator, auditor (repeatable)",
    ),
    name: str = typer.Option("", help="Display name."),
    user: str | None = UserOpt,
) -> None:
    """Add a user (the very first user must be an administrator and needs no --user).

    The new password comes from env OPENLFR_NEW_PASSWORD or a prompt.
    """
    svc = open_service()
    acting = None if not svc.accounts.users() else login(svc, user)
    password = os.environ.get("OPENLFR_NEW_PASSWORD") or typer.prompt(
        f"new password for {username}", hide_input=True, confirmation_prompt=True
    )
    a = svc.accounts.create_user(acting, username, password, role, name)
    typer.echo(f"user {a.username} created with roles {', '.join(sorted(a.roles))}")


@command(app, "list")
def user_list() -> None:
    """Users and their roles."""
    show(open_service().accounts.users())

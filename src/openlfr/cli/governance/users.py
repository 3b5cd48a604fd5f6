"""`openlfr user`: people and roles."""

from __future__ import annotations

import os

import typer

from openlfr.cli.governance._common import ReasonOpt, UserOpt, command, login, open_service, show

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


@command(app, "password")
def user_password(user: str | None = UserOpt) -> None:
    """Set your own password (the acting user's; the current one from env OPENLFR_PASSWORD or a
    prompt, the new one from env OPENLFR_NEW_PASSWORD or a prompt). An account an administrator
    made counts in a two-person rule only once its holder has done this."""
    svc = open_service()
    me = login(svc, user)
    current = os.environ.get("OPENLFR_PASSWORD") or typer.prompt(
        f"current password for {me.username}", hide_input=True
    )
    new = os.environ.get("OPENLFR_NEW_PASSWORD") or typer.prompt(
        f"new password for {me.username}", hide_input=True, confirmation_prompt=True
    )
    svc.accounts.change_password(me, current, new)
    typer.echo(f"password of {me.username} changed by its holder")


@command(app, "list")
def user_list() -> None:
    """Users and their roles."""
    show(open_service().accounts.users())


def _user_id(svc: object, username: str) -> str:
    for u in svc.accounts.users():  # type: ignore[attr-defined]
        if u["username"] == username:
            return str(u["id"])
    raise typer.BadParameter(f"no such user: {username}")


@command(app, "deactivate")
def user_deactivate(username: str, reason: str = ReasonOpt, user: str | None = UserOpt) -> None:
    """Deactivate an account (administrators): it cannot log in, its sessions end at once."""
    svc = open_service()
    me = login(svc, user)
    svc.accounts.deactivate(me, _user_id(svc, username), reason)
    typer.echo(f"{username} deactivated")


@command(app, "roles")
def user_roles(
    username: str,
    role: list[str] = typer.Option(..., "--role", "-r", help="The new roles (repeatable)."),
    user: str | None = UserOpt,
) -> None:
    """Replace a user's roles (administrators); audited with before and after."""
    svc = open_service()
    me = login(svc, user)
    a = svc.accounts.set_roles(me, _user_id(svc, username), role)
    typer.echo(f"{a.username}: {', '.join(sorted(a.roles))}")


@command(app, "reset-password")
def user_reset_password(username: str, user: str | None = UserOpt) -> None:
    """A new one-time password for a user (administrators), printed once; sessions end."""
    svc = open_service()
    me = login(svc, user)
    otp = svc.accounts.reset_password(me, _user_id(svc, username))
    typer.echo(f"one-time password for {username} (printed once): {otp}")


@command(app, "confirm-roles")
def user_confirm_roles(
    username: str,
    host: bool = typer.Option(
        False,
        "--host",
        help="Confirm as the host's operator, with no second administrator: only for the "
        "single-administrator bootstrap (docs/deployment.md); audited as 'system:host'.",
    ),
    user: str | None = UserOpt,
) -> None:
    """Confirm the roles another administrator granted USERNAME: until then (and until its
    holder sets their own password) the account cannot be one of the two people of a
    two-person rule (erasure, model approval)."""
    svc = open_service()
    me = None if host else login(svc, user)
    svc.accounts.confirm_roles(me, _user_id(svc, username))
    typer.echo(f"roles of {username} confirmed by {me.username if me else 'the host'}")


@command(app, "training-add")
def user_training_add(
    username: str,
    course: str = typer.Option(..., "--course", help="The course completed."),
    completed: str = typer.Option(..., "--completed", help="Completion date, YYYY-MM-DD."),
    expires: str = typer.Option(..., "--expires", help="Expiry date, YYYY-MM-DD."),
    user: str | None = UserOpt,
) -> None:
    """Record a completed training course (administrators): only operators with current
    training may review alerts."""
    from datetime import date

    svc = open_service()
    me = login(svc, user)
    svc.training.record(
        me, username, course, date.fromisoformat(completed), date.fromisoformat(expires)
    )
    typer.echo(f"training recorded for {username}: {course} until {expires}")


@command(app, "training")
def user_training(username: str | None = typer.Argument(None), user: str | None = UserOpt) -> None:
    """Training records, with whether each is current (administrators and auditors)."""
    svc = open_service()
    show(svc.training.records(login(svc, user), username))

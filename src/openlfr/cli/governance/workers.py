"""`openlfr workers`: register edge workers, assign them deployments, revoke them (the same
service calls as /api/v1/workers, for a site that sets up from a shell)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from openlfr.cli.governance._common import ReasonOpt, UserOpt, acting, command, show

app = typer.Typer(help="Edge workers: register, assign, revoke.", no_args_is_help=True)


@command(app, "issue")
def workers_issue(
    name: str,
    token_out: Path = typer.Option(
        ...,
        "--token-out",
        help="Write the worker's token to this new file (mode 0600); it is shown nowhere else.",
    ),
    user: str | None = UserOpt,
) -> None:
    """Register a worker (administrators): prints its id; its token goes to --token-out only."""
    from openlfr.services.workers import WorkerService

    if token_out.exists():
        raise ValueError(f"{token_out} exists: a token is never overwritten")
    with acting(user) as (svc, me):
        wid, token = WorkerService(svc).issue(me, name)
    fd = os.open(token_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    typer.echo(wid)


@command(app, "assign")
def workers_assign(worker_id: str, deployment: str, user: str | None = UserOpt) -> None:
    """Let a worker run a deployment's cameras (those it has a source for): the deployment's
    authorising officers only, since the worker then reads its watchlist."""
    from openlfr.services.workers import WorkerService

    with acting(user) as (svc, me):
        WorkerService(svc).assign(me, worker_id, deployment)
    typer.echo("assigned")


@command(app, "unassign")
def workers_unassign(worker_id: str, deployment: str, user: str | None = UserOpt) -> None:
    """Take a deployment away from a worker: it stops that deployment's cameras at its next poll."""
    from openlfr.services.workers import WorkerService

    with acting(user) as (svc, me):
        WorkerService(svc).unassign(me, worker_id, deployment)
    typer.echo("unassigned")


@command(app, "revoke")
def workers_revoke(worker_id: str, reason: str = ReasonOpt, user: str | None = UserOpt) -> None:
    """Revoke a worker's token at once: it stops every camera and exits (status 3)."""
    from openlfr.services.workers import WorkerService

    with acting(user) as (svc, me):
        WorkerService(svc).revoke(me, worker_id, reason)
    typer.echo("revoked")


@command(app, "list")
def workers_list(user: str | None = UserOpt) -> None:
    """The workers you may see, their cameras and assignments."""
    from openlfr.services.workers import WorkerService

    with acting(user) as (svc, me):
        show(WorkerService(svc).visible_workers(me))

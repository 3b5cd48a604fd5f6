"""`openlfr sar`: subject access and erasure."""

from __future__ import annotations

from pathlib import Path

import typer

from openlfr.cli.governance._common import UserOpt, acting, command, show

app = typer.Typer(help="Subject rights: access and erasure.", no_args_is_help=True)


@command(app, "search")
def sar_search(
    photo: Path,
    erase: bool = typer.Option(
        False, "--erase", help="Ask to erase what was found (needs --reason and a second auditor)."
    ),
    reason: str = typer.Option("", "--reason"),
    threshold: float | None = typer.Option(None, help="Default: each deployment's own threshold."),
    user: str | None = UserOpt,
) -> None:
    """Subject access: alerts and watchlist entries/stubs concerning the person in PHOTO."""
    from openlfr.config.settings import get_settings
    from openlfr.vision import build_engine

    with acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        probe = engine.face_from_file(photo, select="strict").template
        found = svc.subject_rights.search(me, probe, threshold)
        hits = found.hits
        typer.echo(f"search {found.id}")
        show(
            [
                {
                    "kind": h.kind,
                    "id": h.id,
                    "deployment": h.deployment_id,
                    "score": h.score,
                    **h.detail,
                }
                for h in hits
            ]
        )
        if erase:
            rid = svc.subject_rights.request_erasure(me, found.id, None, reason)
            typer.echo(f"erasure request {rid}: a second auditor runs `openlfr sar approve {rid}`")


@command(app, "erase")
def sar_erase(
    search: int = typer.Argument(..., help="The search id `sar search` printed."),
    hit: list[str] = typer.Option([], "--hit", help="Hit id to erase (repeatable; default all)."),
    reason: str = typer.Option(..., "--reason"),
    user: str | None = UserOpt,
) -> None:
    """Ask to erase hits of a recorded search (a second auditor approves)."""
    with acting(user) as (svc, me):
        rid = svc.subject_rights.request_erasure(me, search, hit or None, reason)
    typer.echo(f"erasure request {rid}: a second auditor runs `openlfr sar approve {rid}`")


@command(app, "approve")
def sar_approve(request: int, user: str | None = UserOpt) -> None:
    """Carry out an erasure request made by another auditor."""
    with acting(user) as (svc, me):
        show({"erased": svc.subject_rights.approve_erasure(me, request)})

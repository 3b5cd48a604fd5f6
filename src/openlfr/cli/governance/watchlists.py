"""`openlfr watchlist`: enrol, list, project, sign off, ask after destruction."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from openlfr.cli.governance._common import (
    UserOpt,
    acting,
    command,
    open_service,
    show,
)

app = typer.Typer(help="The watchlist of a deployment.", no_args_is_help=True)


@command(app, "add")
def wl_add(
    deployment: str,
    photo: Path,
    category: str = typer.Option(
        ...,
        help="wanted_by_courts_or_police, suspected_of_offence, "
        "bail_or_court_conditions, missing_or_vulnerable, risk_of_harm_to_self_or_others",
    ),
    legal_basis: str = typer.Option(..., "--legal-basis"),
    source_system: str = typer.Option(..., "--source-system"),
    captured_on: str = typer.Option(..., "--captured-on", help="Image capture date, YYYY-MM-DD."),
    reason: str = typer.Option(..., "--reason"),
    subject_ref: str = typer.Option(..., "--subject-ref", help="Reference in the source system."),
    minor_justification: str | None = typer.Option(
        None, help="Required for under-18s; marks the entry as one."
    ),
    user: str | None = UserOpt,
) -> None:
    """Enrol one photo (exactly one face) onto a deployment's watchlist, encrypted."""
    from openlfr.config.settings import get_settings
    from openlfr.vision import build_engine

    with acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        eid, flags = svc.watchlists.add_entry_from_photo(
            me,
            deployment,
            engine,
            photo,
            category=category,
            legal_basis=legal_basis,
            source_system=source_system,
            image_captured_on=date.fromisoformat(captured_on),
            reason=reason,
            subject_ref=subject_ref,
            is_minor=minor_justification is not None,
            minor_justification=minor_justification,
        )
    typer.echo(eid + (f" flagged: {', '.join(flags)}" if flags else ""))


@command(app, "list")
def wl_list(deployment: str, user: str | None = UserOpt) -> None:
    """Entries of a deployment's watchlist: category, quality, flags (no images)."""
    with acting(user) as (svc, me):
        show(svc.watchlists.entries(me, deployment))


@command(app, "projection")
def wl_projection(deployment: str) -> None:
    """Projected false alerts for the list as it stands (shown before sign-off)."""
    p = open_service().watchlists.projected_false_alerts(deployment)
    typer.echo("no model approval or expected faces recorded" if p is None else f"{p:.3g}")


@command(app, "sign-off")
def wl_sign_off(deployment: str, user: str | None = UserOpt) -> None:
    with acting(user) as (svc, me):
        proj = svc.watchlists.projected_false_alerts(deployment)
        typer.echo(f"projected false alerts: {'unknown' if proj is None else f'{proj:.3g}'}")
        svc.watchlists.sign_off(me, deployment)
    typer.echo("signed off")


@command(app, "was-on")
def wl_was_on(deployment: str, entry_id: str, user: str | None = UserOpt) -> None:
    """Was this entry on the deployment's list? Answers from the stub after destruction."""
    with acting(user) as (svc, me):
        r = svc.watchlists.was_on_list(me, deployment, entry_id)
    if r is None:
        typer.echo("no")
        raise typer.Exit(1)
    show(r)

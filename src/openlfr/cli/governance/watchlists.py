"""`openlfr watchlist`: enrol, list, project, sign off, ask after destruction."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from openlfr.cli.governance._common import (
    UserOpt,
    acting,
    command,
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


@command(app, "add-photo")
def wl_add_photo(
    entry_id: str,
    photo: Path,
    captured_on: str = typer.Option(..., "--captured-on", help="Image capture date, YYYY-MM-DD."),
    user: str | None = UserOpt,
) -> None:
    """Add a further photo (another occasion, exactly one face) to an entry: its compiler only."""
    from openlfr.config.settings import get_settings
    from openlfr.vision import build_engine

    with acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        pid, flags = svc.entry_photos.add_photo_from_file(
            me, entry_id, engine, photo, date.fromisoformat(captured_on)
        )
        n = len(svc.entry_photos.photos(me, entry_id))
        rate = svc.entry_photos.entry_hit_rate(entry_id)
    typer.echo(pid + (f" flagged: {', '.join(flags)}" if flags else ""))
    typer.echo(f"entry {entry_id} now has {n} photos; expected hit rate {_pct(rate)}")


@command(app, "photos")
def wl_photos(entry_id: str, user: str | None = UserOpt) -> None:
    """An entry's photos: capture date, quality, flags (no images)."""
    with acting(user) as (svc, me):
        show(svc.entry_photos.photos(me, entry_id))


@command(app, "remove-photo")
def wl_remove_photo(
    photo_id: str, reason: str = typer.Option(..., "--reason"), user: str | None = UserOpt
) -> None:
    with acting(user) as (svc, me):
        svc.entry_photos.remove_photo(me, photo_id, reason)
    typer.echo("removed")


def _pct(rate: float | None) -> str:
    return "not measured (no TPIR curve in the model approval)" if rate is None else f"{rate:.0%}"


@command(app, "list")
def wl_list(deployment: str, user: str | None = UserOpt) -> None:
    """Entries: category, quality, flags, usable photos and expected hit rate (no images)."""
    with acting(user) as (svc, me):
        entries = svc.watchlists.entries(me, deployment)
        hits = svc.entry_photos.expected_hits(me, deployment)
    show(entries)
    single = sum(1 for e in entries if e["photos"] <= 1)
    if single:
        typer.secho(
            f"{single} of {len(entries)} entries have a single photo (flagged single_photo): "
            "they are found far less often; add photos from other occasions",
            fg=typer.colors.YELLOW,
            err=True,
        )
    typer.echo(f"expected hit rate of the list: {_pct(hits['rate'] if hits else None)}", err=True)


def _projection_lines(svc: Any, me: Any, deployment: str) -> list[str]:
    efa = svc.watchlists.projected_false_alerts(deployment)
    hits = svc.entry_photos.expected_hits(me, deployment)
    return [
        f"projected false alerts: {'unknown' if efa is None else f'{efa:.3g}'}",
        f"expected share of listed people found if they pass a camera: "
        f"{_pct(hits['rate'] if hits else None)}"
        + (f" ({hits['single_photo_entries']} single-photo entries)" if hits else ""),
    ]


@command(app, "projection")
def wl_projection(deployment: str, user: str | None = UserOpt) -> None:
    """Projected false alerts and expected hits for the list as it stands (before sign-off)."""
    with acting(user) as (svc, me):
        typer.echo("\n".join(_projection_lines(svc, me, deployment)))


@command(app, "sign-off")
def wl_sign_off(deployment: str, user: str | None = UserOpt) -> None:
    with acting(user) as (svc, me):
        typer.echo("\n".join(_projection_lines(svc, me, deployment)))
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

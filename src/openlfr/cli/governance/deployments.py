"""`openlfr deployment`: draft, authorise, start, run, end."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from openlfr.cli.governance._common import (
    ReasonOpt,
    UserOpt,
    acting,
    command,
    show,
)

app = typer.Typer(help="Deployments: draft, authorise, start, run, end.", no_args_is_help=True)

# Field types for `--set key=value` on deployments.
_DATETIME = {"starts_at", "ends_at", "public_notice_at"}
_FLOAT = {"threshold"}
_INT = {"expected_faces", "watchlist_size_cap"}
_BOOL = {"eu_mode", "urgent"}
_LIST = {"cameras", "officers", "operators"}  # as services.deployments.LIST_FIELDS

SetOpt = typer.Option([], "--set", "-s", help="field=value (repeatable); lists comma-separated.")
FileOpt = typer.Option(None, "--file", "-f", help="JSON object of fields.")


def _parse_fields(pairs: list[str], file: Path | None) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(file.read_text()) if file else {}
    for p in pairs:
        if "=" not in p:
            raise ValueError(f"--set needs key=value, got {p!r}")
        key, val = p.split("=", 1)
        raw[key.strip()] = val
    out: dict[str, Any] = {}
    for k, v0 in raw.items():
        v: Any = v0
        if isinstance(v, str):
            if v == "":
                v = [] if k in _LIST else None
            elif k in _DATETIME:
                v = datetime.fromisoformat(v)
                if v.tzinfo is None:
                    raise ValueError(f"{k} needs a time zone, e.g. 2026-06-01T09:00+00:00")
            elif k in _FLOAT:
                v = float(v)
            elif k in _INT:
                v = int(v)
            elif k in _BOOL:
                v = v.lower() in ("1", "true", "yes")
            elif k in _LIST:
                v = [x.strip() for x in v.split(",") if x.strip()]
        elif k in _LIST and v is None:
            v = []
        elif k in _DATETIME and v is not None:
            v = datetime.fromisoformat(str(v))
        out[k] = v
    return out


@command(app, "create")
def dep_create(
    name: str, set_: list[str] = SetOpt, file: Path | None = FileOpt, user: str | None = UserOpt
) -> None:
    """Draft a deployment. Fields: purpose, location, cameras, starts_at, ends_at, dpia_ref,
    policy_ref, eia_ref, necessity, alternatives, model_contract_id, threshold, expected_faces,
    compiler, operators, public_notice_at | no_notice_reason, retention_profile, eu_mode, ..."""
    with acting(user) as (svc, me):
        dep = svc.deployments.create_deployment(me, name, **_parse_fields(set_, file))
    typer.echo(dep)


@command(app, "update")
def dep_update(
    deployment: str,
    set_: list[str] = SetOpt,
    file: Path | None = FileOpt,
    user: str | None = UserOpt,
) -> None:
    """Change a draft (configuration is fixed once authorised)."""
    with acting(user) as (svc, me):
        svc.deployments.update_deployment(me, deployment, **_parse_fields(set_, file))
    typer.echo("updated")


@command(app, "show")
def dep_show(deployment: str, user: str | None = UserOpt) -> None:
    """A deployment's configuration, state and counters (to the people it names)."""
    with acting(user) as (svc, me):
        show(svc.deployments.view(me, deployment))


@command(app, "list")
def dep_list(user: str | None = UserOpt) -> None:
    """The deployments you may see: id, name, state, window."""
    with acting(user) as (svc, me):
        show(svc.deployments.visible(me))


@command(app, "countersign")
def dep_countersign(
    deployment: str,
    kind: str = typer.Argument(..., help="low_threshold | no_notice | urgent"),
    reason: str = ReasonOpt,
    user: str | None = UserOpt,
) -> None:
    """Second authorisation by another officer (threshold below the floor, no public notice,
    an EU-mode urgent start before the authority's decision)."""
    with acting(user) as (svc, me):
        svc.deployments.countersign(me, deployment, kind, reason)
    typer.echo("countersigned")


@command(app, "authorise")
def dep_authorise(deployment: str, user: str | None = UserOpt) -> None:
    """Authorise a draft: refuses listing every missing item; records expected false alerts."""
    from openlfr.eval.approval import SUPPLIER
    from openlfr.services.approvals import SUPPLIER_RECOMMENDATION

    with acting(user) as (svc, me):
        efa = svc.deployments.authorise(me, deployment)
        d = svc.deployments.deployment(deployment)
        hits = d["expected_hit_rate"]
        evidence = svc.approvals.evidence(d["model_contract_id"] or "")
    typer.echo(f"authorised; expected false alerts at the size cap: {efa:.2f}")
    typer.echo(
        "expected share of listed people found if they pass a camera: "
        + ("not measured" if hits is None else f"{hits:.0%}")
    )
    if evidence == SUPPLIER:
        typer.secho(f"recommendation: {SUPPLIER_RECOMMENDATION}", fg=typer.colors.YELLOW)


@command(app, "start")
def dep_start(deployment: str, user: str | None = UserOpt) -> None:
    """Go live: refuses outside the window, without a signed-off list or a master key."""
    with acting(user) as (svc, me):
        svc.deployments.start(me, deployment)
    typer.echo("live")


@command(app, "end")
def dep_end(
    deployment: str, reason: str = typer.Option("ended by operator"), user: str | None = UserOpt
) -> None:
    """End a live deployment (it also ends by itself at its end time)."""
    with acting(user) as (svc, me):
        svc.deployments.end(me, deployment, reason)
    typer.echo("ended")


@command(app, "cancel")
def dep_cancel(deployment: str, reason: str = ReasonOpt, user: str | None = UserOpt) -> None:
    """Cancel a draft or authorised deployment."""
    with acting(user) as (svc, me):
        svc.deployments.cancel(me, deployment, reason)
    typer.echo("cancelled")


@command(app, "judicial-authorisation")
def dep_judicial(deployment: str, ref: str, user: str | None = UserOpt) -> None:
    """EU mode: record the authorisation an urgent start must obtain within 24 h."""
    with acting(user) as (svc, me):
        svc.deployments.record_judicial_authorisation(me, deployment, ref)
    typer.echo("recorded")


@command(app, "judicial-refusal")
def dep_judicial_refusal(
    deployment: str, ref: str, reason: str = ReasonOpt, user: str | None = UserOpt
) -> None:
    """EU mode: the authority refused (REF is its reference): stop at once, delete all data."""
    with acting(user) as (svc, me):
        receipt = svc.judicial.record_refusal(me, deployment, ref, reason)
    typer.echo(
        f"stopped and purged: {receipt['alerts_deleted']} alerts, "
        f"{receipt['watchlist_entries_destroyed']} watchlist entries"
    )


@command(app, "assessment")
def dep_assessment(
    deployment: str,
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file."),
    user: str | None = UserOpt,
) -> None:
    """DPIA (and, in EU mode, FRIA) draft in Markdown, filled from the deployment, for the
    officer to complete; its SHA-256 is recorded in the audit log."""
    with acting(user) as (svc, me):
        doc = svc.assessments.draft(me, deployment)
    if out is None:
        typer.echo(doc.text)
    else:
        out.write_text(doc.text, encoding="utf-8")
        typer.echo(f"written {out} (SHA-256 {doc.digest})")


@command(app, "run")
def dep_run(
    deployment: str,
    source: str = typer.Option(
        ..., "--source", help="Video file, stream URL, camera index or folder."
    ),
    camera: str = typer.Option(
        ..., "--camera", help="Camera id: must be on the deployment's whitelist."
    ),
    max_frames: int | None = typer.Option(None, help="Stop after this many frames."),
    realtime: bool = typer.Option(False, help="Pace a file at its frame rate like a live camera."),
    user: str | None = UserOpt,
) -> None:
    """Run the live pipeline for a live deployment: its watchlist, threshold, cameras and window."""
    from openlfr.config.settings import get_settings
    from openlfr.pipeline.sources import open_source
    from openlfr.services.run import run_deployment
    from openlfr.vision import build_engine

    with acting(user) as (svc, me):
        engine = build_engine(get_settings().vision)
        res = run_deployment(
            svc,
            me,
            deployment,
            open_source(source, realtime=realtime),
            camera_id=camera,
            engine=engine,
            max_frames=max_frames,
        )
    typer.echo(
        f"frames {res.frames_processed}, faces {res.faces_processed}, alerts {res.alerts_recorded}"
        + (f", refused {res.alerts_refused}" if res.alerts_refused else "")
    )

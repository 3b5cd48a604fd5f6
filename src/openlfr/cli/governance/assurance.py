"""`openlfr assurance`: the controller profile, test list and walk-bys, the false-alert monitor's
decisions, perceived-group records and the equality summary (issue 12)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from openlfr.cli.governance._common import UserOpt, acting, command, show

app = typer.Typer(
    help="Assurance: test walk-bys, false-alert monitor, equality monitoring, profile.",
    no_args_is_help=True,
)


@command(app, "profile")
def profile() -> None:
    """The controller profile of this installation (H.23) and the law it follows."""
    from openlfr.cli.governance._common import open_service

    p = open_service().assurance.profile
    show({"profile": p.profile.value, "title": p.title, "law": p.law})


@command(app, "show")
def assurance_show(deployment: str, user: str | None = UserOpt) -> None:
    """Walk-by results, the monitor's reading and whether alerts are held."""
    with acting(user) as (svc, me):
        show(svc.assurance.view(me, deployment))


@command(app, "configure")
def configure(
    deployment: str,
    min_tpir: float | None = typer.Option(None, "--min-tpir", help="Minimum walk-by TPIR."),
    threat_ref: str | None = typer.Option(None, "--threat-ref"),
    art9: str | None = typer.Option(None, "--art9-condition"),
    schedule: str | None = typer.Option(None, "--retention-schedule-url"),
    user: str | None = UserOpt,
) -> None:
    """Set a draft's minimum walk-by TPIR and profile facts (officer or administrator)."""
    fields = {
        k: v
        for k, v in (
            ("min_walkby_tpir", min_tpir),
            ("threat_ref", threat_ref),
            ("art9_condition", art9),
            ("retention_schedule_url", schedule),
        )
        if v is not None
    }
    with acting(user) as (svc, me):
        svc.assurance.configure(me, deployment, **fields)
    typer.echo("saved")


@command(app, "test-subject")
def test_subject(
    deployment: str,
    photo: Path = typer.Argument(..., exists=True, dir_okay=False),
    ref: str = typer.Option(..., "--ref", help="Staff reference."),
    consent: str = typer.Option(..., "--consent", help="Signed consent form reference."),
    consented_on: str = typer.Option(..., "--consented-on", help="YYYY-MM-DD"),
    sex: str | None = typer.Option(
        None, "--declared-sex", help="Only if the person chose to say: female, male, another."
    ),
    ethnicity: str | None = typer.Option(
        None, "--declared-ethnicity", help="Only if the person chose to say (ONS 2021 group)."
    ),
    user: str | None = UserOpt,
) -> None:
    """Enrol a consenting member of staff on the test list from a photo."""
    from openlfr.vision.engine import build_engine

    with acting(user) as (svc, me):
        tid = svc.assurance.walkbys.add_test_subject_from_photo(
            me,
            deployment,
            build_engine(),
            photo.read_bytes(),
            subject_ref=ref,
            consent_ref=consent,
            consented_on=date.fromisoformat(consented_on),
            declared_sex=sex,
            declared_ethnicity=ethnicity,
        )
    typer.echo(tid)


@command(app, "walkby")
def walkby(
    deployment: str,
    camera: str,
    source: str = typer.Argument(..., help="The camera's source: file, URL or device index."),
    max_frames: int | None = typer.Option(None, "--max-frames"),
    user: str | None = UserOpt,
) -> None:
    """Run a test walk-by on one camera of a live deployment; prints the TPIR on the day."""
    from openlfr.pipeline.sources import open_source
    from openlfr.services.walkby_run import run_walkby
    from openlfr.vision.engine import build_engine

    with acting(user) as (svc, me):
        svc.assurance.walkbys.check_operator(me, deployment)
        src = open_source(source)
        try:
            res = run_walkby(
                svc,
                me,
                deployment,
                src,
                camera_id=camera,
                engine=build_engine(),
                max_frames=max_frames,
            )
        finally:
            src.close()
    show(res)


@command(app, "acknowledge")
def acknowledge(
    deployment: str, reason: str = typer.Option(..., "--reason"), user: str | None = UserOpt
) -> None:
    """The authorising officer acknowledges a walk-by below the authorised level."""
    with acting(user) as (svc, me):
        svc.assurance.walkbys.acknowledge(me, deployment, reason)
    typer.echo("acknowledged")


@command(app, "decide")
def decide(
    deployment: str,
    choice: str = typer.Argument(..., help="resume | resume_higher_threshold | end"),
    reason: str = typer.Option(..., "--reason"),
    threshold: float | None = typer.Option(None, "--threshold", help="The new, higher one."),
    user: str | None = UserOpt,
) -> None:
    """Answer a paused false-alert monitor (the deployment's authorising officer)."""
    with acting(user) as (svc, me):
        svc.assurance.decide(me, deployment, choice, reason, new_threshold=threshold)
    typer.echo(choice)


@command(app, "group")
def group(alert: str, perceived: str, user: str | None = UserOpt) -> None:
    """After review: the group the operator perceived (optional; never inferred)."""
    with acting(user) as (svc, me):
        svc.assurance.record_group(me, alert, perceived)
    typer.echo("recorded")


@command(app, "equality")
def equality(
    year: int,
    deployment: str | None = typer.Option(None, "--deployment", help="Only this deployment."),
    user: str | None = UserOpt,
) -> None:
    """The year's equality summary (C.12): shares of false and confirmed alerts per group."""
    with acting(user) as (svc, me):
        show(svc.assurance.equality_for(me, year, deployment))

"""`openlfr alert`: review, outcome, legal hold."""

from __future__ import annotations

import typer

from openlfr.cli.governance._common import UserOpt, acting, command, fail, show

app = typer.Typer(help="Alerts: review, outcome, legal hold.", no_args_is_help=True)


@command(app, "list")
def alert_list(deployment: str, user: str | None = UserOpt) -> None:
    """Alerts of a deployment with status and outcome (operators, officers, auditors)."""
    with acting(user) as (svc, me):
        show(svc.alerts.alerts(me, deployment))


@command(app, "review")
def alert_review(
    alert: str,
    decision: str = typer.Argument(..., help="confirm | reject | unsure"),
    reason: str = typer.Option(..., "--reason"),
    user: str | None = UserOpt,
) -> None:
    """Adjudicate: confirm, reject or unsure, with a reason (D.13)."""
    with acting(user) as (svc, me):
        status = svc.alerts.review(me, alert, decision, reason)
    typer.echo(f"status: {status}")


@command(app, "outcome")
def alert_outcome(
    alert: str,
    result: str = typer.Option(
        ..., help="arrest | condition_check | no_further_action | not_located"
    ),
    engaged: bool = typer.Option(False, "--engaged/--not-engaged"),
    duration: float | None = typer.Option(None, "--duration", help="Engagement duration, seconds."),
    user: str | None = UserOpt,
) -> None:
    """Record what happened after the review (D.14)."""
    with acting(user) as (svc, me):
        svc.alerts.record_outcome(me, alert, engaged=engaged, duration_s=duration, result=result)
    typer.echo("recorded")


@command(app, "hold")
def alert_hold(
    alert: str,
    reason: str | None = typer.Option(None, "--reason"),
    release: bool = typer.Option(False, "--release"),
    user: str | None = UserOpt,
) -> None:
    """Place a legal hold (suspends expiry; needs a reason) or --release it."""
    if not release and not reason:
        fail("give --reason to place a hold, or --release")
    with acting(user) as (svc, me):
        svc.alerts.legal_hold(me, alert, None if release else reason)
    typer.echo("released" if release else "held")

"""`openlfr model`: model approvals from evaluation reports."""

from __future__ import annotations

from pathlib import Path

import typer

from openlfr.cli.governance._common import UserOpt, acting, command

app = typer.Typer(help="Model approvals (from `openlfr eval` reports).", no_args_is_help=True)


@command(app, "approve")
def model_approve(report: Path, user: str | None = UserOpt) -> None:
    """Record the approval section of an evaluation report (threshold floor, FPIR curve)."""
    from openlfr.eval.approval import ModelApproval

    approval = ModelApproval.from_report_json(report.read_text())
    with acting(user) as (svc, me):
        svc.approvals.record_model_approval(me, approval)
    typer.echo(
        f"model {approval.contract_id} approved; validated floor {approval.validated_min_threshold}"
    )

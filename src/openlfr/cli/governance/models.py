"""`openlfr model`: model approvals from evaluation reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from openlfr.cli.governance._common import UserOpt, acting, command

if TYPE_CHECKING:
    from openlfr.eval.approval import ModelApproval

app = typer.Typer(help="Model approvals (from `openlfr eval` reports).", no_args_is_help=True)


def _read(report: Path) -> tuple[ModelApproval, str, list[dict[str, Any]]]:
    import json

    from openlfr.governance.evaluation import per_group_summary
    from openlfr.services.approvals import approval_from_report, report_digest

    raw = json.loads(report.read_text())
    return approval_from_report(raw), report_digest(raw), per_group_summary(raw)


@command(app, "approve")
def model_approve(report: Path, user: str | None = UserOpt) -> None:
    """Record the approval section of an evaluation report (threshold floor, FPIR curve).

    It counts once a second person countersigns the same report (`openlfr model countersign`).
    """
    approval, digest, per_group = _read(report)
    with acting(user) as (svc, me):
        svc.approvals.record_model_approval(me, approval, digest, per_group)
    typer.echo(
        f"model {approval.contract_id} recorded, pending a second person's countersignature "
        f"(report SHA-256 {digest})"
    )


@command(app, "countersign")
def model_countersign(report: Path, user: str | None = UserOpt) -> None:
    """Countersign a recorded approval: REPORT must be the same report (digest checked)."""
    approval, digest, _ = _read(report)
    with acting(user) as (svc, me):
        svc.approvals.countersign(me, approval.contract_id, digest)
    typer.echo(f"model {approval.contract_id} approved")

"""`openlfr model`: model approvals from evaluation reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from openlfr.cli.governance._common import UserOpt, acting, command, fail

if TYPE_CHECKING:
    from openlfr.eval.approval import ModelApproval

app = typer.Typer(help="Model approvals (from `openlfr eval` reports).", no_args_is_help=True)

ShippedOpt = typer.Option(
    False,
    "--shipped",
    help="The default model's evaluation report shipped with OpenLFR (the supplier's "
    "evidence, for a pilot); refused where the controller profile requires local evaluation.",
)


def _read(report: Path | None, shipped: bool) -> tuple[ModelApproval, str, list[dict[str, Any]]]:
    import dataclasses
    import json

    from openlfr.eval.approval import SUPPLIER
    from openlfr.eval.calibration import shipped_report_path
    from openlfr.governance.evaluation import per_group_summary
    from openlfr.services.approvals import approval_from_report, report_digest

    if shipped == (report is not None):
        fail("give either REPORT or --shipped")
    path = shipped_report_path() if shipped else report
    assert path is not None
    if not path.is_file():
        fail(f"no such report: {path}" + (" (this build ships none)" if shipped else ""))
    try:
        raw = json.loads(path.read_text())
        approval = approval_from_report(raw)
    except ValueError as e:
        fail(f"error: {path}: {e} (make one with `openlfr eval report`)")
    if shipped:
        approval = dataclasses.replace(approval, evidence=SUPPLIER)
    return approval, report_digest(raw), per_group_summary(raw)


@command(app, "approve")
def model_approve(
    report: Path | None = typer.Argument(None, help="An `openlfr eval report` JSON."),
    shipped: bool = ShippedOpt,
    user: str | None = UserOpt,
) -> None:
    """Record the approval section of an evaluation report (threshold floor, FPIR curve).

    It counts once a second person countersigns the same report (`openlfr model countersign`).
    """
    from openlfr.eval.approval import SUPPLIER
    from openlfr.services.approvals import SUPPLIER_RECOMMENDATION

    approval, digest, per_group = _read(report, shipped)
    with acting(user) as (svc, me):
        svc.approvals.record_model_approval(me, approval, digest, per_group)
    typer.echo(
        f"model {approval.contract_id} recorded, pending a second person's countersignature "
        f"(report SHA-256 {digest})"
    )
    if approval.evidence == SUPPLIER:
        typer.secho(f"recommendation: {SUPPLIER_RECOMMENDATION}", fg=typer.colors.YELLOW)


@command(app, "countersign")
def model_countersign(
    report: Path | None = typer.Argument(None, help="The same report."),
    shipped: bool = ShippedOpt,
    user: str | None = UserOpt,
) -> None:
    """Countersign a recorded approval: REPORT must be the same report (digest checked)."""
    approval, digest, _ = _read(report, shipped)
    with acting(user) as (svc, me):
        svc.approvals.countersign(me, approval.contract_id, digest)
    typer.echo(f"model {approval.contract_id} approved")


@command(app, "show")
def model_show(
    report: Path | None = typer.Argument(None, help="An `openlfr eval report` JSON."),
    shipped: bool = ShippedOpt,
    field: str | None = typer.Option(
        None, help="Print only this field (e.g. contract_id, default_threshold) for scripts."
    ),
) -> None:
    """What a report would approve: model, thresholds, date (read-only, no login)."""
    from openlfr.cli.governance._common import show

    approval, digest, _ = _read(report, shipped)
    summary = {
        "contract_id": approval.contract_id,
        "created_at": approval.created_at,
        "default_threshold": approval.default_threshold,
        "validated_min_threshold": approval.validated_min_threshold,
        "evidence": approval.evidence,
        "report_sha256": digest,
    }
    if field is None:
        show(summary)
    elif field not in summary:
        fail(f"no field {field!r}: one of {', '.join(summary)}")
    else:
        typer.echo(summary[field])

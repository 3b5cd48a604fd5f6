"""`openlfr doctor`: check this installation and say what is wrong and how to fix it.

Exit status: 0 nothing failed (warnings allowed, unless --strict), 1 something failed, so a
script or a unit's ExecStartPre can stop on it."""

from __future__ import annotations

from enum import StrEnum

import typer


class Role(StrEnum):
    centre = "centre"
    worker = "worker"


def doctor(
    role: Role = typer.Option(
        Role.centre,
        help="centre: configuration, keys, database, approvals, models, broker. worker: "
        "configuration, models, broker, the centre's clock.",
    ),
    broker: str | None = typer.Option(None, help="Broker URL (else [serve]/[worker] broker)."),
    centre: str | None = typer.Option(None, help="Centre URL (else [worker] centre)."),
    strict: bool = typer.Option(False, help="Warnings fail too."),
) -> None:
    """Check the configuration, key files, database, broker, models, approvals and clock."""
    from openlfr.doctor.findings import Finding, Level
    from openlfr.doctor.report import run_checks

    findings: list[Finding] = run_checks(role.value, broker=broker, centre=centre)
    for f in findings:
        colour = {Level.FAIL: typer.colors.RED, Level.WARN: typer.colors.YELLOW}.get(f.level)
        typer.secho(f.line(), fg=colour)
    failed = [f for f in findings if f.level == Level.FAIL]
    warned = [f for f in findings if f.level == Level.WARN]
    typer.echo(
        f"{len(failed)} failed, {len(warned)} warnings, "
        f"{sum(f.level == Level.OK for f in findings)} ok"
    )
    if failed or (strict and warned):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)

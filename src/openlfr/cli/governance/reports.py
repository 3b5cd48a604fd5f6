"""`openlfr report`: transparency documents (deployment record, public notice, annual)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from openlfr.cli.governance._common import command, open_service, write_out

app = typer.Typer(help="Transparency documents.", no_args_is_help=True)
FormatOpt = typer.Option("json", "--format", help="json | csv | html")
OutOpt = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout.")


def _render(
    title: str, doc: dict[str, Any], fmt: str, rows: list[dict[str, Any]] | None = None
) -> str:
    from openlfr.governance import transparency as tr

    if fmt == "json":
        return tr.to_json(doc)
    if fmt == "csv":
        return tr.to_csv(rows if rows is not None else [doc])
    if fmt == "html":
        return tr.to_html(title, {title: doc})
    raise ValueError(f"format {fmt!r} is not one of json, csv, html")


@command(app, "deployment")
def report_deployment(deployment: str, fmt: str = FormatOpt, out: Path | None = OutOpt) -> None:
    """The post-deployment record (F.19)."""
    rec = open_service().transparency.deployment_record(deployment).to_dict()
    write_out(_render(f"Deployment record {deployment}", rec, fmt), out)


@command(app, "notice")
def report_notice(deployment: str, fmt: str = FormatOpt, out: Path | None = OutOpt) -> None:
    """The public pre-deployment notice and signage checklist (F.18)."""
    from dataclasses import asdict

    n = open_service().transparency.public_notice(deployment)
    doc = {**asdict(n), "signage_complete": n.signage_complete}
    write_out(_render(f"Public notice: facial recognition at {n.location}", doc, fmt), out)


@command(app, "annual")
def report_annual(year: int, fmt: str = FormatOpt, out: Path | None = OutOpt) -> None:
    """The annual summary over every deployment that started in YEAR."""
    doc = open_service().transparency.annual_summary(year)
    records = doc.pop("deployment_records")
    if fmt == "html":
        from openlfr.governance import transparency as tr

        write_out(
            tr.to_html(
                f"Annual LFR report {year}",
                {"Summary": doc, **{f"Deployment {r['deployment_id']}": r for r in records}},
            ),
            out,
        )
        return
    write_out(
        _render(
            f"Annual LFR report {year}",
            {**doc, "deployments_detail": records},
            fmt,
            rows=records if fmt == "csv" else None,
        ),
        out,
    )

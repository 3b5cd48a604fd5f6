"""`openlfr audit` (the hash-chained log) and `openlfr purge` (the retention job, once)."""

from __future__ import annotations

import typer

from openlfr.cli.governance._common import command, open_service, show, typed_errors

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@typed_errors
def purge() -> None:
    """Run the retention job once: end lapsed deployments, destroy lists, delete expired alerts."""
    rc = open_service().retention.purge()
    show(rc.to_dict())


@command(app, "verify")
def audit_verify(
    head: str | None = typer.Option(
        None,
        "--head",
        help="A chain head published earlier (RECORDS:HASH, from a transparency record or "
        "annual report): proves the log still holds it (no truncation or rewrite since).",
    ),
) -> None:
    """Exit 0 if the chain is intact; 1 naming the first bad record otherwise."""
    rep = open_service().audit.verify_audit(published=head)
    if not rep.ok:
        typer.secho(str(rep), fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(str(rep))

"""`openlfr db`: database migrations."""

from __future__ import annotations

import typer

from openlfr.cli.governance._common import command

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@command(app, "upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Create or migrate the database at OPENLFR_DATABASE_URL (default: SQLite in the data dir)."""
    from openlfr.config.settings import get_settings
    from openlfr.storage.db import upgrade

    url = get_settings().resolved_database_url
    upgrade(url, revision)
    typer.echo(f"database at {url.split('@')[-1]} is at revision {revision}")

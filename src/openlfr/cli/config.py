"""`openlfr config show`: the effective settings (file, environment and defaults merged), secrets
masked, in the configuration file's own format so a site can start its file from it."""

from __future__ import annotations

import typer

from openlfr.cli.governance._common import command

app = typer.Typer(help="The configuration file and the effective settings.", no_args_is_help=True)


@command(app, "show")
def config_show() -> None:
    """Print every setting as it takes effect now, as TOML; secrets show as "********"."""
    from openlfr.config.file import config_path
    from openlfr.config.show import effective, to_toml

    path = config_path()
    typer.echo(f"# configuration file: {path if path else 'none (set --config or OPENLFR_CONFIG)'}")
    typer.echo("# precedence: flags > OPENLFR_* environment > .env > this file > defaults")
    typer.echo(to_toml(effective()))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="config")

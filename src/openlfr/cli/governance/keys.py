"""`openlfr keys`: the master key file."""

from __future__ import annotations

from pathlib import Path

import typer

from openlfr.cli.governance._common import command, fail

app = typer.Typer(
    help="The master key that wraps every deployment's data keys.", no_args_is_help=True
)


@command(app, "init")
def keys_init(
    path: Path | None = typer.Option(None, help="Key file (default: DATA_DIR/master.key)."),
) -> None:
    """Create the master key file (owner-readable only). Back it up apart from the database."""
    from openlfr.config.settings import get_settings
    from openlfr.storage.crypto import generate_key_file

    st = get_settings()
    target = path or st.governance.key_file or st.data_dir / "master.key"
    try:
        generate_key_file(target)
    except FileExistsError:
        fail(
            f"{target} exists; refusing to overwrite a master key "
            "(that would shred every deployment)"
        )
    typer.echo(f"master key written to {target}")

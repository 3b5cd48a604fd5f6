"""Entry point of the `openlfr` command.

Each concern registers its own commands from its own module, so this file only wires them up.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from openlfr import __version__

app = typer.Typer(
    name="openlfr",
    help="OpenLFR: live facial recognition that is accurate, measured and lawful by design.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold images or templates
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
    config: Path | None = typer.Option(
        None,
        "--config",
        envvar="OPENLFR_CONFIG",
        help="Configuration file (TOML); flags and OPENLFR_* variables override it.",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Debug logging (ids only, never biometrics)."
    ),
    log_format: str | None = typer.Option(
        None, "--log-format", help="text (default) or json (one object a line, for shippers)."
    ),
) -> None:
    from openlfr import safelog
    from openlfr.config.file import CONFIG_ENV
    from openlfr.config.process import LogSettings, flags
    from openlfr.config.settings import get_settings
    from openlfr.errors import OpenLFRError

    if config is not None:
        # In the environment, so every settings class and any child process reads the same file.
        os.environ[CONFIG_ENV] = str(config)
        get_settings.cache_clear()
    try:
        st = LogSettings(**flags(level="DEBUG" if verbose else None, format=log_format))  # type: ignore[arg-type]
    except (OpenLFRError, ValueError) as e:
        typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    safelog.configure(st.level, st.format)


def _register() -> None:
    # Imported here so `openlfr --help` stays fast and a missing optional piece fails alone.
    from openlfr.cli import bench, config, doctor, governance, serve, watch, worker
    from openlfr.cli import eval as eval_cli

    bench.register(app)
    watch.register(app)
    eval_cli.register(app)
    governance.register(app)
    serve.register(app)
    worker.register(app)
    config.register(app)
    doctor.register(app)


def main() -> None:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    _register()
    app()


if __name__ == "__main__":
    main()

"""Entry point of the `openlfr` command.

Each concern registers its own commands from its own module, so this file only wires them up.
"""

from __future__ import annotations

import logging
import os

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
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Debug logging (ids only, never biometrics)."
    ),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    # Imported here so `openlfr --help` stays fast and a missing optional piece fails alone.
    from openlfr.cli import bench, governance, serve, watch, worker
    from openlfr.cli import eval as eval_cli

    bench.register(app)
    watch.register(app)
    eval_cli.register(app)
    governance.register(app)
    serve.register(app)
    worker.register(app)


def main() -> None:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    _register()
    app()


if __name__ == "__main__":
    main()

"""The `openlfr` command line: one Typer app, each command a thin call into the packages."""

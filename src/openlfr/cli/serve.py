"""`openlfr serve` (API, console and live pipelines in one process) and `openlfr demo`."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from openlfr.cli import broker_options as bo
from openlfr.errors import OpenLFRError

if TYPE_CHECKING:
    from openlfr.api.live import SourceSpec


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (8000)."),
    camera: list[str] = typer.Option(
        [],
        "--camera",
        "-c",
        help="CAMERA_ID=SOURCE (file, stream URL or camera index); repeatable; replaces "
        "the config's serve.cameras. A live deployment runs every whitelisted camera that "
        "has a source.",
    ),
    broker: str | None = bo.URL,
    broker_ca: Path | None = bo.CA,
    broker_cert: Path | None = bo.CERT,
    broker_key: Path | None = bo.KEY,
    broker_nkey_seed: Path | None = bo.NKEY,
    broker_creds: Path | None = bo.CREDS,
    broker_user: str | None = bo.USER,
    broker_password_file: Path | None = bo.PASSWORD_FILE,
    loop: bool | None = typer.Option(
        None, "--loop/--no-loop", help="File cameras start again at their end (rehearsals)."
    ),
) -> None:
    """Run the REST API, the operator console and the live pipelines of running deployments.

    With a broker (--broker, serve.broker or $OPENLFR_BROKER__URL) cameras run on `openlfr
    worker`s and alerts and counters arrive over JetStream; this process decodes no video.
    Options not given here come from the environment (OPENLFR_SERVE_*) or the configuration
    file's serve table (the broker login from its broker table)."""
    from openlfr.api import create_app
    from openlfr.api.context import ApiContext
    from openlfr.api.server import bootstrap, run_server
    from openlfr.cli.cameras import camera_sources, looping
    from openlfr.config.process import ServeSettings, flags
    from openlfr.config.settings import get_settings

    try:
        settings = get_settings()
        st = ServeSettings(
            **flags(  # type: ignore[arg-type]
                host=host,
                port=port,
                broker=broker,
                cameras=camera_sources(camera) or None,
                loop=loop,
            )
        )
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    link_settings = bo.broker_settings(
        st.broker, broker_ca, broker_cert, broker_key, broker_nkey_seed, broker_creds,
        broker_user, broker_password_file,
    )  # fmt: skip
    if link_settings.urls and st.cameras:
        raise typer.BadParameter("--camera runs video in this process; with --broker use workers")
    try:
        b = bootstrap(settings)
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    host, port = st.host, st.port
    if b.key_created:
        typer.echo(f"created the master key {b.key_file}: back it up apart from the database")
    if b.admin_password:
        first_admin_notice(b.admin_password, b.key_file.parent)
    for w in b.warnings:
        typer.secho(f"warning: {w}", fg=typer.colors.YELLOW, err=True)
    sources: dict[str, SourceSpec] = (
        looping(st.cameras, realtime=True) if st.loop else dict(st.cameras)
    )
    app = create_app(b.service, sources=sources, **ApiContext.options(settings.api))
    link = None
    if link_settings.urls:
        from openlfr.centre.link import CentreLink
        from openlfr.centre.metrics import CentreCollector

        bo.warn_if_exposed(link_settings)
        try:
            link = CentreLink(
                b.service, link_settings, engine=app.state.ctx.live.engine.get
            ).start()
        except OpenLFRError as e:
            typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
        app.state.centre = link
        app.state.ctx.metrics.registry.register(CentreCollector(link))
        typer.echo(f"consuming alerts and counters from {link_settings.describe()}")
    typer.echo(f"OpenLFR on http://{host}:{port}/  (API docs: /api/v1/docs)")
    try:
        run_server(app, host, port)
    finally:
        if link is not None:
            link.stop()


def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port."),
    keep: bool = typer.Option(False, help="Keep the temporary data directory on exit."),
    video: Path | None = typer.Option(
        None,
        help="Run on this video instead of the synthetic scene: the best face of its first "
        "second is enrolled and the run watches from 1 s on (e.g. "
        "../shared/data/video/walkers_1080p.mp4).",
    ),
) -> None:
    """Start the server with a ready demo deployment on a synthetic scene (no downloads)."""
    import os

    from openlfr.api import create_app
    from openlfr.api.demo import CAMERA, AstronautScene, instructions, prepare
    from openlfr.api.server import bootstrap, run_server
    from openlfr.config.settings import Settings
    from openlfr.pipeline.sources import PyAVSource
    from openlfr.vision.engine import build_engine

    data_dir = Path(tempfile.mkdtemp(prefix="openlfr-demo-"))
    os.environ.pop("OPENLFR_MASTER_KEY", None)  # the demo uses its own throw-away key
    try:
        settings = Settings(data_dir=data_dir, database_url=None, key_dir=data_dir / "keys")
        b = bootstrap(settings)
        assert b.admin_password is not None
        if video is not None and not video.is_file():
            raise typer.BadParameter(f"no such video file: {video}")
        world = prepare(b.service, b.admin_password, build_engine(), str(video) if video else None)
        if video is not None:
            spec = str(video)
            # Every frame, not paced: a short clip must not lose its subject to frame drops on a
            # busy machine.
            source: SourceSpec = lambda: PyAVSource(spec, start_s=1.0)  # noqa: E731
        else:
            source = AstronautScene
        url = f"http://{host}:{port}"
        text = instructions(url, world, data_dir)
        app = create_app(
            b.service,
            sources={CAMERA: source},
            banner=f"Demo deployment ready. {text}".split("One-time passwords")[0].strip(),
        )
        typer.echo(text)
        run_server(app, host, port)
    finally:
        if not keep:
            shutil.rmtree(data_dir, ignore_errors=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("demo")(demo)


def first_admin_notice(password: str, key_dir: Path) -> None:
    """Show the first administrator's one-time password once. On a terminal it is printed; when
    stdout is not one (systemd, a pipe into a log) it would land in a log that outlives it, so
    it goes to a file only this user can read, and the log gets the file's name."""
    if sys.stdout.isatty():
        typer.echo(
            f"first start: administrator 'admin' with one-time password {password}\n"
            "(printed once; change it under Account after logging in)"
        )
        return
    path = key_dir / "first-admin-password"
    key_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    typer.echo(
        f"first start: administrator 'admin'; its one-time password is in {path} (mode 600). "
        "Log in, change it under Account, then delete the file."
    )

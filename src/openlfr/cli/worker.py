"""`openlfr worker`: run the cameras the centre assigns to this worker (see edge/worker.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer

from openlfr.cli import broker_options as bo
from openlfr.errors import OpenLFRError

TOKEN_ENV = "OPENLFR_WORKER_TOKEN"


def worker(
    centre: str = typer.Option(..., "--centre", help="The centre's base URL (https://...)."),
    broker: str | None = bo.URL,
    broker_ca: Path | None = bo.CA,
    broker_cert: Path | None = bo.CERT,
    broker_key: Path | None = bo.KEY,
    broker_nkey_seed: Path | None = bo.NKEY,
    broker_creds: Path | None = bo.CREDS,
    broker_user: str | None = bo.USER,
    broker_password_file: Path | None = bo.PASSWORD_FILE,
    camera: list[str] = typer.Option(
        [], "--camera", "-c", help="CAMERA_ID=SOURCE (file, stream URL or camera index)."
    ),
    token_file: Path | None = typer.Option(
        None,
        help=f"File holding this worker's token (else ${TOKEN_ENV}); never on the command line.",
    ),
    lease_s: float = typer.Option(
        30.0, help="Stop every camera when the centre has not answered for this long."
    ),
    poll_s: float = typer.Option(1.0, help="How often to ask the centre for assignments."),
    realtime: bool = typer.Option(
        True, help="Pace file sources at their frame rate (a camera); --no-realtime: flat out."
    ),
    centre_ca: Path | None = typer.Option(None, help="CA bundle for the centre's TLS."),
    detect_stride: int | None = typer.Option(None, help="Run the detector every k-th frame."),
    health_port: int | None = typer.Option(
        None,
        help="Serve /healthz and /metrics on this port (0: any free one; default: off).",
    ),
    health_host: str = typer.Option(
        "127.0.0.1", help="Address of the health endpoint (loopback unless a scraper needs it)."
    ),
) -> None:
    """Run the live pipeline for the cameras of live deployments the centre assigns here."""
    from openlfr.cli.serve import _sources
    from openlfr.config.broker import redact
    from openlfr.edge.worker import Worker, WorkerConfig

    if token_file is not None:
        token = token_file.read_text().strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise typer.BadParameter(f"no worker token: --token-file or ${TOKEN_ENV}")
    link = bo.broker_settings(
        broker, broker_ca, broker_cert, broker_key, broker_nkey_seed, broker_creds,
        broker_user, broker_password_file,
    )  # fmt: skip
    if not link.urls:
        raise typer.BadParameter("no broker: --broker or $OPENLFR_BROKER__URL")
    bo.warn_if_exposed(link)
    pipeline_config = None
    if detect_stride is not None:
        from openlfr.pipeline.runner import PipelineConfig

        pipeline_config = PipelineConfig(detect_stride=detect_stride)
    from openlfr.broker.auth import connect_options

    try:
        w = Worker(
            WorkerConfig(
                centre=centre,
                broker=",".join(link.urls),
                token=token,
                cameras=dict(_sources(camera)),
                poll_s=poll_s,
                lease_s=lease_s,
                realtime=realtime,
                pipeline_config=pipeline_config,
                broker_options=connect_options(link),
                verify_tls=str(centre_ca) if centre_ca else True,
            )
        )
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    signal.signal(signal.SIGTERM, lambda *_: w.shutdown.set())
    signal.signal(signal.SIGINT, lambda *_: w.shutdown.set())
    typer.echo(
        f"worker {w.worker_id}: centre {redact(centre)}, broker {link.describe()}, "
        f"cameras {sorted(w.config.cameras)}"
    )
    endpoint = None
    if health_port is not None:
        from openlfr.edge.health import WorkerEndpoint

        endpoint = WorkerEndpoint(w, health_port, health_host).start()
        typer.echo(f"health and metrics on http://{health_host}:{endpoint.port}/healthz")
    try:
        why = w.run()
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    finally:
        if endpoint is not None:
            endpoint.stop()
    typer.echo(f"worker stopped: {why}")
    if why == "revoked":
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)

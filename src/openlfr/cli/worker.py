"""`openlfr worker`: run the cameras the centre assigns to this worker (see edge/worker.py)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import typer

from openlfr.errors import OpenLFRError

TOKEN_ENV = "OPENLFR_WORKER_TOKEN"


def worker(
    centre: str = typer.Option(..., "--centre", help="The centre's base URL (https://...)."),
    broker: str = typer.Option(..., "--broker", help="NATS URL, e.g. nats://HOST:4222."),
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
    nats_creds: Path | None = typer.Option(None, help="NATS credentials file (.creds)."),
    nats_ca: Path | None = typer.Option(None, help="CA bundle for the broker's TLS."),
    centre_ca: Path | None = typer.Option(None, help="CA bundle for the centre's TLS."),
    detect_stride: int | None = typer.Option(None, help="Run the detector every k-th frame."),
    key_file: Path | None = typer.Option(
        None,
        help="This worker's Ed25519 signing key, made at first start and enrolled with the "
        "centre (default: $XDG_STATE_HOME/openlfr/worker-<id>.key). Keep it: the centre "
        "accepts no other key for this worker.",
    ),
) -> None:
    """Run the live pipeline for the cameras of live deployments the centre assigns here."""
    from openlfr.cli.cameras import camera_sources as _sources
    from openlfr.edge.worker import Worker, WorkerConfig

    if token_file is not None:
        token = token_file.read_text().strip()
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise typer.BadParameter(f"no worker token: --token-file or ${TOKEN_ENV}")
    opts: dict[str, object] = {}
    if nats_creds is not None:
        opts["user_credentials"] = str(nats_creds)
    if nats_ca is not None:
        import ssl

        opts["tls"] = ssl.create_default_context(cafile=str(nats_ca))
    pipeline_config = None
    if detect_stride is not None:
        from openlfr.pipeline.runner import PipelineConfig

        pipeline_config = PipelineConfig(detect_stride=detect_stride)
    from openlfr.broker.protocol import parse_token

    try:
        wid, _ = parse_token(token)
        if key_file is None:
            state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
            key_file = Path(state) / "openlfr" / f"worker-{wid}.key"
        w = Worker(
            WorkerConfig(
                centre=centre,
                broker=broker,
                token=token,
                cameras=dict(_sources(camera)),
                poll_s=poll_s,
                lease_s=lease_s,
                realtime=realtime,
                pipeline_config=pipeline_config,
                broker_options=opts,
                verify_tls=str(centre_ca) if centre_ca else True,
                key_file=key_file,
            )
        )
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    signal.signal(signal.SIGTERM, lambda *_: w.shutdown.set())
    signal.signal(signal.SIGINT, lambda *_: w.shutdown.set())
    typer.echo(
        f"worker {w.worker_id}: centre {centre}, broker {broker}, "
        f"cameras {sorted(w.config.cameras)}"
    )
    try:
        why = w.run()
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"worker stopped: {why}")
    if why == "revoked":
        raise typer.Exit(3)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)

"""`openlfr worker`: run the cameras the centre assigns to this worker (see edge/worker.py).

Every option also has a key in the configuration file's [worker] table (config/process.py); the
broker login has its own [broker] table (config/broker.py), shared with `serve --broker`. A flag
given here wins over the environment, which wins over the file.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import typer

from openlfr.cli import broker_options as bo
from openlfr.errors import OpenLFRError

TOKEN_ENV = "OPENLFR_WORKER_TOKEN"
log = logging.getLogger("openlfr.worker")


def worker(
    centre: str | None = typer.Option(
        None, "--centre", help="The centre's base URL (https://...); config: worker.centre."
    ),
    broker: str | None = bo.URL,
    broker_ca: Path | None = bo.CA,
    broker_cert: Path | None = bo.CERT,
    broker_key: Path | None = bo.KEY,
    broker_nkey_seed: Path | None = bo.NKEY,
    broker_creds: Path | None = bo.CREDS,
    broker_user: str | None = bo.USER,
    broker_password_file: Path | None = bo.PASSWORD_FILE,
    camera: list[str] = typer.Option(
        [],
        "--camera",
        "-c",
        help="CAMERA_ID=SOURCE (file, stream URL or camera index); replaces the config's "
        "worker.cameras.",
    ),
    token_file: Path | None = typer.Option(
        None,
        help=f"File holding this worker's token (else ${TOKEN_ENV}, else worker.token_file "
        "in the config); never on the command line.",
    ),
    lease_s: float | None = typer.Option(
        None, help="Stop every camera when the centre has not answered for this long (30)."
    ),
    poll_s: float | None = typer.Option(None, help="How often to ask the centre (1 s)."),
    realtime: bool | None = typer.Option(
        None,
        "--realtime/--no-realtime",
        help="Pace file sources at their frame rate (a camera, the default); or flat out.",
    ),
    loop: bool | None = typer.Option(
        None, "--loop/--no-loop", help="File cameras start again at their end (rehearsals)."
    ),
    centre_ca: Path | None = typer.Option(None, help="CA bundle for the centre's TLS."),
    detect_stride: int | None = typer.Option(None, help="Run the detector every k-th frame."),
    key_file: Path | None = typer.Option(
        None,
        help="This worker's Ed25519 signing key, made at first start and enrolled with the "
        "centre (default: $XDG_STATE_HOME/openlfr/worker-<id>.key). Keep it: the centre "
        "accepts no other key for this worker.",
    ),
    health_port: int | None = typer.Option(
        None,
        help="Serve /healthz and /metrics on this port (0: any free one; default: off).",
    ),
    health_host: str = typer.Option(
        "127.0.0.1", help="Address of the health endpoint (loopback unless a scraper needs it)."
    ),
) -> None:
    """Run the live pipeline for the cameras of live deployments the centre assigns here."""
    from openlfr.broker.auth import connect_options
    from openlfr.broker.protocol import parse_token
    from openlfr.cli.cameras import camera_sources, looping
    from openlfr.config.broker import redact
    from openlfr.config.process import WorkerSettings, flags
    from openlfr.edge.worker import Worker, WorkerConfig

    try:
        st = WorkerSettings(
            **flags(  # type: ignore[arg-type]
                centre=centre,
                broker=broker,
                cameras=dict(camera_sources(camera)) or None,
                token=token_file.read_text().strip() if token_file is not None else None,
                lease_s=lease_s,
                poll_s=poll_s,
                realtime=realtime,
                loop=loop,
                centre_ca=centre_ca,
                detect_stride=detect_stride,
                key_file=key_file,
            )
        )
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    token = st.token.get_secret_value().strip() if st.token is not None else ""
    if not token:
        raise typer.BadParameter(f"no worker token: --token-file, ${TOKEN_ENV} or token_file")
    if not st.centre:
        raise typer.BadParameter("say where the centre is: --centre or worker.centre")
    # worker.broker / nats_creds / nats_ca of the [worker] table stand in for the [broker]
    # table's url / creds_file / ca_file where neither a flag nor [broker] gives them.
    link = bo.broker_settings(
        st.broker, broker_ca or st.nats_ca, broker_cert, broker_key, broker_nkey_seed,
        broker_creds or st.nats_creds, broker_user, broker_password_file,
    )  # fmt: skip
    if not link.urls:
        raise typer.BadParameter("no broker: --broker, worker.broker or $OPENLFR_BROKER__URL")
    bo.warn_if_exposed(link)
    pipeline_config = None
    if st.detect_stride is not None:
        from openlfr.pipeline.runner import PipelineConfig

        pipeline_config = PipelineConfig(detect_stride=st.detect_stride)
    try:
        wid, _ = parse_token(token)
        key_path = st.key_file
        if key_path is None:
            state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
            key_path = Path(state) / "openlfr" / f"worker-{wid}.key"
        w = Worker(
            WorkerConfig(
                centre=st.centre,
                broker=",".join(link.urls),
                token=token,
                cameras=looping(st.cameras, realtime=st.realtime) if st.loop else dict(st.cameras),
                poll_s=st.poll_s,
                lease_s=st.lease_s,
                realtime=st.realtime,
                pipeline_config=pipeline_config,
                broker_options=connect_options(link),
                verify_tls=str(st.centre_ca) if st.centre_ca else True,
                key_file=key_path,
            )
        )
    except OpenLFRError as e:
        typer.secho(f"error ({e.code}): {e}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if st.centre.startswith("http://") and not _loopback(st.centre):
        log.warning(
            "centre %s is plain HTTP: the worker token crosses the network readable; use https",
            redact(st.centre),
        )
    signal.signal(signal.SIGTERM, lambda *_: w.shutdown.set())
    signal.signal(signal.SIGINT, lambda *_: w.shutdown.set())
    log.info(
        "worker %s started: centre %s, broker %s, cameras %s%s",
        w.worker_id,
        redact(st.centre),
        link.describe(),
        sorted(w.config.cameras),
        " (file cameras loop)" if st.loop else "",
    )
    typer.echo(
        f"worker {w.worker_id}: centre {redact(st.centre)}, broker {link.describe()}, "
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
    log.info("worker %s stopped: %s", w.worker_id, why)
    typer.echo(f"worker stopped: {why}")
    if why == "revoked":
        raise typer.Exit(3)


def _loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)

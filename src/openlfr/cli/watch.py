"""`openlfr watch`: run the live pipeline on one source against a folder watchlist."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Literal

import typer

from openlfr.errors import OpenLFRError


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("watch")(watch)


def watch(
    source: str = typer.Option(
        ..., "--source", help="Video file, rtsp:// or http:// URL, camera index, or image folder."
    ),
    watchlist: Path = typer.Option(
        ...,
        "--watchlist",
        help="Folder with one sub-folder of photos per subject (folder name = subject id).",
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="Cosine threshold; default: derived from the model's calibration for the "
        "watchlist's size and --fpir (never below the model's validated minimum).",
    ),
    fpir: float = typer.Option(
        1e-3,
        "--fpir",
        min=1e-9,
        max=1.0,
        help="Policy FPIR (share of passers-by falsely alerted) the derived threshold meets.",
    ),
    calibration: Path | None = typer.Option(
        None,
        "--calibration",
        help="An `openlfr eval report` JSON (or its approval) for this model; default: the "
        "calibration shipped for the default engine.",
    ),
    alerts_out: Path | None = typer.Option(
        None, "--alerts-out", help="Append alerts here as JSON lines."
    ),
    images: str = typer.Option(
        "files", "--images", help="Alert crops as 'files' beside the JSONL or inline 'base64'."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a final summary as one JSON object."),
    camera_id: str = typer.Option("camera-0", "--camera-id"),
    stride: int = typer.Option(3, "--stride", min=1, help="Run the detector on every k-th frame."),
    max_side: int = typer.Option(
        960, "--max-side", min=64, help="Longest side of the frame the detector sees."
    ),
    realtime: bool = typer.Option(
        False,
        "--realtime",
        help="Play a file at its own frame rate, like a camera: frames drop when too slow.",
    ),
    start: float = typer.Option(
        0.0, "--start", min=0.0, help="Start this many seconds into a file."
    ),
    threads: int = typer.Option(
        1,
        "--threads",
        min=0,
        help="Embedder threads (0 = all cores). 1 leaves a core for decoding.",
    ),
    max_frames: int | None = typer.Option(None, "--max-frames", min=1),
) -> None:
    """Watch a source for the subjects of a watchlist; alert on matches, keep nothing else."""
    from openlfr.config.settings import VisionSettings
    from openlfr.matching import Watchlist
    from openlfr.pipeline import (
        JsonlAlertSink,
        MemoryAlertSink,
        Pipeline,
        PipelineConfig,
        open_source,
    )
    from openlfr.pipeline.alerts import AlertSink
    from openlfr.pipeline.runner import Counters
    from openlfr.vision import build_engine

    if images not in ("files", "base64"):
        raise typer.BadParameter("--images must be 'files' or 'base64'")
    err = sys.stderr
    try:
        engine = build_engine(VisionSettings(threads=threads))
        wl, issues = Watchlist.from_folder(watchlist, engine)
        for i in issues:
            typer.echo(f"enrolment: {i.subject_id}: {i.code}: {i.path}", err=True)
        if len(wl) == 0:
            typer.echo("error: the watchlist enrolled nobody", err=True)
            raise typer.Exit(2)
        if threshold is None:
            photos = max(
                (
                    sum(1 for f in d.iterdir() if f.is_file())
                    for d in Path(watchlist).iterdir()
                    if d.is_dir()
                ),
                default=1,
            )
            threshold = _derived_threshold(engine, len(wl), fpir, calibration, photos)
        sink: AlertSink
        mode: Literal["files", "base64"] = "base64" if images == "base64" else "files"
        sink = JsonlAlertSink(alerts_out, images=mode) if alerts_out else MemoryAlertSink()
        src = open_source(source, realtime=realtime, start_s=start)
        cfg = PipelineConfig(
            camera_id=camera_id, threshold=threshold, detect_stride=stride, detect_max_side=max_side
        )
        snapshot_detector = None
        if engine.name == "sface":
            from openlfr.vision.yunet import YuNetDetector

            # Low threshold on purpose: in a snapshot, over-pixelating is the safe error.
            snapshot_detector = YuNetDetector(score_threshold=0.3)
        pipe = Pipeline(engine, wl, sink, cfg, snapshot_detector=snapshot_detector)
        tty = err.isatty()

        def status(c: Counters) -> None:
            if tty:
                err.write(
                    f"\r{c.fps:5.1f} fps  faces {c.faces_detected}  tracks {c.tracks}  "
                    f"alerts {c.alerts}  dropped {c.dropped_frames}   "
                )
                err.flush()

        stop = threading.Event()
        # Ctrl-C ends the run cleanly (tracks ended, summary printed) instead of unwinding it.
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
        try:
            summary = pipe.run(
                src, should_stop=stop.is_set, on_status=status, max_frames=max_frames
            )
        finally:
            signal.signal(signal.SIGINT, previous)
    except OpenLFRError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if tty:
        err.write("\n")
    d = summary.to_dict()
    d["watchlist_subjects"] = len(wl)
    d["enrolment_issues"] = len(issues)
    if as_json:
        typer.echo(json.dumps(d, sort_keys=True))
    else:
        typer.echo(
            f"{d['frames']} frames ({d['frames_processed']} processed, "
            f"{d['dropped_frames']} dropped) in "
            f"{d['wall_s']} s = {d['realtime_factor']}x real time; {d['faces_detected']} faces, "
            f"{d['tracks']} tracks, {d['embeddings']} embeddings, {d['alerts']} alerts"
        )


def _derived_threshold(
    engine: object, size: int, fpir: float, calibration: Path | None, photos: int = 1
) -> float:
    """The calibrated threshold for this list, printed with what it costs in false alerts."""
    from openlfr.eval.calibration import approval_for, derive_threshold

    appr = approval_for(engine.contract, calibration)  # type: ignore[attr-defined]
    d = derive_threshold(appr, size, fpir, max_photos=max(1, photos))
    typer.echo(
        f"threshold {d.threshold:.4f} for {size:,} watchlist entries at policy FPIR {fpir:g} "
        f"(bound by {d.bound_by}; FPIR calibration alone {d.policy_threshold:.4f}, "
        f"{d.floor_kind} {d.validated_min:.4f}); expected false alerts per 1,000 faces: "
        f"{d.false_alerts_per_1000:.2f} (FPIR upper bound {d.fpir_upper:.1e})",
        err=True,
    )
    return d.threshold

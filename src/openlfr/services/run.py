"""Item 11: run the live pipeline for a live deployment, under its governance.

The pipeline knows nothing of the database; this module hands it the decrypted watchlist (in
memory only), the deployment's threshold and camera whitelist, a stop hook for the window's end,
and a sink that records each Alert through the governance service. Faces are kept as a count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from openlfr.errors import FaceError, GovernanceError, ImageError
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import DeploymentState
from openlfr.services.alerts import AlertIn
from openlfr.services.governance import GovernanceService
from openlfr.vision.engine import FaceEngine
from openlfr.vision.imageio import ImageLimits, decode_image

log = logging.getLogger(__name__)


@dataclass(slots=True)
class GovernanceSink:
    """AlertSink that stores alerts (encrypted, audited) for one deployment."""

    service: GovernanceService
    deployment_id: str
    engine: FaceEngine | None = None
    recorded: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    stop: bool = False
    held: int = 0  # matches while alerts were paused or flagged (counted, nothing kept)

    def emit(self, alert: Any) -> None:
        if self.service.assurance.hold_reason(self.deployment_id, float(alert.score)):
            self.held += 1
            return
        template = None
        if self.engine is not None:
            # Re-embed the probe crop so subject access can later find this alert by photo.
            try:
                img = decode_image(
                    alert.probe_crop_jpeg, limits=ImageLimits(), label=alert.alert_id
                )
                template = self.engine.face_from_image(img, select="largest").template
            except (FaceError, ImageError):
                template = None
        try:
            aid = self.service.alerts.record_alert(
                self.deployment_id,
                AlertIn(
                    camera_id=alert.camera_id,
                    entry_id=alert.subject_id,
                    score=float(alert.score),
                    threshold=float(alert.threshold),
                    contract_id=str(alert.contract.get("id", "")),
                    detected_at=datetime.fromtimestamp(alert.frame_time, UTC),
                    template=template,
                    probe_jpeg=alert.probe_crop_jpeg,
                    scene_jpeg=alert.scene_jpeg,
                    latency_ms=alert.latency_ms,
                    source_ref=f"frame {alert.frame_index} ({alert.media_s:.2f} s)",
                ),
            )
        except GovernanceError as e:
            # The deployment ended or the window closed mid-run: refuse, stop, keep nothing.
            log.warning("alert refused for deployment %s: %s", self.deployment_id, e.code)
            self.refused.append(e.code)
            self.stop = True
            return
        self.recorded.append(aid)


@dataclass(frozen=True, slots=True)
class RunResult:
    deployment_id: str
    camera_id: str
    alerts_recorded: int
    alerts_refused: int
    faces_processed: int
    frames_processed: int
    summary: dict[str, Any]


def run_deployment(
    service: GovernanceService,
    by: Actor,
    deployment_id: str,
    source: Any,
    *,
    camera_id: str,
    engine: FaceEngine,
    pipeline_config: Any = None,
    max_frames: int | None = None,
    check_every_s: float = 1.0,
    pipeline_factory: Callable[..., Any] | None = None,
) -> RunResult:
    """Run `source` (a FrameSource) as camera `camera_id` of a live deployment."""
    from openlfr.matching.watchlist import Watchlist
    from openlfr.pipeline.runner import Pipeline, PipelineConfig

    info = service.deployments.deployment(deployment_id)
    if by.id not in info["operator_ids"]:
        from openlfr.errors import PermissionDeniedError

        raise PermissionDeniedError(f"{by.username} is not an operator of this deployment")
    service.deployments.check_frame(deployment_id, camera_id)  # live, in window, camera whitelisted
    wl = service.watchlists.load_watchlist(deployment_id)
    watchlist = Watchlist(wl.entry_ids, wl.vectors, engine.contract)
    sink = GovernanceSink(service, deployment_id, engine)
    base = pipeline_config or PipelineConfig()
    cfg = PipelineConfig(
        **{
            **{f: getattr(base, f) for f in base.__dataclass_fields__},
            "camera_id": camera_id,
            "threshold": wl.threshold,
        }
    )
    cameras = set(info["cameras"])
    make = pipeline_factory or Pipeline
    pipe = make(engine, watchlist, sink, cfg, camera_allowed=lambda c: c in cameras)
    ends_at: datetime | None = info["ends_at"]
    last_check = [0.0]
    flushed = {"frames": 0, "faces": 0}

    def flush(frames: int, faces: int) -> None:
        # Counts reach the deployment while it runs, so the false-alert monitor's denominator
        # (faces seen) is current when an operator reviews, not only when the run ends.
        df, dn = frames - flushed["frames"], faces - flushed["faces"]
        if df or dn:
            service.deployments.add_counters(deployment_id, frames=df, faces=dn)
            flushed["frames"], flushed["faces"] = frames, faces

    def should_stop() -> bool:
        if sink.stop:
            return True
        now = time.monotonic()
        if now - last_check[0] < check_every_s:
            return False
        last_check[0] = now
        flush(pipe.counters.frames_processed, pipe.counters.tracks)
        if ends_at is not None and service.ctx.clock() >= ends_at:
            return True
        return service.deployments.deployment(deployment_id)["state"] != DeploymentState.LIVE.value

    summary = pipe.run(source, should_stop=should_stop, max_frames=max_frames)
    c = summary.counters
    # Faces processed = face tracks seen (each person counted once per track), a number only.
    flush(c.frames_processed, c.tracks)
    service.deployments.record_run(
        by,
        deployment_id,
        camera_id,
        {
            "frames": c.frames_processed,
            "faces_detected": c.faces_detected,
            "face_tracks": c.tracks,
            "alerts_recorded": len(sink.recorded),
            "alerts_refused": len(sink.refused),
            "matches_held": sink.held,
            "stopped_by": summary.stopped_by,
            "threshold": summary.threshold,
        },
    )
    return RunResult(
        deployment_id,
        camera_id,
        len(sink.recorded),
        len(sink.refused),
        c.tracks,
        c.frames_processed,
        summary.to_dict(),
    )

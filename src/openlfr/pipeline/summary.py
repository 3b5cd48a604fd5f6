"""The pipeline's configuration, its counters and a run's summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from openlfr.pipeline.bestshot import QualityGate, ShotPolicy
from openlfr.pipeline.gating import MotionGate


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    camera_id: str = "camera-0"
    threshold: float | None = None  # None: the model's default operating threshold
    detect_max_side: int = 960
    detect_stride: int = 3
    # Which due detections to skip: nothing moves, or every track settled (gating.py).
    motion: MotionGate = field(default_factory=MotionGate)
    gate: QualityGate = field(default_factory=QualityGate)
    shots: ShotPolicy = field(default_factory=ShotPolicy)
    fuse_shots: bool = True
    cooldown_s: float = 30.0  # per subject, across tracks (a re-acquired track of one person)
    # Frames buffered between the reader and the pipeline (a live source drops the oldest when
    # full): 6 frames (240 ms at 25 fps) absorb a shared machine's bursts (issue 23: with 4 and
    # one frame in flight, 3 cameras on 2 cores dropped 6.5% with CPU to spare).
    queue_size: int = 6
    # Live: detection frames whose embeddings may still be out while the next is detected
    # (inflight.py); a file read as fast as it goes keeps its exact rule.
    live_in_flight: int = 3
    min_track_frames: int = 5  # a track spanning this many frames counts as a person seen
    track_lost_s: float = 1.0
    # Embed a detection frame's chips on another thread while the next detection frame is
    # detected (its decisions follow that detection); False: embed and decide in the frame.
    async_embed: bool = True
    # Build and emit alerts (snapshot, encoding, sink) on an alert thread; False: inline.
    async_alerts: bool = True
    # Decide by detection update, never by when an embedding returns (inflight.py), so the same
    # file gives the same alerts on every run. None: exact for files, best effort for live.
    deterministic: bool | None = None


@dataclass(slots=True)
class Counters:
    frames: int = 0  # frames the source delivered
    frames_processed: int = 0  # frames the pipeline consumed (frames - dropped)
    detect_frames: int = 0
    # Due detections the motion gate skipped: nothing moved / every track settled (gating.py).
    detect_skipped_still: int = 0
    detect_skipped_settled: int = 0
    faces_detected: int = 0
    faces_gated_out: int = 0
    tracks: int = 0
    tracks_confirmed: int = 0  # tracks spanning >= min_track_frames frames
    tracks_discarded: int = 0  # ended without an alert: everything held about them dropped
    embeddings: int = 0
    alerts: int = 0
    suppressed_same_frame: int = 0
    suppressed_cooldown: int = 0
    # Highest top-1 score any probe reached (alerted or not): how close the run came to an
    # alert, for threshold reviews. A number, not a template.
    max_score: float = float("-inf")
    dropped_frames: int = 0
    reconnects: int = 0
    gap_s: float = 0.0
    wall_s: float = 0.0
    media_s: float = 0.0
    # Shots held per track when it ended (its fused probe's size), summed: evidence per track.
    track_shots: int = 0
    tracks_embedded: int = (
        0  # tracks with at least one usable shot (the rest never passed the gate)
    )
    tracks_min_shots: int = 0  # tracks that held enough shots to be allowed to alert
    # Tracks that ended holding a deferred first shot (shots.py): an embedding saved each.
    first_shots_unembedded: int = 0
    # Seconds per stage (timing.py), filled at the end of a run.
    stages: dict[str, float] = field(default_factory=dict)
    # CPU seconds by thread and the real-time factor they imply on an idle machine (timing.py).
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames_processed / self.wall_s if self.wall_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class RunSummary:
    counters: Counters
    latencies_ms: tuple[float, ...]
    threshold: float
    contract_id: str
    camera_id: str
    stopped_by: str  # "end" | "should_stop"

    def to_dict(self) -> dict[str, Any]:
        c = self.counters
        lat = np.asarray(self.latencies_ms, dtype=np.float64)
        d: dict[str, Any] = asdict(c)
        d.update(
            camera_id=self.camera_id,
            threshold=self.threshold,
            contract=self.contract_id,
            fps=round(c.fps, 2),
            realtime_factor=round(c.media_s / c.wall_s, 3) if c.wall_s > 0 else 0.0,
            embeddings_per_track=round(c.embeddings / c.tracks, 3) if c.tracks else 0.0,
            shots_per_track=round(c.track_shots / c.tracks, 3) if c.tracks else 0.0,
            shots_per_embedded_track=(
                round(c.track_shots / c.tracks_embedded, 3) if c.tracks_embedded else 0.0
            ),
            alert_latency_p50_ms=round(float(np.percentile(lat, 50)), 1) if lat.size else None,
            alert_latency_p95_ms=round(float(np.percentile(lat, 95)), 1) if lat.size else None,
            stopped_by=self.stopped_by,
        )
        d["wall_s"] = round(c.wall_s, 3)
        d["media_s"] = round(c.media_s, 3)
        d["gap_s"] = round(c.gap_s, 3)
        d["max_score"] = round(c.max_score, 4) if np.isfinite(c.max_score) else None
        return d

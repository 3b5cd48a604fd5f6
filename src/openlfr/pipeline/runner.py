"""The live pipeline: frames in, alerts out, and only counters kept of everyone else.

Per frame: every `detect_stride`-th frame is downscaled to `detect_max_side` and run through the
detector; ByteTrack links faces into tracks; faces that pass the quality gate are aligned on the
full-resolution frame; each track's best shots (a bounded number) are embedded in one batch per
frame and its probe is searched against the watchlist in one matrix product; the decision is
per track, one identity per face per frame, one alert per track and subject, with a cooldown.

Privacy boundary: a track's shots (embeddings) live in `_TrackState` in memory only and are
deleted when the track ends; chips are never kept beyond the frame. Nothing here writes
anything but Alerts to the sink, and logs carry counts and ids only.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import cv2
import numpy as np

from openlfr.errors import CameraNotAuthorisedError
from openlfr.matching.watchlist import Watchlist
from openlfr.pipeline.alerts import Alert, AlertSink, encode_snapshot, face_crop, pixelate_faces
from openlfr.pipeline.bestshot import QualityGate, ShotPolicy
from openlfr.pipeline.decision import decide_tracks, probe_vector
from openlfr.pipeline.sources import BufferedSource, Frame, FrameSource
from openlfr.pipeline.tracking import FaceTracker
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine, default_threshold
from openlfr.vision.imageio import encode_jpeg
from openlfr.vision.quality import FaceQuality, assess
from openlfr.vision.types import Detection, Detector, Image

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    camera_id: str = "camera-0"
    threshold: float | None = None  # None: the model's default operating threshold
    detect_max_side: int = 960
    detect_stride: int = 3
    gate: QualityGate = field(default_factory=QualityGate)
    shots: ShotPolicy = field(default_factory=ShotPolicy)
    fuse_shots: bool = True
    cooldown_s: float = 30.0  # per subject, across tracks (a re-acquired track of one person)
    queue_size: int = 4
    min_track_frames: int = 5  # a track spanning this many frames counts as a person seen
    track_lost_s: float = 1.0


@dataclass(slots=True)
class Counters:
    frames: int = 0  # frames the source delivered
    frames_processed: int = 0  # frames the pipeline consumed (frames - dropped)
    detect_frames: int = 0
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
            alert_latency_p50_ms=round(float(np.percentile(lat, 50)), 1) if lat.size else None,
            alert_latency_p95_ms=round(float(np.percentile(lat, 95)), 1) if lat.size else None,
            stopped_by=self.stopped_by,
        )
        d["wall_s"] = round(c.wall_s, 3)
        d["media_s"] = round(c.media_s, 3)
        d["gap_s"] = round(c.gap_s, 3)
        d["max_score"] = round(c.max_score, 4) if np.isfinite(c.max_score) else None
        return d


def _same_head(d: Detection, keep: Detection) -> bool:
    """`d` is the kept face again, or a spurious box on its hair or chin, not a neighbour."""
    cx, cy = d.centre
    mx, my = 0.5 * keep.width, 0.5 * keep.height
    near = keep.x1 - mx <= cx <= keep.x2 + mx and keep.y1 - my <= cy <= keep.y2 + my
    return _overlap(d, keep) >= 0.3 or (near and d.width <= 1.5 * keep.width)


def _overlap(a: Detection, b: Detection) -> float:
    """Intersection over the smaller box: 1.0 when one box lies inside the other."""
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    smaller = min(a.width * a.height, b.width * b.height)
    return ix * iy / smaller if smaller > 0 else 0.0


@dataclass(slots=True)
class _TrackState:
    first_frame: int
    last_frame: int
    last_shot_update: int = -(10**9)
    shots: list[FloatArray] = field(default_factory=list)  # in memory only, dropped with the track
    qualities: list[float] = field(default_factory=list)
    alerted: set[str] = field(default_factory=set)

    @property
    def best_quality(self) -> float:
        return max(self.qualities, default=0.0)


class Pipeline:
    """One camera's pipeline. `run()` blocks until the source ends or `should_stop()` is true."""

    def __init__(
        self,
        engine: FaceEngine,
        watchlist: Watchlist,
        sink: AlertSink,
        config: PipelineConfig | None = None,
        *,
        camera_allowed: Callable[[str], bool] | None = None,
        snapshot_detector: Detector | None = None,
    ) -> None:
        self.engine = engine
        self.watchlist = watchlist
        self.sink = sink
        self.config = config or PipelineConfig()
        self.camera_allowed = camera_allowed
        # Faces to pixelate in an alert's snapshot are searched for again on the full-resolution
        # frame (small faces the downscaled detection missed), by this detector if given (e.g.
        # one with a lower score threshold: a pixelated poster costs nothing).
        self.snapshot_detector = snapshot_detector or engine.detector
        watchlist.contract.require_same(engine.contract)
        self.threshold = (
            self.config.threshold
            if self.config.threshold is not None
            else default_threshold(engine.contract)
        )
        self.counters = Counters()
        self.latencies_ms: list[float] = []
        self._tracks: dict[int, _TrackState] = {}
        self._last_alert: dict[str, tuple[float, int]] = {}  # subject -> (media_s, track)

    # -- per-frame steps -----------------------------------------------------------------

    def _detect(self, image: Image) -> list[Detection]:
        h, w = image.shape[:2]
        side = self.config.detect_max_side
        if side and max(h, w) > side:
            s = side / max(h, w)
            small = cv2.resize(image, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            return [d.scaled(1.0 / s) for d in self.engine.detect(small)]
        return self.engine.detect(image)

    def _end_tracks(self, ended: list[int]) -> None:
        for tid in ended:
            st = self._tracks.pop(tid, None)
            if st is None:
                continue
            if st.last_frame - st.first_frame + 1 >= self.config.min_track_frames:
                self.counters.tracks_confirmed += 1
            if not st.alerted:
                self.counters.tracks_discarded += 1
            st.shots.clear()  # the embeddings go with the track

    def _process(self, frame: Frame, tracker: FaceTracker, update_no: int) -> None:
        c, cfg = self.counters, self.config
        image = frame.image
        dets = self._detect(image)
        c.detect_frames += 1
        c.faces_detected += len(dets)
        tracked, ended = tracker.update(dets)
        for tf in tracked:
            st = self._tracks.get(tf.track_id)
            if st is None:
                st = self._tracks[tf.track_id] = _TrackState(frame.index, frame.index)
                c.tracks += 1
            st.last_frame = frame.index

        # Best shots: gate cheaply on geometry, align only the survivors, embed in one batch.
        chips: list[Image] = []
        chosen: list[tuple[int, Detection, FaceQuality]] = []
        for tf in tracked:
            st = self._tracks[tf.track_id]
            if len(st.shots) >= cfg.shots.max_embeddings:
                continue
            q0 = assess(tf.detection)
            if not cfg.gate.geometry_ok(q0):
                c.faces_gated_out += 1
                continue
            chip = self.engine.align(image, [tf.detection])[0]
            q = assess(tf.detection, chip)
            if not cfg.gate.passes(q):
                c.faces_gated_out += 1
                continue
            if cfg.shots.want(
                q.score, len(st.shots), st.best_quality, update_no - st.last_shot_update
            ):
                chips.append(chip)
                chosen.append((tf.track_id, tf.detection, q))
        probes: dict[int, FloatArray] = {}
        n_shots: dict[int, int] = {}
        by_track: dict[int, tuple[Detection, FaceQuality]] = {}
        if chips:
            vecs = self.engine.embed_chips(chips)
            c.embeddings += len(chips)
            for (tid, det, q), v in zip(chosen, vecs, strict=True):
                st = self._tracks[tid]
                st.shots.append(v)
                st.qualities.append(q.score)
                st.last_shot_update = update_no
                probes[tid] = probe_vector(st.shots, st.qualities, cfg.fuse_shots)
                n_shots[tid] = len(st.shots)
                by_track[tid] = (det, q)
        del chips  # chips of non-matches never outlive the frame

        if probes:
            decisions, conflicts = decide_tracks(
                probes,
                n_shots,
                self.watchlist,
                self.threshold,
                cfg.shots.min_shots,
                on_score=self._note_score,
            )
            c.suppressed_same_frame += conflicts
            active = {tf.track_id for tf in tracked}
            for d in decisions:
                st = self._tracks[d.track_id]
                if d.subject_id in st.alerted:
                    continue
                prev = self._last_alert.get(d.subject_id)
                if prev is not None and prev[1] != d.track_id:
                    if prev[1] in active:
                        # The subject is already on another face in this very frame.
                        c.suppressed_same_frame += 1
                        continue
                    if frame.media_s - prev[0] < cfg.cooldown_s:
                        c.suppressed_cooldown += 1
                        st.alerted.add(d.subject_id)
                        continue
                det, q = by_track[d.track_id]
                self._raise(frame, dets, det, q, d.subject_id, d.track_id, d.score, d.n_shots)
                st.alerted.add(d.subject_id)
                self._last_alert[d.subject_id] = (frame.media_s, d.track_id)
        self._end_tracks(ended)

    def _note_score(self, track_id: int, score: float) -> None:
        self.counters.max_score = max(self.counters.max_score, score)

    def _raise(
        self,
        frame: Frame,
        dets: list[Detection],
        det: Detection,
        q: FaceQuality,
        subject_id: str,
        track_id: int,
        score: float,
        n_shots: int,
    ) -> None:
        others = [d for d in self.snapshot_detector.detect(frame.image) if not _same_head(d, det)]
        scene = pixelate_faces(frame.image, [*dets, *others], keep=det)
        alert = Alert(
            alert_id=uuid.uuid4().hex,
            camera_id=self.config.camera_id,
            subject_id=subject_id,
            track_id=track_id,
            score=score,
            threshold=self.threshold,
            contract=self.engine.contract.to_dict(),
            frame_index=frame.index,
            frame_time=frame.t_capture,
            media_s=frame.media_s,
            raised_at=time.time(),
            box=det.box(),
            quality=q.to_dict(),
            n_shots=n_shots,
            probe_crop_jpeg=encode_jpeg(face_crop(frame.image, det), 92),
            scene_jpeg=encode_snapshot(scene),
        )
        self.sink.emit(alert)
        self.counters.alerts += 1
        self.latencies_ms.append(alert.latency_ms)
        log.info(
            "alert %s camera=%s subject=%s track=%d",
            alert.alert_id,
            alert.camera_id,
            subject_id,
            track_id,
        )

    # -- the loop ------------------------------------------------------------------------

    def run(
        self,
        source: FrameSource,
        *,
        should_stop: Callable[[], bool] | None = None,
        on_status: Callable[[Counters], None] | None = None,
        status_every_s: float = 0.5,
        max_frames: int | None = None,
    ) -> RunSummary:
        # Each run starts from zero: counters, tracks and cooldowns are per run.
        self.counters, self.latencies_ms, self._tracks, self._last_alert = Counters(), [], {}, {}
        cfg, c = self.config, self.counters
        if self.camera_allowed is not None and not self.camera_allowed(cfg.camera_id):
            raise CameraNotAuthorisedError(
                "camera is not authorised for this deployment", source=cfg.camera_id
            )
        stride = max(1, cfg.detect_stride)
        fps = source.fps or 25.0
        tracker = FaceTracker(
            updates_per_s=fps / stride, lost_after=max(1, round(cfg.track_lost_s * fps / stride))
        )
        stopped_by = "end"
        first: Frame | None = None
        last: Frame | None = None
        t0 = time.perf_counter()
        t_status = t0
        updates = 0
        buf = BufferedSource(source, maxsize=cfg.queue_size)
        try:
            for frame in buf:
                if should_stop is not None and should_stop():
                    stopped_by = "should_stop"
                    break
                first = first or frame
                last = frame
                c.frames_processed += 1
                # Counted on processed frames, not source indices: with live drops the
                # surviving indices are arbitrary and could all miss a fixed phase.
                if (c.frames_processed - 1) % stride == 0:
                    updates += 1
                    self._process(frame, tracker, updates)
                frame.image = np.empty((0, 0, 3), np.uint8)  # release the pixels now
                c.dropped_frames = buf.dropped
                c.frames = c.frames_processed + c.dropped_frames
                now = time.perf_counter()
                if on_status is not None and now - t_status >= status_every_s:
                    c.wall_s = now - t0
                    on_status(c)
                    t_status = now
                if max_frames is not None and c.frames_processed >= max_frames:
                    stopped_by = "max_frames"
                    break
        finally:
            buf.stop()
            self._end_tracks(tracker.finish())
            self._end_tracks(list(self._tracks))
            c.wall_s = time.perf_counter() - t0
            c.dropped_frames = buf.dropped
            c.frames = c.frames_processed + c.dropped_frames
            c.reconnects = source.stats.reconnects
            c.gap_s = sum(g.seconds for g in source.stats.gaps)
            if first is not None and last is not None:
                c.media_s = last.media_s - first.media_s + 1.0 / fps
        log.info(
            "run ended camera=%s frames=%d tracks=%d discarded=%d alerts=%d dropped=%d",
            cfg.camera_id,
            c.frames,
            c.tracks,
            c.tracks_discarded,
            c.alerts,
            c.dropped_frames,
        )
        return RunSummary(
            c,
            tuple(self.latencies_ms),
            self.threshold,
            self.engine.contract.id,
            cfg.camera_id,
            stopped_by,
        )

"""The live pipeline: frames in, alerts out, and only counters kept of everyone else.

Per frame: every `detect_stride`-th frame is converted to BGR, downscaled to `detect_max_side`
and run through the detector (the others are never converted); ByteTrack links faces into
tracks; faces that pass the quality gate are aligned on the full-resolution frame; each track
collects up to K diverse shots over its life (bestshot.py, shots.py: a first shot waits, unembedded,
for the second), embedded in one batch per frame, and
its fused probe is searched against the watchlist in one matrix product; the decision is per
track, one identity per face per frame, one alert per track and subject, with a cooldown. An
alert's snapshot (full-resolution detection of the faces to pixelate, JPEG encoding) and its
sink (sealing, publishing) run on an alert thread: at 1080p they take longer than the frame
queue holds, and a camera thread waiting on them drops frames. Time per stage is accumulated as
it goes (timing.py) and reported in the counters. When a frame's embeddings are decided on is
inflight.py's rule: for a file, by detection update and never by the clock, so the same file
gives the same shots and alerts on every run however loaded the machine; live, best effort.

Privacy boundary: a track's shots (embeddings) live in `TrackEvidence` in memory only and are
deleted when the track ends; chips are never kept beyond the frame. Nothing here writes
anything but Alerts to the sink, and logs carry counts and ids only.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from openlfr.errors import CameraNotAuthorisedError
from openlfr.matching.watchlist import Watchlist
from openlfr.pipeline.alerts import (
    Alert,
    AlertSink,
    face_crop,
    face_in_crop,
    scene_snapshot,
)
from openlfr.pipeline.buffer import BufferedSource
from openlfr.pipeline.decision import decide_tracks
from openlfr.pipeline.evidence import TrackEvidence
from openlfr.pipeline.frame import Frame, FrameSource
from openlfr.pipeline.gating import DetectionGate
from openlfr.pipeline.inflight import InFlight, Pending
from openlfr.pipeline.shots import pick_shots
from openlfr.pipeline.summary import Counters, PipelineConfig, RunSummary
from openlfr.pipeline.timing import StageTimes
from openlfr.pipeline.tracking import FaceTracker
from openlfr.vision.batching import BatchingEmbedder
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine, default_threshold
from openlfr.vision.imageio import downscale, encode_jpeg, encode_png
from openlfr.vision.quality import FaceQuality
from openlfr.vision.types import Detection, Detector, Image

log = logging.getLogger(__name__)

__all__ = ["Counters", "Pipeline", "PipelineConfig", "RunSummary"]


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
        # Snapshot faces to pixelate are searched for again at full resolution (small faces the
        # downscaled detection missed), by this detector if given (a lower score threshold).
        self.snapshot_detector = snapshot_detector or engine.detector
        watchlist.contract.require_same(engine.contract)
        self.threshold = (
            self.config.threshold
            if self.config.threshold is not None
            else default_threshold(engine.contract)
        )
        self.counters = Counters()
        self.latencies_ms: list[float] = []
        self._tracks: dict[int, TrackEvidence] = {}
        self._times = StageTimes()
        self._last_alert: dict[str, tuple[float, int]] = {}  # subject -> (media_s, track)
        self._pending = InFlight(exact=True)  # run() sets the policy from the source
        self._executor: ThreadPoolExecutor | None = None
        self._alerter: ThreadPoolExecutor | None = None
        self._alert_jobs: deque[Future[None]] = deque()
        self._updates = 0

    # -- per-frame steps -----------------------------------------------------------------

    def _detect(self, image: Image) -> list[Detection]:
        small, s = downscale(image, self.config.detect_max_side)
        if s == 1.0:
            return self.engine.detect(image)
        return [d.scaled(1.0 / s) for d in self.engine.detect(small)]

    def _end_tracks(self, ended: list[int]) -> None:
        for tid in ended:
            st = self._tracks.pop(tid, None)
            if st is None:
                continue
            if st.last_frame - st.first_frame + 1 >= self.config.min_track_frames:
                self.counters.tracks_confirmed += 1
            if not st.alerted:
                self.counters.tracks_discarded += 1
            self.counters.track_shots += len(st.shots)
            self.counters.first_shots_unembedded += st.deferred is not None
            self.counters.tracks_embedded += bool(st.shots)
            if len(st.shots) >= self.config.shots.min_shots:
                self.counters.tracks_min_shots += 1
            st.clear()  # the embeddings go with the track

    def _process(self, frame: Frame, tracker: FaceTracker, update_no: int) -> None:
        c, cfg, tm = self.counters, self.config, self._times
        t = time.perf_counter()
        image = frame.image
        t = tm.lap("convert", t)
        dets = self._detect(image)
        c.detect_frames += 1
        c.faces_detected += len(dets)
        tm.lap("detect", t)
        # Earlier detection frames' embeddings were computed while this one was detected:
        # decide on those the policy says are due (inflight.py: for files, by update number).
        self._decide(self._pending.at_update(update_no))
        t = time.perf_counter()
        tracked, ended = tracker.update(dets)
        busy = self._pending.busy_tracks()
        if busy & set(ended):
            self._decide(self._pending.everything())  # shots are decided before a track ends
            busy = set()
        for tf in tracked:
            st = self._tracks.get(tf.track_id)
            if st is None:
                st = self._tracks[tf.track_id] = TrackEvidence(frame.index, frame.index)
                c.tracks += 1
            st.last_frame, st.last_seen = frame.index, tf.detection
        t = tm.lap("track", t)

        # Shots: gated, aligned, chosen (shots.py); embedded in one batch per frame.
        shots = pick_shots(self.engine, image, tracked, self._tracks, busy, update_no, cfg, c)
        chips, chosen = shots.chips, shots.chosen
        t = tm.lap("quality", t)
        if chips:
            active = {tf.track_id for tf in tracked}
            fut = self._submit(chips)
            pending = Pending(frame, image, dets, active, chosen, fut, update_no, chips)
            self._pending.add(pending)
            t = tm.lap("embed_wait", t)  # synchronous: the embedding; else the hand-over
        del chips  # from here in the tracks' evidence only, dropped when each track ends
        if not cfg.async_embed:
            self._decide(self._pending.everything())
            t = time.perf_counter()
        self._end_tracks(ended)
        tm.lap("track", t)

    def _submit(self, chips: list[Image]) -> Future[FloatArray]:
        emb = self.engine.embedder
        if isinstance(emb, BatchingEmbedder):
            # Exact runs: a chip's vector must not depend on what other camera's chips it
            # happened to be batched with (a kernel may sum differently for another batch size).
            return emb.submit(chips, alone=self._pending.exact)
        if self._executor is None or not self.config.async_embed:
            fut: Future[FloatArray] = Future()
            fut.set_result(self._embed_timed(chips, own_thread=False))
            return fut
        return self._executor.submit(self._embed_timed, chips, own_thread=True)

    def _embed_timed(self, chips: list[Image], *, own_thread: bool) -> FloatArray:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return self.engine.embed_chips(chips)
        finally:
            self._times.seconds["embed"] += time.perf_counter() - t0
            if own_thread:  # on the pipeline thread it is already in the pipeline's CPU time
                self._times.cpu["embed"] += time.thread_time() - c0

    def _gate(self, gate: DetectionGate, frame: Frame) -> bool:
        """Whether this due frame is worth a detection (gating.py)."""
        if not gate.cfg.enabled:
            return True
        budget = self.config.shots.max_embeddings
        live = self._tracks.values()
        boxes = [st.last_seen for st in live if st.last_seen is not None]
        settled = all(st.committed >= budget for st in live)
        return gate.due(frame.luma(gate.cfg.step), frame.media_s, boxes, settled)

    def _decide(self, due: Iterable[Pending]) -> None:
        for p in due:  # in submission order, waiting for each one's embeddings if need be
            self._complete(p)

    def _complete(self, p: Pending) -> None:
        """Decide on the tracks of one detection frame whose shots were embedded."""
        c, cfg, tm = self.counters, self.config, self._times
        t = time.perf_counter()
        vecs = p.future.result()
        t = tm.lap("embed_wait", t)
        c.embeddings += len(vecs)
        probes: dict[int, FloatArray] = {}
        n_shots: dict[int, int] = {}
        by_track: dict[int, tuple[Detection, FaceQuality]] = {}
        chips: list[Image | None] = [*p.chips] or [None] * len(p.chosen)
        for (tid, det, q, action), v, chip in zip(p.chosen, vecs, chips, strict=True):
            st = self._tracks[tid]
            st.add(v, q.score, p.update_no, action, chip)
            probes[tid] = st.probe(cfg.fuse_shots)
            n_shots[tid] = len(st.shots)
            by_track[tid] = (det, q)
        decisions, conflicts = decide_tracks(
            probes,
            n_shots,
            self.watchlist,
            self.threshold,
            cfg.shots.min_shots,
            on_score=self._note_score,
        )
        c.suppressed_same_frame += conflicts
        t = tm.lap("search", t)
        frame = p.frame
        for d in decisions:
            st = self._tracks[d.track_id]
            if d.subject_id in st.alerted:
                continue
            prev = self._last_alert.get(d.subject_id)
            if prev is not None and prev[1] != d.track_id:
                if prev[1] in p.active:
                    # The subject is already on another face in this very frame.
                    c.suppressed_same_frame += 1
                    continue
                if frame.media_s - prev[0] < cfg.cooldown_s:
                    c.suppressed_cooldown += 1
                    st.alerted.add(d.subject_id)
                    continue
            det, q = by_track[d.track_id]
            fused = st.probe_chips(cfg.fuse_shots)  # what the centre re-embeds (alerts.py)
            args = (frame, p.image, p.dets, det, q, d.subject_id, d.track_id, d.score,
                    d.n_shots, fused)  # fmt: skip
            if self._alerter is None:
                self._raise(*args)
            else:
                self._alert_jobs.append(self._alerter.submit(self._raise, *args))
            st.alerted.add(d.subject_id)
            self._last_alert[d.subject_id] = (frame.media_s, d.track_id)
        tm.lap("alert", t)

    def _drop_pending(self) -> None:
        """End of run: frames still waiting for their embeddings are dropped undecided (their
        chips with them); alerts decided before the end are still raised, on the alert thread."""
        self._pending.drop()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._alerter is not None:
            self._alerter.shutdown(wait=True)  # alerts decided before the end are still raised
            self._alerter = None

    def _check_alerts(self, *, wait: bool = False) -> None:
        """Raise here, on the camera's thread, what failed on the alert thread (a sink's error
        ends the run as it did when alerts were raised inline)."""
        q = self._alert_jobs
        while q and (wait or q[0].done()):
            q.popleft().result()

    def _note_score(self, track_id: int, score: float) -> None:
        self.counters.max_score = max(self.counters.max_score, score)

    def _raise(
        self,
        frame: Frame,
        image: Image,
        dets: list[Detection],
        det: Detection,
        q: FaceQuality,
        subject_id: str,
        track_id: int,
        score: float,
        n_shots: int,
        shot_chips: list[Image],
    ) -> None:
        t0 = time.perf_counter()
        scene = scene_snapshot(image, dets, det, self.snapshot_detector)
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
            probe_crop_jpeg=encode_jpeg(face_crop(image, det), 92),
            scene_jpeg=scene,
            probe_face=face_in_crop(det),
            shot_chips=tuple(encode_png(c) for c in shot_chips),
        )
        self.sink.emit(alert)
        self.counters.alerts += 1
        self.latencies_ms.append(alert.latency_ms)
        log.info("alert %s camera=%s subject=%s track=%d", alert.alert_id, alert.camera_id,
                 subject_id, track_id)  # fmt: skip
        self._times.seconds["snapshot"] += time.perf_counter() - t0

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
        self._times = tm = StageTimes()
        cfg, c = self.config, self.counters
        if self.camera_allowed is not None and not self.camera_allowed(cfg.camera_id):
            raise CameraNotAuthorisedError(
                "camera is not authorised for this deployment", source=cfg.camera_id
            )
        stride = max(1, cfg.detect_stride)
        if callable(hint := getattr(source, "decode_for_stride", None)):  # PyAVSource has it
            hint(stride)
        fps = source.fps or 25.0
        tracker = FaceTracker(
            updates_per_s=fps / stride, lost_after=max(1, round(cfg.track_lost_s * fps / stride))
        )
        stopped_by = "end"
        first: Frame | None = None
        last: Frame | None = None
        t0, cpu0, main0 = time.perf_counter(), time.process_time(), time.thread_time()
        t_status = t0
        # Files are processed exactly (the same alerts on every run), live sources best effort.
        exact = cfg.deterministic if cfg.deterministic is not None else not source.live
        self._updates, self._pending = 0, InFlight(exact=exact, live_depth=cfg.live_in_flight)
        if cfg.async_embed and not isinstance(self.engine.embedder, BatchingEmbedder):
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"embed:{cfg.camera_id}")
        if cfg.async_alerts:
            self._alerter = ThreadPoolExecutor(1, thread_name_prefix=f"alert:{cfg.camera_id}")
        self._alert_jobs = deque()
        buf = BufferedSource(source, maxsize=cfg.queue_size)
        gate = DetectionGate(cfg.motion)
        t_wait, unprocessed, since = t0, 0, stride - 1
        try:
            for frame in buf:
                tm.lap("wait", t_wait)
                if should_stop is not None and should_stop():
                    stopped_by = "should_stop"
                    unprocessed = 1  # delivered, never processed: counted as dropped
                    break
                first = first or frame
                last = frame
                c.frames_processed += 1
                # Counted on processed frames, not source indices: with live drops the
                # surviving indices are arbitrary and could all miss a fixed phase. A due frame
                # the source did not decode passes the detection on to the next one it did.
                since += 1
                if since >= stride and frame.has_pixels and self._gate(gate, frame):
                    since = 0
                    self._updates += 1
                    self._process(frame, tracker, self._updates)
                elif since >= stride and frame.has_pixels:
                    since = 0  # looked at, and skipped: nothing new can be in it
                elif self._pending:
                    self._decide(self._pending.between_updates())  # live: as soon as in
                if self._alert_jobs:
                    self._check_alerts()
                frame.release()  # the pixels (or the undecoded picture) go now
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
                t_wait = time.perf_counter()
            if stopped_by != "should_stop":
                self._decide(self._pending.everything())  # the last detection frames' decisions
            self._check_alerts(wait=True)
        finally:
            self._drop_pending()
            buf.stop()
            self._end_tracks(tracker.finish())
            self._end_tracks(list(self._tracks))
            c.wall_s = time.perf_counter() - t0
            c.dropped_frames = buf.dropped + unprocessed
            c.frames = c.frames_processed + c.dropped_frames
            c.reconnects = source.stats.reconnects
            c.gap_s = sum(g.seconds for g in source.stats.gaps)
            if first is not None and last is not None:
                c.media_s = last.media_s - first.media_s + 1.0 / fps
            tm.cpu["process"] = time.process_time() - cpu0
            tm.cpu["main"] = time.thread_time() - main0
            c.detect_skipped_still = gate.skipped_still
            c.detect_skipped_settled = gate.skipped_settled
            c.stages = tm.report(c.wall_s, buf.read_s, c.frames_processed, buf.read_cpu_s)
            c.cpu = tm.cpu_report(c.media_s)
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

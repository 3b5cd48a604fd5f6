from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.errors import CameraNotAuthorisedError
from openlfr.pipeline import JsonlAlertSink, MemoryAlertSink, Pipeline, PipelineConfig, QualityGate
from openlfr.pipeline.alerts import Alert
from openlfr.pipeline.bestshot import ShotPolicy
from openlfr.pipeline.frame import Frame, not_decoded

from .conftest import BLUE, GREEN, RED, ListSource, scene, watchlist_of

# Flat mock faces have no texture: the sharpness gate would refuse them all.
CFG = PipelineConfig(threshold=0.9, detect_stride=1, gate=QualityGate(min_sharpness=0.0))


def walking(n: int, *faces: tuple[int, int, tuple[int, int, int]]) -> list[np.ndarray]:
    """n frames of faces moving right by 2 px a frame from their start positions."""
    return [scene([(x + 2 * i, y, c) for x, y, c in faces]) for i in range(n)]


def test_one_alert_for_the_watchlisted_face_and_nothing_for_the_other(engine) -> None:  # type: ignore[no-untyped-def]
    sink = MemoryAlertSink()
    pipe = Pipeline(engine, watchlist_of(engine, alice=RED), sink, CFG)
    s = pipe.run(ListSource(walking(20, (20, 40, RED), (200, 150, BLUE))))
    assert len(sink.alerts) == 1
    a = sink.alerts[0]
    assert a.subject_id == "alice" and a.score >= 0.9 and a.threshold == 0.9
    assert a.contract["model_id"] == "mock/colour" and a.n_shots >= 2
    assert a.latency_ms >= 0 and a.raised_at >= a.frame_time
    probe = cv2.imdecode(np.frombuffer(a.probe_crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
    snap = cv2.imdecode(np.frombuffer(a.scene_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert probe is not None and snap is not None and snap.shape == (240, 320, 3)
    # The chips the probe was fused from, lossless: re-fused they give the alert's score.
    chips = [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) for b in a.shot_chips]
    assert len(chips) == a.n_shots and all(c.shape == (32, 32, 3) for c in chips)
    v = engine.embed_chips(chips).mean(0)
    assert float(watchlist_of(engine, alice=RED).scores((v / np.linalg.norm(v))[None])[0, 0]) == (
        pytest.approx(a.score, abs=1e-5)
    )
    c = s.counters
    assert (c.frames, c.frames_processed, c.tracks, c.alerts) == (20, 20, 2, 1)
    assert c.tracks_discarded == 1 and c.tracks_confirmed == 2
    assert 2 <= c.embeddings <= 2 * CFG.shots.max_embeddings
    assert s.to_dict()["alert_latency_p50_ms"] is not None
    assert not pipe._tracks  # everything held about tracks is gone


def test_no_match_keeps_only_counters(engine) -> None:  # type: ignore[no-untyped-def]
    sink = MemoryAlertSink()
    pipe = Pipeline(engine, watchlist_of(engine, carol=GREEN), sink, CFG)
    s = pipe.run(ListSource(walking(15, (20, 40, RED), (200, 150, BLUE))))
    assert sink.alerts == [] and s.counters.tracks == s.counters.tracks_discarded == 2
    assert not pipe._tracks
    d = s.to_dict()
    assert d["alerts"] == 0 and d["alert_latency_p50_ms"] is None and d["max_score"] < 0.9


def test_two_faces_in_one_frame_never_get_the_same_identity(engine) -> None:  # type: ignore[no-untyped-def]
    sink = MemoryAlertSink()
    pipe = Pipeline(engine, watchlist_of(engine, alice=RED), sink, CFG)
    s = pipe.run(ListSource(walking(20, (20, 40, RED), (200, 150, RED))))
    assert len(sink.alerts) == 1
    assert s.counters.suppressed_same_frame >= 1


def test_cooldown_stops_a_second_alert_for_a_reacquired_subject(engine) -> None:  # type: ignore[no-untyped-def]
    frames = walking(10, (20, 40, RED)) + [scene([])] * 40 + walking(10, (150, 40, RED))
    sink = MemoryAlertSink()
    pipe = Pipeline(engine, watchlist_of(engine, alice=RED), sink, CFG)
    s = pipe.run(ListSource(frames))
    assert s.counters.tracks == 2 and len(sink.alerts) == 1 and s.counters.suppressed_cooldown == 1
    # With no cooldown, the second track alerts too.
    sink2 = MemoryAlertSink()
    cfg = PipelineConfig(threshold=0.9, detect_stride=1, gate=CFG.gate, cooldown_s=0.0)
    Pipeline(engine, watchlist_of(engine, alice=RED), sink2, cfg).run(ListSource(frames))
    assert len(sink2.alerts) == 2


def test_embeddings_are_bounded_per_track(engine) -> None:  # type: ignore[no-untyped-def]
    cfg = PipelineConfig(
        threshold=0.9,
        detect_stride=1,
        gate=CFG.gate,
        shots=ShotPolicy(max_embeddings=2, min_gain=0.0),
    )
    s = Pipeline(engine, watchlist_of(engine, carol=GREEN), MemoryAlertSink(), cfg).run(
        ListSource(walking(40, (20, 40, RED)))
    )
    assert s.counters.tracks == 1 and s.counters.embeddings == 2


def test_stride_runs_the_detector_on_every_kth_frame(engine) -> None:  # type: ignore[no-untyped-def]
    from openlfr.pipeline.gating import MotionGate

    # Without the motion gate, which skips a due frame once the track has spent its budget.
    cfg = PipelineConfig(
        threshold=0.9, detect_stride=3, gate=CFG.gate, motion=MotionGate(enabled=False)
    )
    s = Pipeline(engine, watchlist_of(engine, alice=RED), MemoryAlertSink(), cfg).run(
        ListSource(walking(30, (20, 40, RED)))
    )
    assert s.counters.detect_frames == 10 and s.counters.alerts == 1


def test_should_stop_and_camera_hook(engine) -> None:  # type: ignore[no-untyped-def]
    wl = watchlist_of(engine, alice=RED)
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    s = Pipeline(engine, wl, MemoryAlertSink(), CFG).run(
        ListSource(walking(30, (20, 40, RED))), should_stop=stop
    )
    assert s.stopped_by == "should_stop" and s.counters.frames_processed == 5
    # The frame taken when the stop came was delivered and not processed: it counts as dropped.
    c = s.counters
    assert c.dropped_frames >= 1 and c.frames == c.frames_processed + c.dropped_frames
    pipe = Pipeline(engine, wl, MemoryAlertSink(), CFG, camera_allowed=lambda cam: cam == "other")
    with pytest.raises(CameraNotAuthorisedError):
        pipe.run(ListSource(walking(3, (20, 40, RED))))


def test_jsonl_sink_writes_lines_and_crops(tmp_path: Path, engine) -> None:  # type: ignore[no-untyped-def]
    for mode in ("files", "base64"):
        out = tmp_path / mode / "alerts.jsonl"
        sink = JsonlAlertSink(out, images=mode)  # type: ignore[arg-type]
        Pipeline(engine, watchlist_of(engine, alice=RED), sink, CFG).run(
            ListSource(walking(10, (20, 40, RED)))
        )
        lines = out.read_text().splitlines()
        assert len(lines) == 1
        rec = json.loads(lines[0])
        for key in (
            "subject_id",
            "track_id",
            "score",
            "threshold",
            "contract",
            "frame_time",
            "raised_at",
            "latency_ms",
        ):
            assert key in rec
        if mode == "files":
            assert Path(rec["probe_crop"]).read_bytes()[:3] == b"\xff\xd8\xff"
            assert Path(rec["scene"]).exists()
        else:
            assert rec["probe_crop_jpeg_b64"].startswith("/9j/")


def test_snapshot_pixelates_faces_only_the_snapshot_detector_found(engine) -> None:  # type: ignore[no-untyped-def]
    from openlfr.vision.types import Detection

    rng = np.random.default_rng(0)
    noise = rng.integers(0, 60, (60, 60, 3), dtype=np.uint8)  # unsaturated: the mock misses it
    frames = walking(10, (20, 40, RED))
    for f in frames:
        f[160:220, 240:300] = noise
    hidden = Detection(240, 160, 300, 220, 0.4, np.zeros((5, 2), np.float32))

    class Extra:
        name = "extra"
        calls = 0

        def detect(self, image):  # type: ignore[no-untyped-def]
            Extra.calls += 1
            return [hidden]

    sink = MemoryAlertSink()
    pipe = Pipeline(engine, watchlist_of(engine, alice=RED), sink, CFG, snapshot_detector=Extra())
    pipe.run(ListSource(frames))
    assert len(sink.alerts) == 1 and Extra.calls == 1
    snap = cv2.imdecode(np.frombuffer(sink.alerts[0].scene_jpeg, np.uint8), cv2.IMREAD_COLOR)
    region = snap[170:210, 250:290].astype(np.float32)
    # Pixelated: flat blocks instead of noise.
    assert float(np.abs(np.diff(region, axis=1)).mean()) < 5.0
    assert float(np.abs(np.diff(noise.astype(np.float32), axis=1)).mean()) > 15.0


def test_async_and_sync_embedding_decide_alike(engine) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    frames = walking(30, (20, 40, RED), (200, 150, BLUE))
    out = []
    for async_embed in (True, False):
        sink = MemoryAlertSink()
        s = Pipeline(
            engine, watchlist_of(engine, alice=RED), sink, replace(CFG, async_embed=async_embed)
        ).run(ListSource(frames))
        c = s.counters
        out.append(([a.subject_id for a in sink.alerts], c.tracks, c.embeddings))
        assert c.embeddings <= c.tracks * CFG.shots.max_embeddings and not c.stages["embed"] < 0
    # The shots a busy track skips depend on thread timing; the decisions do not.
    assert out[0][:2] == out[1][:2] and out[0][0] == ["alice"]


def test_frames_off_the_stride_are_never_converted(engine) -> None:  # type: ignore[no-untyped-def]
    from openlfr.pipeline.frame import Frame

    images = walking(12, (20, 40, RED))
    converted: list[int] = []

    class Lazy(ListSource):
        def frames(self):  # type: ignore[no-untyped-def]
            for i, img in enumerate(self.images):
                yield Frame(
                    i, None, 0.0, i / 25, convert=lambda i=i, img=img: converted.append(i) or img
                )

    from openlfr.pipeline.gating import MotionGate

    # Without the motion gate, which skips a due frame once the track has spent its budget.
    cfg = PipelineConfig(
        threshold=0.9, detect_stride=3, gate=CFG.gate, motion=MotionGate(enabled=False)
    )
    s = Pipeline(engine, watchlist_of(engine, alice=RED), MemoryAlertSink(), cfg).run(Lazy(images))
    assert converted == [0, 3, 6, 9]
    st = s.counters.stages
    assert {"decode", "detect", "embed", "embed_wait", "convert", "other"} <= set(st)
    assert st["detect_ms_per_frame"] >= 0 and s.to_dict()["stages"] == st


class SkippingSource(ListSource):
    """Frames whose index is in `skipped` come without pixels, as a decoder that skipped them."""

    def __init__(self, images: list[np.ndarray], skipped: set[int]) -> None:
        super().__init__(images)
        self.skipped = skipped
        self.hinted: list[int] = []

    def decode_for_stride(self, stride: int) -> None:
        self.hinted.append(stride)

    def frames(self) -> Iterator[Frame]:
        for f in super().frames():
            yield (
                Frame(f.index, None, f.t_capture, f.media_s, convert=not_decoded)
                if (f.index in self.skipped)
                else f
            )


def test_a_due_frame_the_source_did_not_decode_passes_detection_on(engine) -> None:  # type: ignore[no-untyped-def]
    cfg = PipelineConfig(threshold=0.9, detect_stride=3, gate=CFG.gate)
    src = SkippingSource(walking(30, (20, 40, RED)), skipped={3, 4, 5})
    s = Pipeline(engine, watchlist_of(engine, alice=RED), MemoryAlertSink(), cfg).run(src)
    # Detected at 0, then at 6 (3 to 5 have no pixels), 9, ..., 27; told the stride first.
    assert src.hinted == [3] and s.counters.detect_frames == 9 and s.counters.alerts == 1
    assert s.counters.frames_processed == 30


class RecordingSink(MemoryAlertSink):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.threads: list[str] = []

    def emit(self, alert: Alert) -> None:
        self.threads.append(threading.current_thread().name)
        if self.fail:
            raise RuntimeError("sink down")
        super().emit(alert)


def test_alerts_are_built_off_the_camera_thread_and_their_errors_end_the_run(engine) -> None:  # type: ignore[no-untyped-def]
    wl = watchlist_of(engine, alice=RED)
    sink = RecordingSink()
    s = Pipeline(engine, wl, sink, CFG).run(ListSource(walking(10, (20, 40, RED))))
    # Raised before run() returns, on the alert thread, counted and timed.
    assert len(sink.alerts) == s.counters.alerts == 1 and sink.threads[0].startswith("alert:")
    assert s.counters.stages["snapshot"] > 0
    inline = RecordingSink()
    Pipeline(engine, wl, inline, replace(CFG, async_alerts=False)).run(
        ListSource(walking(10, (20, 40, RED)))
    )
    assert inline.threads == [threading.current_thread().name]
    with pytest.raises(RuntimeError, match="sink down"):
        Pipeline(engine, wl, RecordingSink(fail=True), CFG).run(
            ListSource(walking(10, (20, 40, RED)))
        )

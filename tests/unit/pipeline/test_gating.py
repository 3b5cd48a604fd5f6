"""The motion gate: detection only where a face can have arrived (mock engine)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from openlfr.pipeline import MemoryAlertSink, Pipeline, PipelineConfig, QualityGate
from openlfr.pipeline.gating import DetectionGate, MotionGate
from openlfr.vision.types import Detection

from .conftest import RED, ListSource, scene, watchlist_of

CFG = PipelineConfig(threshold=0.9, detect_stride=1, gate=QualityGate(min_sharpness=0.0))


def test_a_still_scene_is_not_detected_on_until_something_moves(engine) -> None:  # type: ignore[no-untyped-def]
    # 1 s of an empty corridor, then a face walks in.
    frames = [scene([])] * 25 + [scene([(20 + 3 * i, 40, RED)]) for i in range(20)]
    sink = MemoryAlertSink()
    s = Pipeline(engine, watchlist_of(engine, alice=RED), sink, CFG).run(ListSource(frames))
    c = s.counters
    # Detected at the start, once at max_idle_s, then on every frame once the face moves.
    assert c.detect_skipped_still >= 20 and c.detect_frames <= 25
    assert [a.subject_id for a in sink.alerts] == ["alice"]
    # With the gate off, every frame is detected on, and the outcome is the same.
    off = replace(CFG, motion=MotionGate(enabled=False))
    s2 = Pipeline(engine, watchlist_of(engine, alice=RED), MemoryAlertSink(), off).run(
        ListSource(frames)
    )
    assert s2.counters.detect_frames == 45 and s2.counters.tracks == c.tracks == 1


def test_a_face_that_arrives_without_moving_is_found_within_max_idle() -> None:
    gate = DetectionGate(MotionGate(max_idle_s=0.5))
    still = np.full((30, 40), 100, np.uint8)
    decided = [gate.due(still, i / 25, [], True) for i in range(30)]
    # The first frame, then every 0.5 s (13 frames: the first at or after 0.5 s).
    assert [i for i, d in enumerate(decided) if d] == [0, 13, 26]
    assert gate.skipped_still == 27


def test_settled_tracks_skip_one_due_frame_in_two_unless_something_moves_elsewhere() -> None:
    gate = DetectionGate(MotionGate(step=8, max_idle_s=10.0))
    face = Detection(80.0, 80.0, 120.0, 120.0, 0.9, np.zeros((5, 2), np.float32))
    base = np.full((60, 80), 100, np.uint8)
    near = base.copy()
    near[10:20, 9:16] = 200  # moves within the tracked person's head-and-body region
    frames = [base, near] * 4
    got = [gate.due(f, i / 25, [face], all_settled=True) for i, f in enumerate(frames)]
    assert got == [True, False, True, False, True, False, True, False]
    # A hungry track (shots still wanted): every due frame is detected.
    gate2 = DetectionGate(MotionGate(step=8, max_idle_s=10.0))
    assert all(gate2.due(f, i / 25, [face], all_settled=False) for i, f in enumerate(frames))
    # Motion far from anyone tracked: a new face may be entering.
    gate3 = DetectionGate(MotionGate(step=8, max_idle_s=10.0))
    far = base.copy()
    far[50:58, 60:70] = 200
    assert all(gate3.due(f, i / 25, [face], True) for i, f in enumerate([base, far] * 4))


def test_motion_outside_the_configured_regions_is_ignored() -> None:
    gate = DetectionGate(MotionGate(max_idle_s=10.0, regions=((0.0, 0.0, 0.5, 1.0),)))
    base = np.full((60, 80), 100, np.uint8)
    right = base.copy()
    right[10:30, 50:70] = 200  # the right half: a road, outside the region
    left = base.copy()
    left[10:30, 10:30] = 200
    assert [gate.due(f, i / 25, [], True) for i, f in enumerate([base, right, base, left])] == [
        True,
        False,
        False,
        True,
    ]

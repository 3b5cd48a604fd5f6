"""The deferred first shot (pipeline/shots.py): embeddings saved, decisions unchanged."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from openlfr.pipeline import MemoryAlertSink, Pipeline, PipelineConfig, QualityGate
from openlfr.vision.engine import FaceEngine

from .conftest import BLUE, RED, ListSource, scene, watchlist_of

CFG = PipelineConfig(threshold=0.9, detect_stride=1, gate=QualityGate(min_sharpness=0.0))


def _walking(n: int, *faces: tuple[int, int, tuple[int, int, int]]) -> list[np.ndarray]:
    return [scene([(x + 2 * i, y, c) for x, y, c in faces]) for i in range(n)]


def _run(engine: FaceEngine, frames: list[np.ndarray], defer: bool) -> tuple[Pipeline, list]:  # type: ignore[type-arg]
    sink = MemoryAlertSink()
    cfg = replace(CFG, shots=replace(CFG.shots, defer_first=defer))
    pipe = Pipeline(engine, watchlist_of(engine, alice=RED), sink, cfg)
    pipe.run(ListSource(frames))
    return pipe, sink.alerts


def test_a_track_with_a_single_usable_shot_costs_no_embedding(engine: FaceEngine) -> None:
    # Two detection updates: the second is too soon for another shot (min_gap_updates = 2).
    frames = _walking(2, (20, 40, RED))
    now, _ = _run(engine, frames, defer=False)
    later, alerts = _run(engine, frames, defer=True)
    assert now.counters.embeddings == 1 and now.counters.track_shots == 1
    assert later.counters.embeddings == 0 and later.counters.first_shots_unembedded == 1
    assert alerts == [] and not later._tracks  # the held chip went with the track


def test_deferring_the_first_shot_decides_alike(engine: FaceEngine) -> None:
    frames = _walking(30, (20, 40, RED), (200, 150, BLUE))
    runs = [_run(engine, frames, defer=d) for d in (False, True)]
    (p0, a0), (p1, a1) = runs
    assert [(a.subject_id, a.frame_index, a.n_shots) for a in a0] == [
        (a.subject_id, a.frame_index, a.n_shots) for a in a1
    ]
    assert len(a1) == 1 and a1[0].subject_id == "alice"
    c0, c1 = p0.counters, p1.counters
    assert (c0.tracks, c0.tracks_min_shots, c0.track_shots, c0.embeddings) == (
        c1.tracks,
        c1.tracks_min_shots,
        c1.track_shots,
        c1.embeddings,
    )
    assert c1.first_shots_unembedded == 0

"""The same file gives the same alerts however late its embeddings come back (mock engine).

An embedder that sleeps a random time per call stands in for a loaded machine: with files run
exactly (inflight.py) the alerts, their frames and the evidence counters are the same on every
run; a live source stays best effort. The shared batching embedder gives a request that asks to
be alone a model call of its own.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from openlfr.pipeline import (
    CameraJob,
    MemoryAlertSink,
    MultiCameraRunner,
    Pipeline,
    PipelineConfig,
    QualityGate,
)
from openlfr.pipeline.bestshot import ShotPolicy
from openlfr.vision.batching import BatchingEmbedder
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine
from openlfr.vision.mock import MockEmbedder
from openlfr.vision.types import Image

from .conftest import BLUE, GREEN, RED, ListSource, scene, watchlist_of

CFG = PipelineConfig(
    threshold=0.9,
    detect_stride=1,
    gate=QualityGate(min_sharpness=0.0),
    shots=ShotPolicy(min_shots=3),  # a later alert: more decisions the timing could move
    cooldown_s=0.0,
)


class SlowEmbedder(MockEmbedder):
    """Returns after 0-15 ms, at random: the order of completions the machine's load decides."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        with self.lock:
            delay = self.rng.random() * 0.015
        time.sleep(delay)
        return super().embed(chips)


def slow_engine(engine: FaceEngine, seed: int) -> FaceEngine:
    return FaceEngine(engine.detector, engine.aligner, SlowEmbedder(seed), min_face_px=8)


def footage() -> list[np.ndarray]:
    """Three people walking; two leave and come back (new tracks, the same subjects)."""
    frames = []
    for i in range(60):
        faces = [(20 + 2 * i, 40, RED), (200 - i, 150, BLUE)]
        if i % 25 < 18:
            faces.append((100 + i, 100, GREEN))
        frames.append(scene(faces))
    return frames


def fingerprint(sink: MemoryAlertSink) -> list[tuple[str, int, int, float, int]]:
    return [(a.subject_id, a.track_id, a.frame_index, a.score, a.n_shots) for a in sink.alerts]


def test_a_file_gives_the_same_alerts_whenever_its_embeddings_return(engine) -> None:  # type: ignore[no-untyped-def]
    wl = watchlist_of(engine, alice=RED, bob=BLUE, carol=GREEN)
    frames = footage()
    runs = []
    for seed in range(6):
        sink = MemoryAlertSink()
        s = Pipeline(slow_engine(engine, seed), wl, sink, CFG).run(ListSource(frames))
        c = s.counters
        runs.append((fingerprint(sink), c.embeddings, c.track_shots, c.tracks, c.max_score))
    assert len(runs[0][0]) >= 3  # each subject alerted, at least once
    assert all(r == runs[0] for r in runs), runs
    # ... and the same as with embeddings computed in the frame, synchronously.
    sink = MemoryAlertSink()
    Pipeline(engine, wl, sink, CFG).run(ListSource(frames))
    assert fingerprint(sink) == runs[0][0]


def test_files_on_a_shared_embedder_give_each_camera_its_own_run(engine) -> None:  # type: ignore[no-untyped-def]
    wl = watchlist_of(engine, alice=RED, bob=BLUE, carol=GREEN)
    frames = footage()
    alone = MemoryAlertSink()
    Pipeline(engine, wl, alone, CFG).run(ListSource(frames))
    for seed in range(2):
        sinks = {c: MemoryAlertSink() for c in ("a", "b", "c")}
        jobs = [
            CameraJob(ListSource(frames), wl, sinks[c], replace(CFG, camera_id=c)) for c in sinks
        ]
        r = MultiCameraRunner(slow_engine(engine, seed), jobs).run()
        assert not r.errors
        for c in sinks:
            assert fingerprint(sinks[c]) == fingerprint(alone)


def test_a_live_source_stays_best_effort(engine) -> None:  # type: ignore[no-untyped-def]
    wl = watchlist_of(engine, alice=RED, bob=BLUE, carol=GREEN)
    sink = MemoryAlertSink()
    pipe = Pipeline(slow_engine(engine, 0), wl, sink, CFG)
    s = pipe.run(ListSource(footage(), live=True))
    assert not pipe._pending.exact  # frames it cannot keep up with are dropped, and counted
    assert s.counters.frames == s.counters.frames_processed + s.counters.dropped_frames


class Recording(MockEmbedder):
    def __init__(self) -> None:
        self.calls: list[int] = []
        self.gate = threading.Event()

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        self.gate.wait(5)
        self.calls.append(len(chips))
        return super().embed(chips)


def test_a_request_submitted_alone_gets_a_model_call_of_its_own() -> None:
    rec = Recording()
    chip = np.zeros((32, 32, 3), np.uint8)
    with BatchingEmbedder(rec) as b:
        first = b.submit([chip])  # holds the worker while the rest queue up
        time.sleep(0.05)
        futs = [
            b.submit([chip, chip]),
            b.submit([chip], alone=True),
            b.submit([chip, chip, chip]),
            b.submit([chip]),
        ]
        rec.gate.set()
        first.result(5)
        for f in futs:
            f.result(5)
    # 2 and the alone 1 are not merged; 3 and 1 (neither alone) are.
    assert rec.calls == [1, 2, 1, 4]

"""The same footage, the same alerts: the walkers clip three times, with the CPU loaded.

People of the clip are enrolled from one frame of its first second (as a real list would hold
them: one ordinary photo each) and the clip is watched from 1.0 s on. Each run competes with a
different load: processes spinning on every core, and a Python thread spinning in the test's own
process (it contends for the GIL with the camera, embedding and alert threads), and in one run
an embedder starved the way a saturated machine starves it (each call returns 0-80 ms late, at
random), so embeddings come back at different moments every run. Alerts must be equal: subject,
track, frame and score to 1e-6; the last run is two cameras over one shared, batching embedder,
each of which must give the single camera's alerts.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from openlfr.matching import Watchlist
from openlfr.pipeline import (
    CameraJob,
    MemoryAlertSink,
    MultiCameraRunner,
    Pipeline,
    PipelineConfig,
    PyAVSource,
)
from openlfr.vision.contract import FloatArray
from openlfr.vision.engine import FaceEngine, default_threshold
from openlfr.vision.types import Embedder, Image

from .conftest import MATED_FRAME, video_frame

pytestmark = pytest.mark.data


@contextmanager
def cpu_load(processes: int, *, gil_thread: bool) -> Iterator[None]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            pass

    spin = threading.Thread(target=busy, daemon=True)
    if gil_thread:
        spin.start()
    try:
        yield
    finally:
        stop.set()
        for p in procs:
            p.kill()
            p.wait()
        if gil_thread:
            spin.join()


class LateEmbedder:
    def __init__(self, inner: Embedder) -> None:
        self.inner, self.contract, self.rng = inner, inner.contract, random.Random(7)

    def embed(self, chips: Sequence[Image]) -> FloatArray:
        time.sleep(self.rng.random() * 0.08)
        return self.inner.embed(chips)


def starved(engine: FaceEngine) -> FaceEngine:
    return FaceEngine(
        engine.detector,
        engine.aligner,
        LateEmbedder(engine.embedder),
        min_face_px=engine.min_face_px,
        limits=engine.limits,
        name=engine.name,
    )


@pytest.fixture(scope="module")
def walkers_list(video_path: Path, sface_engine: FaceEngine) -> Watchlist:
    """Everyone the detector finds at 0.48 s, large enough to enrol, one template each."""
    image = video_frame(video_path, MATED_FRAME)
    dets = [d for d in sface_engine.detect(image) if d.x2 - d.x1 >= 40]
    vecs = sface_engine.embed_chips(sface_engine.align(image, dets))
    assert len(dets) >= 3
    return Watchlist([f"walker-{i}" for i in range(len(dets))], vecs, sface_engine.contract)


Fingerprint = list[tuple[str, int, int, float]]


def fingerprint(sink: MemoryAlertSink) -> Fingerprint:
    return [(a.subject_id, a.track_id, a.frame_index, a.score) for a in sink.alerts]


def same(a: Fingerprint, b: Fingerprint) -> bool:
    return len(a) == len(b) and all(
        x[:3] == y[:3] and abs(x[3] - y[3]) <= 1e-6 for x, y in zip(a, b, strict=True)
    )


def test_the_walkers_clip_gives_the_same_alerts_three_times_under_load(
    video_path: Path, sface_engine: FaceEngine, walkers_list: Watchlist
) -> None:
    cores = os.cpu_count() or 2
    # Several walkers, so that several tracks' shots and decisions are in flight at once.
    cfg = PipelineConfig(threshold=default_threshold(sface_engine.contract))
    runs: list[Fingerprint] = []
    for processes, gil, engine in (
        (cores, False, sface_engine),
        (2 * cores, True, starved(sface_engine)),
    ):
        sink = MemoryAlertSink()
        with cpu_load(processes, gil_thread=gil):
            s = Pipeline(engine, walkers_list, sink, cfg).run(
                PyAVSource(str(video_path), start_s=1.0)
            )
        assert s.counters.frames == 80 and s.counters.dropped_frames == 0
        runs.append(fingerprint(sink))
    assert len({a[0] for a in runs[0]}) >= 2, runs[0]  # more than one person alerted
    assert same(runs[0], runs[1]), runs

    sinks = {"cam-a": MemoryAlertSink(), "cam-b": MemoryAlertSink()}
    jobs = [
        CameraJob(
            PyAVSource(str(video_path), start_s=1.0),
            walkers_list,
            sinks[c],
            PipelineConfig(camera_id=c, threshold=cfg.threshold),
        )
        for c in sinks
    ]
    with cpu_load(cores, gil_thread=True):
        r = MultiCameraRunner(sface_engine, jobs).run()
    assert not r.errors
    for c, sink in sinks.items():
        assert same(fingerprint(sink), runs[0]), (c, fingerprint(sink), runs[0])

"""Several cameras over one shared, batching embedder (mock engine)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from openlfr.pipeline import (
    CameraJob,
    MemoryAlertSink,
    MultiCameraRunner,
    PipelineConfig,
    QualityGate,
    share_engine,
)
from openlfr.vision.batching import BatchingEmbedder

from .conftest import BLUE, GREEN, RED, ListSource, scene, watchlist_of


def walking(n: int, *faces: tuple[int, int, tuple[int, int, int]]) -> list[np.ndarray]:
    return [scene([(x + 2 * i, y, c) for x, y, c in faces]) for i in range(n)]


def cfg(cid: str) -> PipelineConfig:
    return PipelineConfig(
        camera_id=cid, threshold=0.9, detect_stride=1, gate=QualityGate(min_sharpness=0.0)
    )


def test_three_cameras_share_one_embedder_and_alert_each_on_its_own_list(engine) -> None:  # type: ignore[no-untyped-def]
    sinks = {c: MemoryAlertSink() for c in ("a", "b", "c")}
    jobs = [
        CameraJob(
            ListSource(walking(20, (20, 40, RED))),
            watchlist_of(engine, alice=RED),
            sinks["a"],
            cfg("a"),
        ),
        CameraJob(
            ListSource(walking(20, (20, 40, BLUE))),
            watchlist_of(engine, bob=BLUE),
            sinks["b"],
            cfg("b"),
        ),
        # Camera c's list has nobody it will see: no alert, counters only.
        CameraJob(
            ListSource(walking(20, (20, 40, RED))),
            watchlist_of(engine, carol=GREEN),
            sinks["c"],
            cfg("c"),
        ),
    ]
    runner = MultiCameraRunner(engine, jobs)
    r = runner.run()
    assert not r.errors and set(r.summaries) == {"a", "b", "c"}
    assert [a.subject_id for a in sinks["a"].alerts] == ["alice"]
    assert [a.subject_id for a in sinks["b"].alerts] == ["bob"]
    assert sinks["c"].alerts == [] and r.summaries["c"].counters.tracks_discarded == 1
    assert all(a.camera_id == "a" for a in sinks["a"].alerts)
    total = sum(s.counters.embeddings for s in r.summaries.values())
    assert r.batching.chips == total and 0 < r.batching.calls <= total
    assert all(not p._tracks for p in runner.pipelines.values())
    d = r.to_dict()
    assert d["embed_chips"] == total and set(d["cameras"]) == {"a", "b", "c"}


def test_a_failing_camera_does_not_stop_the_others(engine) -> None:  # type: ignore[no-untyped-def]
    class Broken(ListSource):
        def frames(self):  # type: ignore[no-untyped-def]
            raise OSError("camera unplugged")
            yield  # pragma: no cover

    sink = MemoryAlertSink()
    jobs = [
        CameraJob(Broken([]), watchlist_of(engine, alice=RED), MemoryAlertSink(), cfg("x")),
        CameraJob(
            ListSource(walking(15, (20, 40, RED))), watchlist_of(engine, alice=RED), sink, cfg("y")
        ),
    ]
    r = MultiCameraRunner(engine, jobs).run()
    assert set(r.errors) == {"x"} and "unplugged" in str(r.errors["x"])
    assert len(sink.alerts) == 1


def test_camera_ids_must_be_distinct(engine) -> None:  # type: ignore[no-untyped-def]
    wl = watchlist_of(engine, alice=RED)
    jobs = [CameraJob(ListSource([]), wl, MemoryAlertSink(), cfg("a")) for _ in range(2)]
    with pytest.raises(ValueError):
        MultiCameraRunner(engine, jobs)


class Gated:
    """An embedder that holds each call until `gate` is set, noting every batch's size."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.contract = inner, inner.contract
        self.gate, self.entered = threading.Event(), threading.Event()
        self.sizes: list[int] = []

    def embed(self, chips):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.gate.wait(5)
        self.sizes.append(len(chips))
        return self.inner.embed(chips)


def _red_chip() -> np.ndarray:
    chip = np.zeros((32, 32, 3), np.uint8)
    chip[:] = RED
    return chip


def test_batching_embedder_merges_concurrent_requests(engine) -> None:  # type: ignore[no-untyped-def]
    chip = _red_chip()
    ref = engine.embed_chips([chip])[0]
    slow = Gated(engine.embedder)
    with BatchingEmbedder(slow) as b:
        futs = [b.submit([chip] * n) for n in (1, 2, 3)]  # queued while the first call blocks
        slow.gate.set()
        out = [f.result(5) for f in futs]
        assert [len(o) for o in out] == [1, 2, 3]
        assert all(np.allclose(o, ref) for o in out)
        assert b.stats.chips == 6 and b.stats.calls <= 2
        assert b.embed([]).shape == (0, engine.embedder.contract.dim)


def test_a_cancelled_request_is_dropped_and_the_shared_thread_lives_on(engine) -> None:  # type: ignore[no-untyped-def]
    """A camera that stops cancels what it still waits for: those chips never reach the model,
    and the thread every other camera shares keeps serving them."""
    chip = _red_chip()
    slow = Gated(engine.embedder)
    with BatchingEmbedder(slow) as b:
        first = b.submit([chip])
        assert slow.entered.wait(5)  # the first request is in the model, the next one queues
        stopped = b.submit([chip] * 2)
        assert stopped.cancel()
        slow.gate.set()
        assert len(first.result(5)) == 1
        assert len(b.submit([chip] * 3).result(5)) == 3
        assert slow.sizes == [1, 3]


def test_batching_embedder_passes_model_errors_to_the_caller(engine) -> None:  # type: ignore[no-untyped-def]
    class Bad:
        contract = engine.embedder.contract

        def embed(self, chips):  # type: ignore[no-untyped-def]
            raise RuntimeError("model failed")

    with BatchingEmbedder(Bad()) as b, pytest.raises(RuntimeError, match="model failed"):
        b.embed([np.zeros((32, 32, 3), np.uint8)])


def test_share_engine_keeps_detector_and_contract(engine) -> None:  # type: ignore[no-untyped-def]
    shared = share_engine(engine)
    try:
        assert shared.detector is engine.detector and shared.contract == engine.contract
        assert share_engine(shared).embedder is shared.embedder  # not wrapped twice
    finally:
        shared.embedder.close()  # type: ignore[attr-defined]

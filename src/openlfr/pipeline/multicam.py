"""Several cameras in one process: one detector, one aligner and one batching embedder shared.

Two ways in:

- `share_engine(engine)` returns an engine whose embedder is a `BatchingEmbedder` around the
  given engine's: give it to any number of `Pipeline`s, each run on its own thread (how a worker
  that starts and stops cameras as deployments change would use it), and every camera's chips
  go through one model session, batched across cameras. Close it with `engine.embedder.close()`.
- `MultiCameraRunner(engine, jobs).run()` does that for a fixed set of `CameraJob`s (each its
  own source, watchlist, sink and config, so cameras of different deployments can share one
  process) and returns each camera's `RunSummary`, or the error that ended it.

The privacy boundary is each pipeline's, unchanged: the shared embedder holds a chip only until
it is embedded, and each camera's track evidence stays in that camera's pipeline.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from openlfr.matching.watchlist import Watchlist
from openlfr.pipeline.alerts import AlertSink
from openlfr.pipeline.frame import FrameSource
from openlfr.pipeline.runner import Pipeline
from openlfr.pipeline.summary import Counters, PipelineConfig, RunSummary
from openlfr.vision.batching import BatchingEmbedder, BatchStats
from openlfr.vision.engine import FaceEngine
from openlfr.vision.types import Detector


def share_engine(engine: FaceEngine, *, max_batch: int = 64) -> FaceEngine:
    """`engine` with its embedder behind one batching queue (detector and aligner shared)."""
    emb = engine.embedder
    batcher = (
        emb if isinstance(emb, BatchingEmbedder) else BatchingEmbedder(emb, max_batch=max_batch)
    )
    return FaceEngine(
        engine.detector,
        engine.aligner,
        batcher,
        min_face_px=engine.min_face_px,
        limits=engine.limits,
        name=engine.name,
    )


@dataclass(slots=True)
class CameraJob:
    source: FrameSource
    watchlist: Watchlist
    sink: AlertSink
    config: PipelineConfig = field(default_factory=PipelineConfig)
    camera_allowed: Callable[[str], bool] | None = None
    should_stop: Callable[[], bool] | None = None
    max_frames: int | None = None


@dataclass(frozen=True, slots=True)
class MultiRunSummary:
    summaries: dict[str, RunSummary]  # camera id -> its run
    errors: dict[str, BaseException]  # camera id -> what ended it early
    batching: BatchStats

    def to_dict(self) -> dict[str, object]:
        return {
            "cameras": {cid: s.to_dict() for cid, s in self.summaries.items()},
            "errors": {cid: f"{type(e).__name__}: {e}" for cid, e in self.errors.items()},
            "embed_calls": self.batching.calls,
            "embed_chips": self.batching.chips,
            "mean_batch": round(self.batching.mean_batch, 2),
            "embed_busy_s": round(self.batching.busy_s, 3),
        }


class MultiCameraRunner:
    """Runs each job's pipeline on its own thread over one shared engine; `run()` blocks until
    every camera has ended (source end, its `should_stop`, or an error)."""

    def __init__(
        self,
        engine: FaceEngine,
        jobs: Sequence[CameraJob],
        *,
        snapshot_detector: Detector | None = None,
        max_batch: int = 64,
        on_status: Callable[[str, Counters], None] | None = None,
    ) -> None:
        ids = [j.config.camera_id for j in jobs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"camera ids must be distinct, got {ids}")
        self.engine = share_engine(engine, max_batch=max_batch)
        self.jobs = list(jobs)
        self.on_status = on_status
        self.pipelines = {
            j.config.camera_id: Pipeline(
                self.engine,
                j.watchlist,
                j.sink,
                j.config,
                camera_allowed=j.camera_allowed,
                snapshot_detector=snapshot_detector,
            )
            for j in self.jobs
        }

    @property
    def batcher(self) -> BatchingEmbedder:
        emb = self.engine.embedder
        assert isinstance(emb, BatchingEmbedder)
        return emb

    def run(self) -> MultiRunSummary:
        summaries: dict[str, RunSummary] = {}
        errors: dict[str, BaseException] = {}
        lock = threading.Lock()

        def one(job: CameraJob) -> None:
            cid = job.config.camera_id
            status = None
            if self.on_status is not None:
                cb = self.on_status

                def status(c: Counters) -> None:
                    cb(cid, c)

            try:
                s = self.pipelines[cid].run(
                    job.source,
                    should_stop=job.should_stop,
                    on_status=status,
                    max_frames=job.max_frames,
                )
                with lock:
                    summaries[cid] = s
            except BaseException as exc:  # one camera's failure never stops the others
                with lock:
                    errors[cid] = exc

        threads = [
            threading.Thread(target=one, args=(j,), name=f"camera:{j.config.camera_id}")
            for j in self.jobs
        ]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            self.batcher.close()
        return MultiRunSummary(summaries, errors, self.batcher.stats)

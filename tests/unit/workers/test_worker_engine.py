"""One engine per worker process, shared by its cameras (no centre or broker needed)."""

from __future__ import annotations

import uuid

from openlfr.edge.worker import Worker, WorkerConfig
from openlfr.services.workers import TOKEN_PREFIX
from openlfr.vision.batching import BatchingEmbedder
from openlfr.vision.engine import FaceEngine
from openlfr.vision.mock import mock_engine


def test_the_cameras_of_a_worker_share_one_engine_and_one_embedder_queue() -> None:
    built: list[FaceEngine] = []

    def factory() -> FaceEngine:
        built.append(mock_engine())
        return built[-1]

    tok = f"{TOKEN_PREFIX}{uuid.uuid4().hex}_secret"
    cfg = WorkerConfig(centre="http://127.0.0.1:9", broker="nats://127.0.0.1:9", token=tok,
                       cameras={"a": "a.mp4", "b": "b.mp4"})  # fmt: skip
    w = Worker(cfg, engine_factory=factory)
    try:
        a, b = w.engine.get(), w.engine.get()
        assert a is b and len(built) == 1
        assert isinstance(a.embedder, BatchingEmbedder) and a.detector is built[0].detector
    finally:
        w.centre.close()
        w.engine.close()

"""The server's in-process cameras (`api/live.py`): all cameras of a process run on one engine."""

from __future__ import annotations

import time
from pathlib import Path

from openlfr.api.live import LiveManager
from openlfr.vision.engine import FaceEngine
from openlfr.vision.mock import mock_engine
from tests.unit.api._support import MOCK_PIPELINE, walking_source, world
from tests.unit.governance._support import live


def test_the_cameras_of_a_process_share_one_engine_closed_after_the_last(tmp_path: Path) -> None:
    w = world(tmp_path)
    dep, _ = live(w)  # cam-1 and cam-2
    built: list[FaceEngine] = []

    def factory() -> FaceEngine:
        built.append(mock_engine())
        return built[-1]

    mgr = LiveManager(
        w.svc,
        factory,
        {"cam-1": walking_source, "cam-2": walking_source},
        pipeline_config=MOCK_PIPELINE,
    )
    assert built == []  # nothing loads until a camera starts
    started, missing = mgr.start(dep, w.op1)
    assert sorted(started) == ["cam-1", "cam-2"] and missing == []
    deadline = time.monotonic() + 30
    while any(r.running for r in mgr.status(dep)) and time.monotonic() < deadline:
        time.sleep(0.05)
    runs = mgr.status(dep)
    assert [r.error for r in runs] == [None, None] and all(r.frames == 40 for r in runs)
    assert len(built) == 1
    shared = mgr.engine.get()
    assert shared.detector is built[0].detector  # the one model set, behind one batcher
    mgr.stop()
    assert mgr.engine._engine is None  # batching thread stopped; a later start builds afresh

"""Acceptance on real footage: no false alert against 1,000 LFW identities; the mated subject is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
from openlfr.vision.engine import FaceEngine, default_threshold
from openlfr.vision.types import Image

pytestmark = pytest.mark.data


def test_no_alert_with_1000_lfw_identities_at_the_default_threshold(
    video_path: Path, sface_engine: FaceEngine, lfw_watchlist: Watchlist
) -> None:
    sink = MemoryAlertSink()
    s = Pipeline(sface_engine, lfw_watchlist, sink, PipelineConfig()).run(
        PyAVSource(str(video_path))
    )
    assert s.threshold == default_threshold(sface_engine.contract)
    c = s.counters
    assert c.frames == 105 and c.tracks >= 10 and c.embeddings > 0
    assert sink.alerts == [], [(a.subject_id, a.score) for a in sink.alerts]
    assert c.tracks_discarded == c.tracks
    # Margin, not luck: the best non-mated score stays well below the threshold.
    assert c.max_score < s.threshold - 0.05


def test_a_subject_enrolled_from_the_first_second_is_alerted_later_and_nobody_else(
    video_path: Path, sface_engine: FaceEngine, lfw_watchlist: Watchlist, mated_crop: Image
) -> None:
    enrolled = sface_engine.face_from_image(mated_crop, select="strict", source="mated-crop")
    # The governance-style constructor: ids + vectors + contract, the mated subject among 1,000.
    lfw_ids, lfw_vecs = lfw_watchlist.rows()
    ids = [*lfw_ids, "mated-subject"]
    vecs = np.vstack([lfw_vecs, enrolled.template.vector[None, :]])
    wl = Watchlist(ids, vecs, sface_engine.contract)
    sink = MemoryAlertSink()
    # Watch only from 1.0 s on: the alert must come from frames after the enrolment crop.
    s = Pipeline(sface_engine, wl, sink, PipelineConfig()).run(
        PyAVSource(str(video_path), start_s=1.0)
    )
    assert s.counters.frames == 80
    assert [a.subject_id for a in sink.alerts] == ["mated-subject"]
    a = sink.alerts[0]
    assert a.media_s >= 1.0 and a.score >= s.threshold and a.latency_ms >= 0
    assert a.probe_crop_jpeg[:3] == b"\xff\xd8\xff" and a.scene_jpeg[:3] == b"\xff\xd8\xff"
    assert a.n_shots >= 2


def test_two_cameras_share_one_embedder_on_real_footage(
    video_path: Path, sface_engine: FaceEngine, lfw_watchlist: Watchlist, mated_crop: Image
) -> None:
    """Two cameras in one process over one batching embedder: the camera whose list has the
    mated subject alerts on it, the one with only the 1,000 LFW people alerts on nobody."""
    enrolled = sface_engine.face_from_image(mated_crop, select="strict", source="mated-crop")
    lfw_ids, lfw_vecs = lfw_watchlist.rows()
    with_mated = Watchlist(
        [*lfw_ids, "mated-subject"],
        np.vstack([lfw_vecs, enrolled.template.vector[None, :]]),
        sface_engine.contract,
    )
    sinks = {"cam-a": MemoryAlertSink(), "cam-b": MemoryAlertSink()}
    jobs = [
        CameraJob(
            PyAVSource(str(video_path), start_s=1.0),
            with_mated,
            sinks["cam-a"],
            PipelineConfig(camera_id="cam-a"),
        ),
        CameraJob(
            PyAVSource(str(video_path)),
            lfw_watchlist,
            sinks["cam-b"],
            PipelineConfig(camera_id="cam-b"),
        ),
    ]
    r = MultiCameraRunner(sface_engine, jobs).run()
    assert not r.errors
    assert [a.subject_id for a in sinks["cam-a"].alerts] == ["mated-subject"]
    assert sinks["cam-a"].alerts[0].camera_id == "cam-a"
    assert sinks["cam-b"].alerts == []
    total = sum(s.counters.embeddings for s in r.summaries.values())
    assert r.batching.chips == total > 0 and r.batching.calls <= total

from __future__ import annotations

import numpy as np
import pytest

from openlfr.matching import Watchlist
from openlfr.pipeline import pixelate_faces
from openlfr.pipeline.bestshot import QualityGate, ShotPolicy
from openlfr.pipeline.decision import decide_tracks, probe_vector
from openlfr.vision.contract import l2_normalise
from openlfr.vision.mock import MOCK_CONTRACT
from openlfr.vision.quality import FaceQuality
from openlfr.vision.types import Detection

LM = np.zeros((5, 2), np.float32)


def test_pixelation_hides_every_face_but_the_kept_one() -> None:
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    keep = Detection(20, 20, 80, 80, 0.9, LM)
    other = Detection(150, 60, 230, 140, 0.9, LM)
    out = pixelate_faces(img, [keep, other], keep=keep, blocks=6)
    assert np.array_equal(out[20:80, 20:80], img[20:80, 20:80])
    region = out[60:140, 150:230].reshape(-1, 3)
    assert len(np.unique(region, axis=0)) <= 49  # a handful of blocks, not a face
    assert not np.array_equal(out[60:140, 150:230], img[60:140, 150:230])
    assert img is not out  # the frame itself is untouched


def test_quality_gate() -> None:
    g = QualityGate()
    good = FaceQuality(60, 100, 0.1, 5, 0.9)
    assert g.passes(good)
    assert not g.passes(FaceQuality(20, 100, 0.1, 5, 0.9))  # small
    assert not g.passes(FaceQuality(60, 2, 0.1, 5, 0.9))  # blurred
    assert not g.passes(FaceQuality(60, 100, 0.9, 5, 0.9))  # profile
    assert not g.passes(FaceQuality(60, 100, 0.1, 60, 0.9))  # rolled
    assert not g.passes(FaceQuality(60, 100, 0.1, 5, 0.3))  # doubtful detection
    assert g.geometry_ok(FaceQuality(60, float("nan"), 0.1, 5, 0.9))


def test_shot_policy() -> None:
    p = ShotPolicy(
        max_shots=3, max_embeddings=4, min_gain=0.05, min_gap_updates=2, evidence_ratio=0.8
    )
    assert p.choose(0.5, [], 0, 0) == "add"
    assert p.choose(0.9, [0.5], 1, 1) is None  # too soon after the last shot
    assert p.choose(0.42, [0.5], 2, 1) == "add"  # a further shot, within 0.8 of the best
    assert p.choose(0.38, [0.5], 2, 1) is None  # too poor beside the best
    assert p.choose(0.45, [0.5, 0.42], 2, 2) == "add"  # K not reached yet
    assert p.choose(0.46, [0.5, 0.42, 0.45], 2, 3) is None  # K held, not better enough
    assert p.choose(0.48, [0.5, 0.42, 0.45], 2, 3) == "replace"  # beats the worst by 0.05
    assert p.choose(0.99, [0.5, 0.48, 0.45], 9, 4) is None  # embedding budget spent


def test_track_evidence_replaces_its_worst_shot_and_clears() -> None:
    from openlfr.pipeline.evidence import TrackEvidence

    rng = np.random.default_rng(1)
    v = l2_normalise(rng.standard_normal((3, MOCK_CONTRACT.dim)).astype(np.float32))
    chips = [np.full((2, 2, 3), i, np.uint8) for i in range(3)]
    ev = TrackEvidence(0, 0)
    ev.add(v[0], 0.5, 1, "add", chips[0])
    ev.add(v[1], 0.4, 3, "add", chips[1])
    ev.add(v[2], 0.6, 5, "replace", chips[2])
    assert ev.qualities == [0.5, 0.6] and np.array_equal(ev.shots[1], v[2])
    assert ev.embedded == 3 and ev.last_shot_update == 5
    assert np.linalg.norm(ev.probe(True)) == pytest.approx(1.0)
    # The chips follow their shots: fused, all of them; unfused, the best one's.
    assert [int(c[0, 0, 0]) for c in ev.probe_chips(True)] == [0, 2]
    assert [int(c[0, 0, 0]) for c in ev.probe_chips(False)] == [2]
    ev.clear()
    assert ev.shots == [] and ev.qualities == [] and ev.chips == [] and ev.probe_chips(True) == []


def test_probe_fusion_and_decisions() -> None:
    rng = np.random.default_rng(5)
    v = l2_normalise(rng.standard_normal((3, MOCK_CONTRACT.dim)).astype(np.float32))
    wl = Watchlist(["a", "b", "c"], v, MOCK_CONTRACT)
    fused = probe_vector([v[0], v[0]], [0.5, 0.6], fuse=True)
    assert np.linalg.norm(fused) == pytest.approx(1.0)
    assert np.array_equal(probe_vector([v[1], v[0]], [0.5, 0.6], fuse=False), v[0])
    with pytest.raises(ValueError):
        probe_vector([], [], fuse=True)
    seen: list[float] = []
    noisy = l2_normalise((v[0] + 0.05 * v[1]).astype(np.float32))
    ds, conflicts = decide_tracks(
        {1: v[0], 2: noisy, 3: v[2]},
        {1: 2, 2: 2, 3: 1},
        wl,
        0.9,
        2,
        on_score=lambda t, s: seen.append(s),
    )
    # Tracks 1 and 2 both reach "a" in one frame: only the better one keeps it; track 3 lacks
    # the shots for a decision.
    assert [(d.track_id, d.subject_id) for d in ds] == [(1, "a")]
    assert conflicts == 1 and len(seen) == 3

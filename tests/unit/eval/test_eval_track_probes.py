"""Track probes: enrolment from a track's start, later shots as searches (synthetic tracks)."""

from __future__ import annotations

import json

import numpy as np

from openlfr.eval.track_probes import Track, evaluate_tracks, split_track
from openlfr.vision.contract import l2_normalise


def _track(tid: int, n: int, centre: np.ndarray, noise: float, rng: np.random.Generator) -> Track:
    vecs = l2_normalise(
        centre + noise * rng.standard_normal((n, centre.size)) / np.sqrt(centre.size)
    )
    quality = list(rng.uniform(0, 1, n))
    return Track(tid, list(range(n)), quality, [v.astype(np.float32) for v in vecs])


def test_split_enrols_from_the_start_and_probes_only_later() -> None:
    tr = Track(1, list(range(12)), [0.1, 0.9, 0.5, 0.95] + [1.0] * 8, [np.zeros(2)] * 12)
    s = split_track(tr, 2, 3)
    assert s is not None
    assert s.enrol == (1, 3)  # the best two of the first third (4 shots), not later shots
    assert s.probes == ((4, 5, 6), (7, 8, 9))  # disjoint, time-ordered, after the enrolment
    assert split_track(Track(2, [0, 1], [1, 1], [np.zeros(2)] * 2), 1, 3) is None


def test_tracks_find_themselves_and_the_output_holds_no_template() -> None:
    rng = np.random.default_rng(0)
    centres = l2_normalise(rng.standard_normal((5, 32)))
    tracks = [_track(i, 20, centres[i], 0.4, rng) for i in range(5)]
    tracks.append(_track(9, 3, centres[0], 0.4, rng))  # too short: not used
    distractors = l2_normalise(rng.standard_normal((50, 32))).astype(np.float32)
    out = evaluate_tracks(
        tracks, [(1, 1), (2, 3)], {(1, 1): 0.5, (2, 3): None}, distractors=distractors
    )
    assert out["tracks_seen"] == 6 and out["tracks_used"] == 5
    one, fused = out["items"]
    assert one["list_size"] == 55 and one["tracks"] == 5
    assert one["rank1_share"] > 0.9 and one["tracks_with_a_hit"] == 5
    assert fused["hit_share"] is None and fused["tracks_with_a_hit"] is None  # no threshold
    assert fused["genuine_score"]["median"] > one["genuine_score"]["median"]  # fusing helps
    # Other people fill the list to its size, the tracks included.
    at = evaluate_tracks(tracks, [(1, 1)], {}, distractors=distractors, list_size=30)
    assert at["items"][0]["list_size"] == 30
    # Scores, counts and ids only: nothing that could rebuild a face or a template.
    flat = json.dumps(out)
    assert "vectors" not in flat and len(flat) < 5000

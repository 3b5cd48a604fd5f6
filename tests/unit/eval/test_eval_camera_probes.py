"""Camera-like probes: seeded degradations, and the M-shots-of-one-pass protocol's scoring."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.eval import camera_probes as cp
from openlfr.eval.camera_like import (
    Passes,
    attach,
    evaluate_camera_like,
    mated_sources,
    nonmated_sources,
    score_camera,
)
from openlfr.eval.camera_probes import CameraPass, Degradation, degrade, draw_pass, pass_rng
from openlfr.eval.configurations import plan_configurations
from openlfr.vision.contract import l2_normalise

from ._synth import synthetic


def _image() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (250, 250, 3), dtype=np.uint8)


def test_draws_are_seeded_by_photo_and_stay_in_range() -> None:
    a = draw_pass(pass_rng(0, "x.jpg"), 3)
    assert a == draw_pass(pass_rng(0, "x.jpg"), 3)  # same photo, same shots, every run
    assert a != draw_pass(pass_rng(0, "y.jpg"), 3)
    assert a != draw_pass(pass_rng(1, "x.jpg"), 3)
    many = [d for k in range(200) for d in draw_pass(pass_rng(0, f"{k}"), 3)]
    assert all(cp.FACE_PX[0] <= d.face_px <= cp.FACE_PX[1] for d in many)
    assert all(cp.JPEG_QUALITY[0] <= d.jpeg_quality <= cp.JPEG_QUALITY[1] for d in many)
    assert all(cp.MOTION_PX[0] <= d.motion_px <= cp.MOTION_PX[1] for d in many)
    # One pass, one camera and one light; the frames differ.
    assert len({(d.gain, d.gamma, d.jpeg_quality, d.defocus_sigma) for d in a}) == 1
    assert len({d.noise_seed for d in a}) == 3
    with pytest.raises(ValueError):
        draw_pass(pass_rng(0, "x"), 0)


def test_degrade_scales_the_face_and_is_deterministic() -> None:
    img = _image()
    d = Degradation(60.0, 0.8, 5, 30.0, 0.8, 1.2, 5.0, 50, 7)
    out = degrade(img, 120.0, d)
    assert out.dtype == np.uint8 and out.shape == (125, 125, 3)  # 250 * 60/120
    assert np.array_equal(out, degrade(img, 120.0, d))
    # Blur and compression remove fine detail: less high-frequency energy than a plain resize.
    plain = degrade(img, 120.0, Degradation(60.0, 0.0, 1, 0.0, 1.0, 1.0, 0.0, 100, 0))
    assert (
        np.abs(np.diff(out.astype(float), axis=1)).mean()
        < np.abs(np.diff(plain.astype(float), axis=1)).mean()
    )
    with pytest.raises(ValueError):
        degrade(img, 0.0, d)


def _pass(key: str, vecs: np.ndarray, usable: list[bool]) -> CameraPass:
    shots = tuple(draw_pass(pass_rng(0, key), len(usable)))
    return CameraPass(key, vecs.astype(np.float32), np.array(usable), shots)


def test_fused_uses_only_shots_that_gave_a_face() -> None:
    v = l2_normalise(np.eye(3, 4, dtype=np.float32))
    p = _pass("a", v, [False, True, True])
    assert p.fused(1) is None  # the first shot lost the face: a one-shot probe has nothing
    f = p.fused(3)
    assert f is not None
    assert np.allclose(f, l2_normalise((v[1] + v[2])[None])[0])


def _plan_and_passes(noise: float) -> tuple[object, np.ndarray, Passes]:
    ds, vec, ok = synthetic([6] * 40 + [2] * 80 + [1] * 200, noise=0.3, seed=3)
    plan = plan_configurations(ds, ok, [1, 2], [1, 3], seed=0)
    rng = np.random.default_rng(5)

    def shots_of(row: int) -> np.ndarray:
        s = vec[row] + noise * rng.standard_normal((3, vec.shape[1])) / np.sqrt(vec.shape[1])
        return l2_normalise(s.astype(np.float32))

    mated = {i: _pass(i, shots_of(r), [True, True, True]) for i, r in mated_sources(plan)}
    listed = set(plan.watchlist(1, 100) or ())
    non = {
        i: (_pass(i, shots_of(r), [True, True, True]), vec[r])
        for i, r in nonmated_sources(plan, listed, 50)
    }
    return plan, vec, Passes(mated, non, 3)


def test_camera_scores_one_search_per_listed_person_on_the_same_list() -> None:
    plan, vec, passes = _plan_and_passes(0.2)
    cs = score_camera(plan, vec, passes, 2, 3, 100, "mean")
    assert cs is not None
    assert cs.scores.n_mated == len(plan.mated_capable) == cs.mated_people
    # Strangers on this list are not strangers: left out of its non-mated passes.
    assert 0 < cs.nonmated_people == cs.scores.n_nonmated < 50
    one = score_camera(plan, vec, passes, 1, 3, 100, "mean")
    assert one is not None and one.nonmated_people == 50
    assert cs.scores.mated_rank1.mean() > 0.9  # mild degradation of a clean synthetic set
    assert score_camera(plan, vec, passes, 2, 3, 10_000, "mean") is None  # list cannot fill


def test_a_pass_without_a_face_is_a_miss_at_every_threshold() -> None:
    plan, vec, passes = _plan_and_passes(0.2)
    first = plan.mated_capable[0]
    lost = _pass(first, passes.mated[first].vectors, [False, False, False])
    p2 = Passes({**passes.mated, first: lost}, passes.nonmated, 3)
    cs = score_camera(plan, vec, p2, 1, 3, 100, "mean")
    assert cs is not None
    j = list(p2.mated).index(first)
    assert not cs.scores.mated_rank1[j] and cs.scores.hit_counts([-1.0])[0] == cs.scores.n_mated - 1


def test_section_reports_at_by_configuration_thresholds_and_feeds_the_approval() -> None:
    plan, vec, mild = _plan_and_passes(0.2)
    _, _, harsh = _plan_and_passes(1.5)
    ref = [
        {"enrol_photos": 2, "probe_shots": 3, "watchlist_size": 100, "threshold": 0.6, "tpir": 0.9}
    ]
    grid = (0.3, 0.6, 0.9)
    sec = {
        name: evaluate_camera_like(plan, vec, p, [(2, 3, 100), (1, 1, 100)], "mean", ref, grid=grid)
        for name, p in (("mild", mild), ("harsh", harsh))
    }
    it = sec["mild"]["items"][0]
    assert it["threshold"] == 0.6 and it["different_photos_tpir"] == 0.9
    assert it["tpir_ci"][0] <= it["tpir"] <= it["tpir_ci"][1]
    bands = it["by_face_width"]
    assert [b["face_width_px"] for b in bands] == [[40, 60], [60, 90]]
    assert sum(b["searches"] for b in bands) == it["mated_searches"]
    assert sec["harsh"]["items"][0]["tpir"] < it["tpir"]  # harsher shots, fewer found
    assert sec["mild"]["items"][1]["threshold"] is None  # no by_configuration item: no figure
    assert len(sec["mild"]["tpir_curve"]) == 2 * len(grid)
    from openlfr.eval.camera_like import summary_lines

    lines = summary_lines(sec["mild"])
    assert len(lines) == 2 and "K=2 x M=3, list 100, T=0.600" in lines[1]
    assert "(M different photos: 90.0%)" in lines[1]
    rep: dict[str, object] = {"approval": {"tpir_curve": []}}
    attach(rep, sec["mild"])
    assert "tpir_curve" not in rep["camera_like"]  # type: ignore[operator]
    assert rep["approval"]["camera_tpir_curve"] == sec["mild"]["tpir_curve"]  # type: ignore[index]
    partial: dict[str, object] = {}
    attach(partial, sec["mild"])
    assert "approval" not in partial

"""The open-set protocol, block search and calibration, on synthetic embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.eval.identification import (
    calibrate,
    calibrate_threshold,
    evaluate_size,
    min_searches_for,
    per_person_max,
    plan_gallery,
    score_size,
    threshold_for_fpir,
    top1_search,
    tpir_at_fpir,
)
from openlfr.eval.stats import upper_bound

from ._synth import synthetic


def test_block_search_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    g = rng.standard_normal((37, 8)).astype(np.float32)
    p = rng.standard_normal((101, 8)).astype(np.float32)
    best, arg = top1_search(g, p, block=16)
    s = p @ g.T
    assert np.array_equal(arg, s.argmax(1))
    assert np.allclose(best, s.max(1))


def test_protocol_counts_and_nesting() -> None:
    sizes = [3] * 40 + [1] * 60  # 40 identities with mates, 60 usable only as non-mated
    ds, vec, ok = synthetic(sizes)
    gal = plan_gallery(ds, ok, seed=3)
    assert set(gal.order[:40]) == {f"id{i:04d}" for i in range(40)}  # mated-capable first
    s10 = score_size(10, gal, vec)
    assert s10.n_mated == 20  # 10 identities x 2 other images
    assert s10.n_nonmated == 30 + 60  # FPIR per person: 30 three-image people count once each
    s50 = score_size(50, gal, vec)
    assert s50.n_mated == 80 and s50.n_nonmated == 50
    assert np.all(s10.mated_rank1) and float(s10.mated_score.min()) > 0.5


def test_extra_nonmated_and_errors() -> None:
    ds, vec, ok = synthetic([2] * 5)
    gal = plan_gallery(ds, ok, seed=0)
    extra = vec[:0]
    with pytest.raises(DatasetError, match="no non-mated"):
        score_size(5, gal, vec, extra)
    with pytest.raises(DatasetError, match="larger than"):
        score_size(6, gal, vec)
    _, xv, _ = synthetic([1] * 7, seed=9)
    sc = score_size(5, gal, vec, xv)
    assert sc.n_nonmated == 7
    single, sv, sok = synthetic([1] * 5)
    with pytest.raises(DatasetError, match="two usable images"):
        plan_gallery(single, sok, seed=0)
    # Unusable images are not searched: identity 0 keeps one usable image, so it is non-mated only.
    ok2 = ok.copy()
    ok2[0] = False
    gal2 = plan_gallery(ds, ok2, seed=0)
    assert gal2.order[-1] == "id0000"


def test_threshold_for_fpir_meets_target() -> None:
    top = np.linspace(0, 1, 1000, dtype=np.float32)
    t = threshold_for_fpir(top, 0.01)
    assert np.mean(top >= t) <= 0.01
    assert np.mean(top >= np.nextafter(np.float32(t), np.float32(-1))) > 0.01 or t <= top.min()


def test_calibrated_threshold_is_lowest_certified() -> None:
    rng = np.random.default_rng(1)
    top = rng.uniform(0, 0.6, 20_000).astype(np.float32)
    t = calibrate_threshold(top, 1e-3)
    assert t is not None
    k = int(np.sum(top >= t))
    assert upper_bound(k, top.size) <= 1e-3
    # One step lower admits at least one more alert and breaks the bound.
    lower = t - 1e-4
    assert upper_bound(int(np.sum(top >= lower)), top.size) > 1e-3 or np.sum(top >= lower) == k
    assert calibrate_threshold(top[:100], 1e-3) is None
    assert min_searches_for(1e-3) == 3688


def test_evaluation_of_a_size_and_heldout_check() -> None:
    ds, vec, ok = synthetic([2] * 150 + [1] * 3000, noise=0.6)
    gal = plan_gallery(ds, ok, seed=0)
    sc = score_size(100, gal, vec)
    res = evaluate_size(sc, thresholds=[0.3, 0.5], policy_fpir=1e-2, boot=20)
    assert [t for t, _, _ in res.fpir_table] == [0.3, 0.5]
    (_, f3, n3), (_, f5, n5) = res.fpir_table
    assert f3.k >= f5.k and n3.k <= n5.k  # stricter threshold: fewer alerts, more misses
    cal = calibrate(sc, 1e-2)
    assert cal.threshold is not None and cal.calib is not None and cal.heldout is not None
    assert cal.calib.upper <= 1e-2
    # Certified over every non-mated search; each half of the people checks the other.
    assert cal.calib.n == sc.n_nonmated
    a, b = cal.splits
    assert a.fit is not None and a.heldout is not None and b.fit is not None
    assert a.fit.n + a.heldout.n == sc.n_nonmated and a.fit.n == b.heldout.n
    assert a.threshold is not None and a.fit.upper <= 1e-2
    tp = tpir_at_fpir(sc, 1e-1, boot=20)
    assert tp.fpir.value <= 0.1 and tp.tpir_boot_lower <= tp.tpir.value + 1e-9
    assert res.to_dict()["calibration"]["heldout_within_interval"] in (True, False)


def test_pooled_calibration_is_a_tolerance_limit_and_one_outlier_does_not_set_it() -> None:
    # 9,000 non-mated top scores from N(0.3, 0.1), plus one label error at 0.99. Half of them
    # (4,500) allows no alert at 1e-3, so a split-half rule would sit above 0.99; all of them
    # allow three, so the outlier is absorbed and the threshold stays in the bulk's tail.
    rng = np.random.default_rng(1)
    top = np.concatenate([rng.normal(0.3, 0.1, 9000), [0.99]]).astype(np.float32)
    half = calibrate_threshold(top[::2], 1e-3)
    pooled = calibrate_threshold(top, 1e-3)
    assert pooled is not None and pooled < 0.9
    assert half is None or half > pooled
    k = int(np.sum(top >= pooled))
    assert upper_bound(k, top.size) <= 1e-3 and upper_bound(k + 1, top.size) > 1e-3


def test_fpir_is_counted_per_person_with_their_highest_search() -> None:
    top = np.array([0.2, 0.9, 0.1, 0.5, 0.4, 0.3], np.float32)
    person = np.array([0, 0, 1, 2, 2, 2], np.int64)
    keep = per_person_max(top, person)
    assert keep.tolist() == [1, 2, 3]
    assert top[keep].tolist() == pytest.approx([0.9, 0.1, 0.5])

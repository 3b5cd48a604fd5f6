"""The per-(K, M) protocol on synthetic templates: plans, template rules, fused probes, Z-norm,
person bootstrap, rule choice and the whole run with its fair floors."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from openlfr.errors import DatasetError
from openlfr.eval.config_runner import run_configurations
from openlfr.eval.configurations import (
    ZNorm,
    choose_rule,
    entry_scores,
    entry_templates,
    evaluate_configuration,
    fuse_rows,
    mate_scores,
    person_bootstrap_tpir,
    plan_configurations,
    score_configuration,
    search,
)
from openlfr.eval.dataset import Labels
from openlfr.eval.identification import THRESHOLD_GRID
from openlfr.vision.contract import l2_normalise

from ._synth import synthetic

SIZES = [8] * 30 + [3] * 40 + [2] * 50 + [1] * 300


def test_plan_nests_enrolment_and_heads_lists_with_mated_capable_people() -> None:
    ds, vec, ok = synthetic(SIZES)
    plan = plan_configurations(ds, ok, [1, 2], [1, 3], seed=4)
    assert set(plan.mated_capable) == {f"id{i:04d}" for i in range(30)}  # >= 2 + 3 images
    w1, w2 = plan.watchlist(1, 100), plan.watchlist(2, 100)
    assert w1 is not None and w2 is not None
    assert w1[:30] == w2[:30] == plan.mated_capable  # the same listed people for every K
    # Fill: fewest images first, so people with several images stay off the list.
    assert all(len(plan.order[i]) == 1 for i in w1[30:])
    assert all(len(plan.order[i]) == 2 for i in w2[30:80])
    assert plan.watchlist(2, 121) is None  # only 120 people have two images
    with pytest.raises(DatasetError, match="usable images"):
        plan_configurations(ds, ok, [4], [5])


def test_template_rules_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    gal = l2_normalise(rng.standard_normal((6, 3, 16)).astype(np.float32))
    probes = l2_normalise(rng.standard_normal((9, 16)).astype(np.float32))
    mean = l2_normalise(gal.mean(axis=1))
    per = np.einsum("pd,nkd->pnk", probes, gal)
    assert np.allclose(entry_scores(probes, gal, "mean"), probes @ mean.T, atol=1e-6)
    assert np.allclose(entry_scores(probes, gal, "max"), per.max(axis=2), atol=1e-6)
    both = np.maximum(per.max(axis=2), probes @ mean.T)
    assert np.allclose(entry_scores(probes, gal, "both"), both, atol=1e-6)
    mate = np.array([0, 1, 2, 3, 4, 5, 0, 1, 2])
    for rule in ("mean", "max", "both"):
        full = entry_scores(probes, gal, rule)
        ms = mate_scores(probes, gal, mate, rule)
        assert np.allclose(ms, full[np.arange(9), mate], atol=1e-6)
        top, arg = search(probes, gal, rule, block=4)
        assert np.array_equal(arg, full.argmax(1)) and np.allclose(top, full.max(1))
    fused = fuse_rows(probes, [(0, 1), (2,)])
    assert np.allclose(np.linalg.norm(fused, axis=1), 1.0, atol=1e-6)
    assert np.allclose(fused[1], probes[2])


def test_znorm_is_per_entry_standardisation() -> None:
    rng = np.random.default_rng(1)
    gal = entry_templates(l2_normalise(rng.standard_normal((5, 8)).astype(np.float32)), [[0], [1]])
    cohort = l2_normalise(rng.standard_normal((50, 8)).astype(np.float32))
    z = ZNorm.fit(cohort, gal, "mean")
    s = z.apply(entry_scores(cohort, gal, "mean"))
    assert np.allclose(s.mean(axis=0), 0, atol=1e-5) and np.allclose(s.std(axis=0), 1, atol=1e-4)
    with pytest.raises(DatasetError, match="cohort"):
        ZNorm.fit(cohort[:1], gal, "mean")


def test_configuration_searches_never_use_listed_people_as_non_mated() -> None:
    ds, vec, ok = synthetic(SIZES)
    _, extra, _ = synthetic([1] * 25, seed=7)
    plan = plan_configurations(ds, ok, [1, 2], [1, 3], seed=0, cap=5)
    cs1 = score_configuration(plan, vec, 2, 1, 100, "mean", extra_nonmated=extra)
    cs3 = score_configuration(plan, vec, 2, 3, 100, "mean", extra_nonmated=extra)
    assert cs1 is not None and cs3 is not None
    # 30 listed mated-capable people with 8 - 2 = 6 probe images: 5 single shots (cap), 2 triples.
    assert cs1.scores.n_mated == 30 * 5 and cs3.scores.n_mated == 30 * 2
    # The list at K=2, N=100: the 30, all 50 two-image people, 20 of the 40 three-image people.
    # Off it: the other 20 three-image people, the 300 singles and the 25 extra images; FPIR is
    # counted per person (their highest search), so the 20 count once each.
    assert cs1.scores.n_nonmated == 20 + 300 + 25 == cs1.nonmated_people
    assert len(set(cs1.nonmated_who)) == cs1.scores.n_nonmated
    # M=3 non-mated: only the 20 off-list people with 3 images, one triple each; no extras.
    assert cs3.scores.n_nonmated == 20 and cs3.nonmated_people == 20
    assert cs3.mated_people == 30 and cs3.scores.mated_rank1.mean() > 0.9
    assert score_configuration(plan, vec, 2, 1, 500, "mean") is None
    lo, hi = person_bootstrap_tpir(cs1, 0.3, boot=100)
    assert 0 <= lo <= hi <= 1


def test_rule_choice_and_run_with_fair_floors() -> None:
    ds, vec, ok = synthetic(SIZES * 3, noise=0.9, seed=2)
    _, extra, _ = synthetic([1] * 1200, seed=5, noise=0.9)
    lab = Labels(
        {
            r.path.name: {"gender": "female" if int(r.identity[2:]) % 3 == 0 else "male"}
            for r in ds.records
        },
        "synthetic",
    )
    part = run_configurations(
        ds,
        vec,
        ok,
        [1, 2],
        [1, 3],
        [50, 200],
        extra=extra,
        labels=lab,
        single_floors={"utk": 0.3},
        policy_fpir=1e-2,
        policy_size=200,
    )
    d = part.to_dict()
    assert d["template_rule"] in ("mean", "max", "both")
    assert set(d["template_rule_choice"]["candidates"]["K=2,M=1"]) == {"mean", "max", "both"}
    keys = {
        (c["enrol_photos"], c["probe_shots"], c["watchlist_size"]) for c in d["by_configuration"]
    }
    assert keys == {(k, m, n) for k in (1, 2) for m in (1, 3) for n in (50, 200)}
    for c in d["by_configuration"]:
        assert c["threshold"] is None or c["threshold"] >= 0.3  # single-image floor carries
        if c["threshold"] is not None:
            assert c["fpir"] <= c["fpir_upper"] and 0 <= c["tpir"] <= 1
            assert c["tpir_ci"][0] <= c["tpir"] <= c["tpir_ci"][1]
        if c["probe_shots"] == 3:
            assert c["nonmated_searches"] < 3000 and "cannot be certified" in c["fpir_policy_note"]
    assert {(x.configuration, x.attributes) for x in part.demographics} == {
        ((k, m), ("gender",)) for k in (1, 2) for m in (1, 3)
    }
    assert "adopted" in d["znorm"] and len(d["znorm"]["by_configuration"]) == 4
    pts = [p for p in part.tpir_curve if p["enrol_photos"] == 2 and p["probe_shots"] == 3]
    tp = [p["tpir"] for p in sorted(pts, key=lambda p: p["threshold"]) if p["watchlist_size"] == 50]
    assert all(a >= b for a, b in pairwise(tp))  # TPIR falls with threshold


def test_choose_rule_prefers_measured_tpir() -> None:
    ds, vec, ok = synthetic(SIZES, noise=0.9)
    _, extra, _ = synthetic([1] * 400, seed=3, noise=0.9)
    plan = plan_configurations(ds, ok, [2], [1])
    cands = {}
    for rule in ("mean", "max", "both"):
        cs = score_configuration(plan, vec, 2, 1, 100, rule, extra_nonmated=extra)
        assert cs is not None
        cands[rule] = evaluate_configuration(
            cs, thresholds=THRESHOLD_GRID, policy_fpir=1e-2, boot=20
        )
    best, table = choose_rule(cands, 1e-2)
    assert table[best]["tpir"] == max(v["tpir"] for v in table.values() if v["tpir"] is not None)

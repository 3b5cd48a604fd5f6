"""Effect sizes: rate ratios to the pooled rate, and the fair floor they alone bind."""

from __future__ import annotations

import math

import numpy as np
import pytest

from openlfr.eval.demographics import GroupScores, evaluate_groups
from openlfr.eval.fairness import (
    FloorDecision,
    exceeds,
    group_evidence,
    ratio_to_pooled,
    ratios,
    scan_floor,
)
from openlfr.eval.stats import rate


def test_ratio_to_pooled_interval_brackets_the_point_and_is_bounded() -> None:
    a, b = rate(40, 1000), rate(10, 1000)
    pooled = rate(50, 2000)
    r = ratio_to_pooled(a, pooled)
    assert r.value == pytest.approx(0.04 / 0.025)
    assert r.lower < r.value < r.upper <= 2000 / 1000  # at most 1 / (group's share)
    same = ratio_to_pooled(rate(10, 1000), rate(20, 2000))
    assert same.value == pytest.approx(1.0) and same.lower < 1 < same.upper
    zero = ratio_to_pooled(rate(0, 500), rate(0, 1000))
    assert math.isnan(zero.value) and zero.lower == 0 and zero.upper == pytest.approx(2.0)
    # No event in a small group: never evidence of an excess, however large the pool.
    assert ratio_to_pooled(rate(0, 10), rate(5, 100_000)).lower == 0
    # The only event, in a group of 10% of the trials: not 95% evidence of anything.
    one = ratio_to_pooled(rate(1, 10_000), rate(1, 100_000))
    assert one.value == pytest.approx(10.0) and one.lower < 2 and one.upper == pytest.approx(10)
    assert ratios({"a": a, "b": b})["b"].value == pytest.approx(0.4)


def test_exceeds_needs_confidence_not_just_a_point_estimate() -> None:
    # 3x pooled, but from 6 events: not demonstrably above 2x.
    assert exceeds({"a": rate(6, 1000), "b": rate(1, 1000), "c": rate(1, 1000)}, 2.0) == ()
    big = {"a": rate(300, 10_000), "b": rate(30, 10_000), "c": rate(30, 10_000)}
    assert exceeds(big, 2.0) == ("a",)
    assert exceeds(big, 5.0) == ()


def test_floor_scans_down_and_binds_by_effect_size_only() -> None:
    rows = [
        (0.7, False, False),
        (0.6, False, False),
        (0.5, True, False),  # significant only: reported, never binding
        (0.4, True, True),
        (0.3, False, False),  # passes again lower down: must not count
    ]
    d = scan_floor(rows, 2.0)
    assert d.significance_floor == 0.6 and d.effect_floor == 0.5 and d.floor == 0.5
    assert d.bound_by.startswith("effect size")
    assert d.to_dict()["criterion"] == "effect_size"
    assert d.to_dict()["significance_binding"] is False
    d2 = scan_floor([(0.7, False, False), (0.6, False, True), (0.5, True, True)], 2.0)
    assert d2.floor == 0.7 and d2.bound_by.startswith("effect size")
    d3 = scan_floor([(0.7, False, True)], 2.0)
    assert d3.floor is None and d3.to_dict()["floor_threshold"] is None


def _shifted_exponential_groups(n: int, seed: int) -> list[GroupScores]:
    """Three groups' impostor scores with exponential tails; group B's is shifted so that its
    FMR is exactly 1.5x group A's at every threshold above the shift (1.2x pooled): a real
    difference, but below the 2x policy factor everywhere."""
    rng = np.random.default_rng(seed)
    lam = 12.0
    shift = math.log(1.5) / lam
    out = []
    for g, d in (("A", 0.0), ("B", shift), ("C", 0.0)):
        imp = np.sort(0.05 + d + rng.exponential(1 / lam, n)).astype(np.float32)
        gen = np.sort(rng.uniform(0.5, 1.0, 100)).astype(np.float32)
        out.append(GroupScores(g, n, n, imp, gen))
    return out


def test_more_data_of_the_same_distributions_does_not_raise_the_floor() -> None:
    """The floor must not rise as evidence grows: four times the data from the same
    distributions leaves it where it was (a significance test's floor rises)."""
    grid = tuple(round(0.30 + 0.01 * i, 2) for i in range(71))

    def decide(n: int) -> FloorDecision:
        res = evaluate_groups(
            _shifted_exponential_groups(n, seed=1),
            {},
            dataset="synthetic",
            attributes=("g",),
            filters={},
            default_threshold=0.5,
            thresholds=grid,
        )
        assert res.decision is not None
        return res.decision

    small, large = decide(20_000), decide(80_000)
    assert small.floor is not None and large.floor is not None
    assert large.floor <= small.floor
    # The significance test sees the 1.2x difference at more thresholds with more data: its
    # "floor" rises, which is why it does not bind.
    assert large.significance_floor is not None and small.significance_floor is not None
    assert large.significance_floor > small.significance_floor
    assert large.significance_floor > large.floor


def test_group_evidence_flags_thin_groups_and_states_the_upper_end() -> None:
    fmr = {"a": rate(0, 2_000), "b": rate(40, 100_000), "c": rate(38, 100_000)}
    ev = group_evidence(fmr, 2.0)
    assert ev["a"].thin and not ev["a"].shown_above  # no events: cannot exclude 2x, not failed
    assert ev["a"].fmr_ratio.upper > 2.0
    assert not ev["b"].thin and not ev["b"].shown_above
    d = ev["a"].to_dict()
    assert d["fmr_ratio_upper"] == ev["a"].fmr_ratio.upper and d["thin"] is True

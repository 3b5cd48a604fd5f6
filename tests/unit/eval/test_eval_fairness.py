"""Effect sizes: rate ratios to the pooled rate, and the two-criterion fair floor."""

from __future__ import annotations

import math

import pytest

from openlfr.eval.fairness import exceeds, ratio_to_pooled, ratios, scan_floor
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


def test_floor_scans_down_and_names_the_binding_criterion() -> None:
    rows = [
        (0.7, False, False),
        (0.6, False, False),
        (0.5, True, False),  # significant only
        (0.4, True, True),
        (0.3, False, False),  # passes again lower down: must not count
    ]
    d = scan_floor(rows, 2.0)
    assert d.significance_floor == 0.6 and d.effect_floor == 0.5 and d.floor == 0.6
    assert d.bound_by.startswith("significance")
    d2 = scan_floor([(0.7, False, False), (0.6, False, True), (0.5, True, True)], 2.0)
    assert d2.floor == 0.7 and d2.bound_by.startswith("effect size")
    d3 = scan_floor([(0.7, True, False)], 2.0)
    assert d3.floor is None and d3.to_dict()["floor_threshold"] is None

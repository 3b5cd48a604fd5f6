"""Exact intervals, ratios and the group test used by every OpenLFR evaluation table."""

from __future__ import annotations

import math

import pytest

from openlfr.eval.stats import group_test, holm, rate, rate_ratio, upper_bound, upper_bounds


def test_clopper_pearson_known_values() -> None:
    r = rate(0, 100)
    assert r.lower == 0.0
    # Exact two-sided 95% upper bound with no events: 1 - 0.025 ** (1 / n).
    assert r.upper == pytest.approx(1 - 0.025 ** (1 / 100), rel=1e-6)
    r = rate(5, 10)
    assert r.value == 0.5
    assert r.lower == pytest.approx(0.1871, abs=1e-4)
    assert r.upper == pytest.approx(0.8129, abs=1e-4)


def test_empty_rate_is_uninformative() -> None:
    r = rate(0, 0)
    assert math.isnan(r.value) and (r.lower, r.upper) == (0.0, 1.0)


def test_upper_bound_matches_interval() -> None:
    for k, n in [(0, 50), (3, 1000), (10, 10), (7, 20)]:
        assert upper_bound(k, n) == pytest.approx(rate(k, n).upper, abs=1e-9)
    assert list(upper_bounds([0, 3], 1000)) == pytest.approx(
        [rate(0, 1000).upper, rate(3, 1000).upper]
    )


def test_ratio_interval_contains_estimate_and_corrects_zero() -> None:
    r = rate_ratio(rate(40, 1000), rate(10, 1000))
    assert r.value == pytest.approx(4.0)
    assert r.lower < 4.0 < r.upper and not r.corrected
    z = rate_ratio(rate(5, 1000), rate(0, 1000))
    assert z.corrected and math.isfinite(z.upper) and z.value > 1


def test_holm_is_step_down_and_monotone() -> None:
    adj = holm([0.01, 0.04, 0.03, 0.5])
    assert adj == pytest.approx([0.04, 0.09, 0.09, 0.5])


def test_group_test_flags_the_outlier_only() -> None:
    counts = {"a": (10, 10_000), "b": (12, 10_000), "c": (9, 10_000), "d": (60, 10_000)}
    t = group_test(counts)
    # One-vs-rest: the outlier inflates the others' pooled rate, so they can differ too; the
    # direction says on whom the errors fall.
    assert "d" in t.significant and t.significantly_higher == ("d",)
    same = group_test({"a": (10, 10_000), "b": (12, 10_000)})
    assert not same.any_significant
    none = group_test({"a": (0, 100), "b": (0, 100)})
    assert none.p_holm == (1.0, 1.0)


def test_closed_form_equals_scipy_exact_interval() -> None:
    from scipy.stats import binomtest

    for k, n in [(0, 7), (1, 7), (7, 7), (13, 4000), (250, 1000)]:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        r = rate(k, n)
        assert (r.lower, r.upper) == pytest.approx((ci.low, ci.high), abs=1e-9)

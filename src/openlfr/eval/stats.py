"""Error rates with honest uncertainty: exact binomial intervals, rate ratios, group tests.

Every rate OpenLFR reports comes with an interval, because the decisions built on them
(a threshold floor, an expected number of false alerts) must hold for the population, not just
for the sample that happened to be measured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from openlfr.dicts import pick

CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Rate:
    """k events in n trials, with an exact (Clopper-Pearson) two-sided interval."""

    k: int
    n: int
    lower: float
    upper: float

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else math.nan

    def to_dict(self) -> dict[str, float | int]:
        return {**pick(self, "k", "n"), "rate": self.value, **pick(self, "lower", "upper")}


def rate(k: int, n: int, confidence: float = CONFIDENCE) -> Rate:
    """Clopper-Pearson interval (exact, conservative); n == 0 gives [0, 1].

    Written as its closed form in beta quantiles: the same interval as scipy's
    `binomtest(...).proportion_ci(method="exact")`, without a root search per call (reports
    compute thousands of them).
    """
    k, n = int(k), int(n)
    if n <= 0:
        return Rate(0, 0, 0.0, 1.0)
    a = (1 - confidence) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return Rate(k, n, lo, hi)


def upper_bound(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """Upper end of the two-sided exact interval (what calibration must stay under)."""
    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    return float(stats.beta.ppf(1 - (1 - confidence) / 2, k + 1, n - k))


def upper_bounds(
    k: npt.NDArray[np.int64], n: int, confidence: float = CONFIDENCE
) -> npt.NDArray[np.float64]:
    """Vectorised `upper_bound` for many counts over the same n."""
    k = np.asarray(k)
    out = stats.beta.ppf(1 - (1 - confidence) / 2, k + 1, np.maximum(n - k, 1))
    return np.where(k >= n, 1.0, out).astype(np.float64)


@dataclass(frozen=True, slots=True)
class Ratio:
    """Ratio of two rates with a confidence interval (Katz log method, via scipy)."""

    value: float
    lower: float
    upper: float
    corrected: bool  # a zero count was replaced by 0.5 so that a finite interval exists

    def to_dict(self) -> dict[str, float | bool]:
        return {"ratio": self.value, **pick(self, "lower", "upper", "corrected")}


def rate_ratio(a: Rate, b: Rate, confidence: float = CONFIDENCE) -> Ratio:
    """a / b. With a zero count, both counts get +0.5 (Haldane) and `corrected` says so."""
    if a.n == 0 or b.n == 0:
        return Ratio(math.nan, math.nan, math.nan, False)
    ka, kb, na, nb = float(a.k), float(b.k), float(a.n), float(b.n)
    corrected = a.k == 0 or b.k == 0
    if corrected:
        ka, kb, na, nb = ka + 0.5, kb + 0.5, na + 1.0, nb + 1.0
    value = (ka / na) / (kb / nb)
    se = math.sqrt(1 / ka - 1 / na + 1 / kb - 1 / nb)
    z = float(stats.norm.ppf(1 - (1 - confidence) / 2))
    return Ratio(value, value * math.exp(-z * se), value * math.exp(z * se), corrected)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down; controls the family-wise error rate)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True, slots=True)
class GroupTest:
    """Each group against all other groups pooled: Fisher's exact test, Holm-corrected."""

    groups: tuple[str, ...]
    p_raw: tuple[float, ...]
    p_holm: tuple[float, ...]
    alpha: float
    above_rest: tuple[bool, ...] = ()  # the group's rate is higher than the rest's

    @property
    def significantly_higher(self) -> tuple[str, ...]:
        """Groups whose rate is significantly above the others' (the ones errors fall on)."""
        return tuple(
            g
            for g, p, up in zip(self.groups, self.p_holm, self.above_rest, strict=True)
            if p < self.alpha and up
        )

    @property
    def significant(self) -> tuple[str, ...]:
        return tuple(g for g, p in zip(self.groups, self.p_holm, strict=True) if p < self.alpha)

    @property
    def any_significant(self) -> bool:
        return bool(self.significant)


def group_test(counts: dict[str, tuple[int, int]], alpha: float = 0.05) -> GroupTest:
    """counts: group -> (events, trials). One 2x2 Fisher test per group (that group vs the rest)."""
    groups = tuple(g for g in counts if counts[g][1] > 0)
    tot_k = sum(counts[g][0] for g in groups)
    tot_n = sum(counts[g][1] for g in groups)
    raw: list[float] = []
    above: list[bool] = []
    for g in groups:
        k, n = counts[g]
        rk, rn = tot_k - k, tot_n - n
        above.append(rn > 0 and k / n > rk / rn)
        if tot_k == 0 or tot_k == tot_n or rn == 0:
            raw.append(1.0)
            continue
        res = stats.fisher_exact([[k, n - k], [rk, rn - rk]])
        raw.append(float(res.pvalue))
    return GroupTest(groups, tuple(raw), tuple(holm(raw)), alpha, tuple(above))

"""Fairness criterion with an effect size: each group's rate as a ratio to the pooled rate.

The significance test (Fisher, Holm) answers "is there a difference?"; with thousands of pairs a
small one is significant, with a few hundred a large one may not be. So each group's FMR and FNMR
is also reported as a ratio to the pooled rate with a 95% interval, and a threshold fails the
effect-size criterion when some group's FMR is, with 95% confidence, more than `factor` times the
pooled FMR (the lower end of its ratio interval is above the factor). That criterion alone sets
the floor; the significance test is reported beside it and never binds, because it asks whether
there is *any* difference, so with more evaluation data the floor it set would rise.

Why the lower end and not "certified at most `factor`" (upper end <= factor): at the thresholds
a deployment runs, false matches are rare, zero counts leave a ratio's upper bound unbounded,
and a criterion that no high threshold can pass cannot define a floor (a floor promises that
every threshold above it is acceptable). The report shows the upper ends too, so a reader sees
how large a disparity the data cannot rule out.

The ratio's interval: a group is part of the pool, so its rate and the pooled rate are not
independent; the interval is the exact conditional one (see `ratio_to_pooled`), which also
behaves at the zero and single-event counts of high thresholds, where a log-method interval
with a continuity correction would claim excesses that one event cannot show.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openlfr.eval.stats import Rate, Ratio, rate

DEFAULT_FACTOR = 2.0


def ratio_to_pooled(group: Rate, pooled: Rate) -> Ratio:
    """The group's rate over the pooled rate (the pool includes the group), with a 95% interval.

    Conditional on the pool's k events, the group's share of them is binomial with
    p = w R (w: the group's share of the trials, R: the rate ratio to pooled, rare events),
    so the exact Clopper-Pearson interval of k_group / k_pool, divided by w, is an interval for
    R. It needs no continuity correction, gives a lower bound of 0 to a group without events and
    [0, 1/w] when nobody has one, and never exceeds 1/w (a group cannot hold more than all).
    """
    if group.n == 0 or pooled.n == 0:
        return Ratio(math.nan, math.nan, math.nan, False)
    w = group.n / pooled.n
    share = rate(group.k, pooled.k)
    value = (group.k / pooled.k) / w if pooled.k else math.nan
    return Ratio(value, share.lower / w, share.upper / w, pooled.k == 0)


def pooled(rates: Mapping[str, Rate]) -> Rate:
    return rate(sum(r.k for r in rates.values()), sum(r.n for r in rates.values()))


def ratios(rates: Mapping[str, Rate]) -> dict[str, Ratio]:
    p = pooled(rates)
    return {g: ratio_to_pooled(r, p) for g, r in rates.items() if r.n}


def exceeds(rates: Mapping[str, Rate], factor: float) -> tuple[str, ...]:
    """Groups whose rate is more than `factor` x pooled with 95% confidence."""
    return tuple(
        g for g, x in ratios(rates).items() if not math.isnan(x.lower) and x.lower > factor
    )


@dataclass(frozen=True, slots=True)
class FloorDecision:
    """The fair floor and the evidence around it.

    The floor binds by effect size alone: it is the lowest threshold at which no group's FMR is
    shown (95% lower bound of its ratio to pooled) to exceed `factor` x pooled, there and at
    every higher threshold. The significance test (Fisher, Holm) is reported beside it and never
    binds: it asks whether there is *any* difference, so with more data it flags ever smaller
    ones and a floor it set would rise as the evidence grows.
    """

    significance_floor: float | None
    effect_floor: float | None
    factor: float

    @property
    def floor(self) -> float | None:
        return self.effect_floor

    @property
    def bound_by(self) -> str:
        if self.effect_floor is None:
            return f"effect size (some group above {self.factor:g}x pooled at every threshold)"
        return f"effect size (no group's FMR shown above {self.factor:g}x pooled)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "floor_threshold": self.floor,
            "criterion": "effect_size",
            "significance_floor": self.significance_floor,
            "significance_binding": False,
            "effect_size_floor": self.effect_floor,
            "effect_size_factor": self.factor,
            "bound_by": self.bound_by,
            "effect_size_rule": (
                f"fails where a group's FMR / pooled FMR has its 95% lower bound above "
                f"{self.factor:g}; groups whose upper bound is above it are reported as thin "
                "evidence, not failed"
            ),
            "significance_note": (
                "Fisher exact test against the rest, Holm-corrected: reported, not binding "
                "(with more data any small difference becomes significant)"
            ),
        }


def scan_floor(rows: Sequence[tuple[float, bool, bool]], factor: float) -> FloorDecision:
    """rows: (threshold, any significant difference, any group above factor). Each floor is the
    lowest threshold such that the criterion holds there and at every higher threshold."""
    sig: float | None = None
    eff: float | None = None
    sig_open = eff_open = True
    for t, significant, big in sorted(rows, key=lambda r: -r[0]):
        sig_open = sig_open and not significant
        eff_open = eff_open and not big
        if sig_open:
            sig = t
        if eff_open:
            eff = t
    return FloorDecision(sig, eff, factor)


@dataclass(frozen=True, slots=True)
class GroupEvidence:
    """One group's false-match and identification evidence at one threshold."""

    group: str
    fmr: Rate
    fmr_ratio: Ratio
    tpir: float | None = None
    tpir_ci: tuple[float, float] | None = None
    fnir_ratio: Ratio | None = None
    factor: float = DEFAULT_FACTOR

    @property
    def shown_above(self) -> bool:
        """The data show this group's FMR above factor x pooled (what fails a threshold)."""
        return not math.isnan(self.fmr_ratio.lower) and self.fmr_ratio.lower > self.factor

    @property
    def thin(self) -> bool:
        """The data cannot exclude a ratio above the factor (too few trials or events)."""
        return math.isnan(self.fmr_ratio.upper) or self.fmr_ratio.upper > self.factor

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.group,
            "fmr": self.fmr.value,
            "fmr_counts": [self.fmr.k, self.fmr.n],
            "fmr_ratio": self.fmr_ratio.value,
            "fmr_ratio_lower": self.fmr_ratio.lower,
            "fmr_ratio_upper": self.fmr_ratio.upper,
            "shown_above_factor": self.shown_above,
            "thin": self.thin,
            "tpir": self.tpir,
            "tpir_ci": list(self.tpir_ci) if self.tpir_ci else None,
        }
        if self.fnir_ratio is not None:
            out["fnir_ratio"] = self.fnir_ratio.value
            out["fnir_ratio_ci"] = [self.fnir_ratio.lower, self.fnir_ratio.upper]
            out["fnir_shown_above_factor"] = (
                not math.isnan(self.fnir_ratio.lower) and self.fnir_ratio.lower > self.factor
            )
        return out


def group_evidence(fmr: Mapping[str, Rate], factor: float) -> dict[str, GroupEvidence]:
    """Per group: FMR, its ratio to pooled with the interval, and the thin-evidence flag."""
    rs = ratios(fmr)
    return {g: GroupEvidence(g, fmr[g], rs[g], factor=factor) for g in rs}


def ratios_dict(rates: Mapping[str, Rate]) -> dict[str, Any]:
    return {g: r.to_dict() for g, r in ratios(rates).items()}

"""The choices an evaluation makes, made on the development people: template rule, Z-norm.

A choice fitted to the images its figures are then measured on flatters them, so
`run_configurations` hands these the development part of a person-disjoint split (`split.py`)
and measures every figure on the test part. The development part is smaller, so each choice
is measured at the largest watchlist it can fill (up to the policy size) and at the policy FPIR
where its non-mated people can resolve it, else at FPIR 1e-2; the record says which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from openlfr.eval.configurations import (
    RULES,
    ConfigPlan,
    Rule,
    choose_rule,
    evaluate_configuration,
    score_configuration,
    tpir_at_policy,
)
from openlfr.eval.dataset import Dataset
from openlfr.eval.identification import THRESHOLD_GRID, _stable_half
from openlfr.vision.contract import FloatArray


def _cohort_split(n: int, seed: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of the extra singles into a Z-norm cohort and the remaining searches."""
    pick = np.array([_stable_half(f"cohort{j}", seed + 7) for j in range(n)], bool)
    idx = np.flatnonzero(pick)[:size]
    mask = np.zeros(n, bool)
    mask[idx] = True
    return mask, ~mask


def _interval_overlap(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
    return not (a[1] > b[2] or b[1] > a[2])


def compare_znorm(
    plan: ConfigPlan,
    vectors: FloatArray,
    extra: FloatArray,
    configs: Sequence[tuple[int, int, int]],
    rule: Rule,
    *,
    policy_fpir: float,
    cohort_size: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """Raw vs Z-normalised TPIR at the policy FPIR on the same searches (cohort held out)."""
    if extra.shape[0] < 2 * cohort_size:
        return {"adopted": False, "why": "too few extra non-mated images for a held-out cohort"}
    cmask, rest = _cohort_split(extra.shape[0], seed, cohort_size)
    cohort = extra[cmask]
    rows = []
    wins = []
    for k, m, size in configs:
        out: dict[str, Any] = {"enrol_photos": k, "probe_shots": m, "watchlist_size": size}
        for name, coh in (("raw", None), ("znorm", cohort)):
            cs = score_configuration(
                plan, vectors, k, m, size, rule, extra_nonmated=extra[rest], cohort=coh, seed=seed
            )
            if cs is None:
                break
            # A smaller (development) set may not resolve the policy FPIR: then 1e-2.
            fp = policy_fpir if policy_fpir * cs.scores.n_nonmated >= 1 else 1e-2
            res = evaluate_configuration(
                cs, thresholds=THRESHOLD_GRID, policy_fpir=fp, boot=200, seed=seed
            )
            tp = tpir_at_policy(res, fp)
            out[name] = (
                None
                if tp is None
                else {
                    "tpir": tp[0],
                    "tpir_bootstrap_ci": [tp[1], tp[2]],
                    "searches": cs.scores.n_nonmated,
                    "fpir_level": fp,
                }
            )
        if out.get("raw") and out.get("znorm"):
            a = (out["raw"]["tpir"], *out["raw"]["tpir_bootstrap_ci"])
            b = (out["znorm"]["tpir"], *out["znorm"]["tpir_bootstrap_ci"])
            out["znorm_better_without_overlap"] = b[0] > a[0] and not _interval_overlap(a, b)
            wins.append(out["znorm_better_without_overlap"])
        rows.append(out)
    adopted = bool(wins) and all(wins)
    return {
        "cohort": f"{cohort.shape[0]} extra non-mated images (held out of the searches)",
        "rule": "adopt only if TPIR at the policy FPIR (1e-2 where the set cannot resolve it) "
        "rises with non-overlapping 95% intervals in every configuration where both are measurable",
        "by_configuration": rows,
        "adopted": adopted,
    }


@dataclass(frozen=True, slots=True)
class DevPart:
    """The development people's templates: what the choices are made on."""

    dataset: Dataset
    vectors: FloatArray
    ok: np.ndarray
    extra: FloatArray | None = None


@dataclass
class Chooser:
    """Makes the run's choices on one set of people (the development part when split)."""

    plan: ConfigPlan
    vectors: FloatArray
    extra: FloatArray
    policy_size: int
    policy_fpir: float
    seed: int
    people: str

    def _run(self, k: int, m: int, n: int, r: Rule, cohort: FloatArray | None = None) -> Any:
        cs = score_configuration(
            self.plan,
            self.vectors,
            k,
            m,
            n,
            r,
            extra_nonmated=self.extra,
            cohort=cohort,
            seed=self.seed,
        )
        if cs is None:
            return None
        fpir = self.policy_fpir if self.policy_fpir * cs.scores.n_nonmated >= 1 else 1e-2
        res = evaluate_configuration(
            cs, thresholds=THRESHOLD_GRID, policy_fpir=fpir, boot=200, seed=self.seed
        )
        return res, fpir

    def size_for(self, k: int) -> int | None:
        sizes = (self.policy_size, 500, 200, 100, 50)
        return next((n for n in sizes if n <= self.policy_size and self.plan.watchlist(k, n)), None)

    def choose_rule(self, multi: Sequence[tuple[int, int]], record: dict[str, Any]) -> Rule:
        totals: dict[str, float] = {}
        for k, m in multi:
            n = self.size_for(k)
            if n is None:
                continue
            runs = {r: x for r in RULES if (x := self._run(k, m, n, r)) is not None}
            if not runs:
                continue
            fpir = max(f for _, f in runs.values())
            _, table = choose_rule({r: res for r, (res, _) in runs.items()}, fpir)
            record["candidates"][f"K={k},M={m}"] = table
            record["measured_on"].append([k, m, n, fpir])
            for r, v in table.items():
                if v["tpir"] is not None:
                    totals[r] = totals.get(r, 0.0) + v["tpir"]
        chosen: Rule = "mean"
        for r in RULES:  # ties go to the first, the simplest
            if r in totals and totals[r] > totals.get(chosen, -1.0) + 1e-12:
                chosen = r
        record["criterion"] = (
            "highest TPIR summed over the multi-photo configurations, each at the largest "
            f"watchlist (up to {self.policy_size:,}) and the lowest FPIR level (policy "
            f"{self.policy_fpir:g}, else 1e-2) that the {self.people} can measure"
        )
        return chosen

    def znorm(self, configs: Sequence[tuple[int, int]], rule: Rule) -> dict[str, Any]:
        if self.extra.shape[0] < 200:
            return {"adopted": False, "why": "too few extra non-mated images for a cohort"}
        cohort = min(500, self.extra.shape[0] // 2)
        points = []
        for k, m in sorted(set(configs)):
            n = self.size_for(k)
            if n is not None:
                points.append((k, m, n))
        out = compare_znorm(
            self.plan,
            self.vectors,
            self.extra,
            points,
            rule,
            policy_fpir=self.policy_fpir,
            cohort_size=cohort,
            seed=self.seed,
        )
        out["people"] = self.people
        return out

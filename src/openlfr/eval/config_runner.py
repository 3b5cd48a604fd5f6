"""The per-(K, M) evaluation run: template rule choice, Z-norm comparison, fair floors, TPIR curve.

For every configuration (K enrolment photos, M probe shots, watchlist size N) the certified fair
floor is the highest of
- the calibrated threshold: lowest whose FPIR upper 95% bound meets the policy, over all
  of that configuration's non-mated searches (halves of the people cross-check it, see
  identification.py); where M > 1 leaves too few
  non-mated people to certify the policy, the K-photo single-shot calibration stands in and the
  fused FPIR measured at the floor is reported beside it (`calibration_source`);
- the floors of the single-image demographic evaluations (UTKFace gender x race, LFW labels):
  race can only be measured with one image per person, so its floor carries to every
  configuration;
- the floor of the LFW gender evaluation for this K and M (multi-photo templates, fused probes).
`bound_by` names the component that set it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openlfr.eval.configurations import (
    RULES,
    ConfigPlan,
    ConfigResult,
    Rule,
    choose_rule,
    evaluate_configuration,
    plan_configurations,
    score_configuration,
    tpir_at_policy,
)
from openlfr.eval.dataset import Dataset, Labels
from openlfr.eval.demographics import DemographicResult
from openlfr.eval.fairness import DEFAULT_FACTOR
from openlfr.eval.identification import THRESHOLD_GRID, _stable_half, min_searches_for
from openlfr.eval.stats import rate
from openlfr.vision.contract import FloatArray

CURVE_GRID = tuple(round(0.30 + 0.02 * i, 2) for i in range(36))  # 0.30 .. 1.00


@dataclass
class ConfigurationPart:
    enrol_photos: tuple[int, ...]
    probe_shots: tuple[int, ...]
    sizes: tuple[int, ...]
    rule: Rule
    rule_choice: dict[str, Any]
    items: list[dict[str, Any]]
    znorm: dict[str, Any]
    demographics: list[DemographicResult]
    tpir_curve: list[dict[str, Any]]
    skipped: list[str] = field(default_factory=list)
    policy_fpir: float = 1e-3
    factor: float = DEFAULT_FACTOR

    def to_dict(self) -> dict[str, Any]:
        return {
            "enrol_photos": list(self.enrol_photos),
            "probe_shots": list(self.probe_shots),
            "watchlist_sizes": list(self.sizes),
            "template_rule": self.rule,
            "template_rule_choice": self.rule_choice,
            "template_rule_summary": _rule_summary(self.rule_choice),
            "znorm": self.znorm,
            "policy_fpir": self.policy_fpir,
            "effect_size_factor": self.factor,
            "by_configuration": self.items,
            "skipped": self.skipped,
            "protocol": (
                "K enrolment photos per listed person, M other photos fused into one probe "
                "(mean of unit templates, re-normalised); the same mated-capable people head "
                "every list; non-mated probes come only from people not on the list (M photos "
                "each; UTKFace singles for M = 1); TPIR intervals: bootstrap over listed people"
            ),
        }


def _rule_summary(choice: dict[str, Any]) -> str:
    parts = []
    for conf, table in choice.get("candidates", {}).items():
        cells = [
            f"{r} {100 * v['tpir']:.1f}% [{100 * v['tpir_bootstrap_ci'][0]:.1f}, "
            f"{100 * v['tpir_bootstrap_ci'][1]:.1f}]"
            for r, v in table.items()
            if v["tpir"] is not None
        ]
        parts.append(f"{conf}: " + (", ".join(cells) or "TPIR at the policy FPIR not resolvable"))
    return "; ".join(parts)


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
            res = evaluate_configuration(
                cs, thresholds=THRESHOLD_GRID, policy_fpir=policy_fpir, boot=200, seed=seed
            )
            tp = tpir_at_policy(res, policy_fpir)
            out[name] = (
                None
                if tp is None
                else {
                    "tpir": tp[0],
                    "tpir_bootstrap_ci": [tp[1], tp[2]],
                    "searches": cs.scores.n_nonmated,
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
        "rule": "adopt only if TPIR at the policy FPIR rises with non-overlapping 95% intervals "
        "in every configuration where both are measurable",
        "by_configuration": rows,
        "adopted": adopted,
    }


def _tpir_curve(res: ConfigResult, seed: int) -> list[dict[str, Any]]:
    from openlfr.eval.configurations import person_bootstrap_tpir

    out = []
    for t in CURVE_GRID:
        hk = int(res.scores.scores.hit_counts([t])[0])
        lo, _ = person_bootstrap_tpir(res.scores, t, boot=200, seed=seed)
        s = res.scores
        out.append(
            {
                "enrol_photos": s.enrol_photos,
                "probe_shots": s.probe_shots,
                "watchlist_size": s.size,
                "threshold": t,
                "tpir": hk / s.scores.n_mated,
                "tpir_lower": lo,
            }
        )
    return out


def run_configurations(
    dataset: Dataset,
    vectors: FloatArray,
    ok: np.ndarray,
    enrol_photos: Sequence[int],
    probe_shots: Sequence[int],
    sizes: Sequence[int],
    *,
    extra: FloatArray | None,
    labels: Labels | None,
    single_floors: dict[str, float | None],
    policy_fpir: float,
    policy_size: int,
    rule: Rule | None = None,
    factor: float = DEFAULT_FACTOR,
    default_threshold: float = 0.5,
    znorm: bool = True,
    seed: int = 0,
    cap: int = 5,
) -> ConfigurationPart:
    from openlfr.eval.config_demographics import evaluate_config_demographics

    plan = plan_configurations(dataset, ok, enrol_photos, probe_shots, seed=seed, cap=cap)
    ex = extra if extra is not None else np.zeros((0, vectors.shape[1]), np.float32)

    def run(k: int, m: int, n: int, r: Rule) -> ConfigResult | None:
        cs = score_configuration(plan, vectors, k, m, n, r, extra_nonmated=ex, seed=seed)
        if cs is None:
            return None
        return evaluate_configuration(
            cs, thresholds=THRESHOLD_GRID, policy_fpir=policy_fpir, boot=200, seed=seed
        )

    skipped: list[str] = []
    grid = [
        (k, m, n) for k in plan.enrol_photos for m in plan.probe_shots for n in sorted(set(sizes))
    ]
    # Template rule: measured on every multi-photo configuration at the policy size.
    rule_choice: dict[str, Any] = {"measured_on": [], "candidates": {}}
    if rule is None:
        multi = [(k, m) for k, m, n in grid if k > 1 and n == policy_size]
        totals: dict[str, float] = {}
        for k, m in multi:
            cands = {r: x for r in RULES if (x := run(k, m, policy_size, r)) is not None}
            if not cands:
                continue
            _, table = choose_rule(cands, policy_fpir)
            rule_choice["candidates"][f"K={k},M={m}"] = table
            rule_choice["measured_on"].append([k, m, policy_size])
            for r, v in table.items():
                if v["tpir"] is not None:
                    totals[r] = totals.get(r, 0.0) + v["tpir"]
        chosen: Rule = "mean"
        for r in RULES:  # ties go to the first, the simplest
            if r in totals and totals[r] > totals.get(chosen, -1.0) + 1e-12:
                chosen = r
        rule_choice["criterion"] = (
            f"highest TPIR at FPIR {policy_fpir:g} summed over the multi-photo configurations "
            f"at watchlist {policy_size:,}"
        )
    else:
        chosen = rule
        rule_choice["criterion"] = "set by --template-rule"
    rule = chosen
    rule_choice["chosen"] = rule
    results: dict[tuple[int, int, int], ConfigResult] = {}
    for k, m, n in grid:
        res = run(k, m, n, rule)
        if res is None:
            skipped.append(f"K={k}, M={m}, watchlist {n:,}: too few people with {k} photos")
        else:
            results[(k, m, n)] = res
    demo: list[DemographicResult] = []
    config_floor: dict[tuple[int, int], float | None] = {}
    if labels is not None:
        for k in plan.enrol_photos:
            for m in plan.probe_shots:
                d = evaluate_config_demographics(
                    plan,
                    vectors,
                    dataset,
                    labels,
                    k,
                    m,
                    rule,
                    default_threshold=default_threshold,
                    factor=factor,
                    seed=seed,
                )
                demo.append(d)
                config_floor[(k, m)] = d.floor_threshold
    items = []
    curve: list[dict[str, Any]] = []
    need = min_searches_for(policy_fpir)
    for (k, m, n), res in sorted(results.items()):
        cal = res.result.calibration
        source = "this configuration"
        cal_t = cal.threshold
        if cal_t is None and m > 1 and (k, 1, n) in results:
            cal_t = results[(k, 1, n)].result.calibration.threshold
            source = f"single-shot K={k} calibration (too few {m}-shot non-mated searches)"
        comps: dict[str, float | None] = {f"FPIR {policy_fpir:g} calibration ({source})": cal_t}
        comps.update({f"single-image demographics: {name}": f for name, f in single_floors.items()})
        if (k, m) in config_floor:
            comps[f"LFW gender, K={k}, M={m}"] = config_floor[(k, m)]
        known = {c: v for c, v in comps.items() if v is not None}
        missing = [c for c, v in comps.items() if v is None]
        floor = None if missing or not known else max(known.values())
        bound = "" if floor is None else max(known, key=lambda c: known[c])
        at = res.at(floor, seed=seed) if floor is not None else None
        demo_known = [v for c, v in known.items() if not c.startswith("FPIR")]
        demo_floor = max(demo_known) if demo_known else None
        proxy_check = None
        if m > 1 and (k, 1, n) in results:
            # Does fusing shots raise FPIR? Compared where the single-shot FPIR is 1e-2, a level
            # the few multi-shot non-mated searches can resolve.
            single = results[(k, 1, n)]
            t1 = next(
                (x.threshold for x in single.result.tpir_at_fpir if x.fpir_target == 1e-2), None
            )
            if t1 is not None:
                fk = int(res.scores.scores.fpir_counts([t1])[0])
                fused = rate(fk, res.scores.scores.n_nonmated)
                sk = int(single.scores.scores.fpir_counts([t1])[0])
                proxy_check = {
                    "threshold": t1,
                    "single_shot_fpir": [sk, single.scores.scores.n_nonmated],
                    "fused_fpir": [fk, fused.n],
                    "fused_fpir_interval": [fused.lower, fused.upper],
                }
        tp = tpir_at_policy(res, policy_fpir)
        items.append(
            {
                "enrol_photos": k,
                "probe_shots": m,
                "watchlist_size": n,
                "template_rule": rule,
                "threshold": floor,
                "tpir": at["tpir"] if at else None,
                "tpir_ci": at["tpir_ci"] if at else None,
                "fpir": at["fpir"] if at else None,
                "fpir_upper": at["fpir_upper"] if at else None,
                "fpir_counts": [at["fpir_k"], at["fpir_n"]] if at else None,
                "bound_by": bound or f"no floor: {', '.join(missing)} not certified",
                "floor_components": comps,
                "calibration_source": source,
                "calibration": cal.to_dict(),
                "fused_vs_single_fpir": proxy_check,
                "highest_nonmated": res.scores.highest_nonmated(),
                # Where the demographic criteria alone would put the floor, and what it gives:
                # shows how much the FPIR calibration (and what binds it) costs.
                "at_demographic_floor": (
                    None if demo_floor is None else res.at(demo_floor, seed=seed)
                ),
                "mated_searches": res.scores.scores.n_mated,
                "mated_people": res.scores.mated_people,
                "nonmated_searches": res.scores.scores.n_nonmated,
                "nonmated_people": res.scores.nonmated_people,
                "fpir_policy_measurable": cal.threshold is not None,
                "fpir_policy_note": (
                    ""
                    if cal.threshold is not None
                    else f"FPIR {policy_fpir:g} cannot be certified: {res.scores.scores.n_nonmated}"
                    f" non-mated searches ({res.scores.nonmated_people} people); certifying it "
                    f"needs at least {need:,} with no alert"
                ),
                "tpir_at_policy_fpir": (
                    None if tp is None else {"tpir": tp[0], "tpir_bootstrap_ci": [tp[1], tp[2]]}
                ),
                "at_default_threshold": res.at(default_threshold, seed=seed),
            }
        )
        curve.extend(_tpir_curve(res, seed))
    zn: dict[str, Any] = {"adopted": False, "why": "not measured (--no-znorm)"}
    if znorm and ex.shape[0]:
        zn = compare_znorm(
            plan,
            vectors,
            ex,
            [key for key in results if key[2] == policy_size],
            rule,
            policy_fpir=policy_fpir,
            seed=seed,
        )
    return ConfigurationPart(
        plan.enrol_photos,
        plan.probe_shots,
        tuple(sorted(set(sizes))),
        rule,
        rule_choice,
        items,
        zn,
        demo,
        curve,
        skipped,
        policy_fpir,
        factor,
    )


def finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x)

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

from openlfr.eval.choices import Chooser, DevPart
from openlfr.eval.configurations import (
    ConfigResult,
    Rule,
    evaluate_configuration,
    plan_configurations,
    score_configuration,
    tpir_at_policy,
)
from openlfr.eval.dataset import Dataset, Labels
from openlfr.eval.demographics import DemographicResult
from openlfr.eval.fairness import DEFAULT_FACTOR
from openlfr.eval.identification import THRESHOLD_GRID, min_searches_for
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
    dataset: str = ""

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
    dev: DevPart | None = None,
    extra_people: Sequence[str] | None = None,
) -> ConfigurationPart:
    from openlfr.eval.config_demographics import evaluate_config_demographics

    plan = plan_configurations(dataset, ok, enrol_photos, probe_shots, seed=seed, cap=cap)
    ex = extra if extra is not None else np.zeros((0, vectors.shape[1]), np.float32)

    def run(k: int, m: int, n: int, r: Rule) -> ConfigResult | None:
        cs = score_configuration(
            plan, vectors, k, m, n, r, extra_nonmated=ex, seed=seed, extra_people=extra_people
        )
        if cs is None:
            return None
        return evaluate_configuration(
            cs, thresholds=THRESHOLD_GRID, policy_fpir=policy_fpir, boot=200, seed=seed
        )

    skipped: list[str] = []
    grid = [
        (k, m, n) for k in plan.enrol_photos for m in plan.probe_shots for n in sorted(set(sizes))
    ]
    # Choices (template rule, Z-norm) are made on the development people when there are any,
    # so no figure below is measured on the people a choice was fitted to.
    chooser = (
        Chooser(plan, vectors, ex, policy_size, policy_fpir, seed, "the same people (no split)")
        if dev is None
        else Chooser(
            plan_configurations(dev.dataset, dev.ok, enrol_photos, probe_shots, seed=seed, cap=cap),
            dev.vectors,
            dev.extra if dev.extra is not None else ex[:0],
            policy_size,
            policy_fpir,
            seed,
            "development part (people disjoint from every figure)",
        )
    )
    rule_choice: dict[str, Any] = {"measured_on": [], "candidates": {}, "people": chooser.people}
    if rule is None:
        multi = sorted({(k, m) for k, m, _ in grid if k > 1})
        chosen = chooser.choose_rule(multi, rule_choice)
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
    per_attribute: dict[str, dict[str, str]] = {}
    if labels is not None:
        from openlfr.eval.config_demographics import person_groups

        per_attribute = {a: person_groups(dataset, labels, a) for a in labels.attribute_names()}
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
        by_group = (
            {}
            if floor is None
            else _by_group(res, plan.watchlist(k, n) or (), per_attribute, floor, factor, seed)
        )
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
                "by_group": by_group,
            }
        )
        curve.extend(_tpir_curve(res, seed))
    zn: dict[str, Any] = {"adopted": False, "why": "not measured (--no-znorm)"}
    if znorm:
        zn = chooser.znorm([(k, m) for k, m, _ in grid], rule)
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
        str(dataset.root),
    )


def _by_group(
    res: ConfigResult,
    listed: Sequence[str],
    per_attribute: dict[str, dict[str, str]],
    threshold: float,
    factor: float,
    seed: int,
) -> dict[str, list[dict[str, Any]]]:
    """Identification rates per group of listed people at the configuration's threshold:
    by each labelled attribute alone, and by all of them together where people carry all."""
    from openlfr.eval.group_rates import group_identification, groups_by

    groupings: list[tuple[str, ...]] = [(a,) for a in sorted(per_attribute)]
    if len(per_attribute) > 1:
        groupings.append(tuple(sorted(per_attribute)))
    out = {}
    for attrs in groupings:
        rows = group_identification(
            res.scores, listed, groups_by(per_attribute, attrs), threshold, factor=factor, seed=seed
        )
        if rows:
            out[" x ".join(attrs)] = rows
    return out


def finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x)

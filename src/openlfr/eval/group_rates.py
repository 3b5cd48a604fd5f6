"""Who is *found*, per group: identification rates of listed people by their dataset labels.

False alerts are not the only place bias shows: a field test can find one group's listed people
less often. For each group of listed people (labels from the dataset only, never inferred), the
share of their mated searches that find them at the deployed threshold, with a 95% interval
from a bootstrap over people (a person's several searches are not independent), and their
miss rate (FNIR) as a ratio to the pooled miss rate under the same effect-size rule as false
matches: shown above the factor when the interval's lower end is above it, thin when its upper
end is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from openlfr.eval.configurations import ConfigScores

MIN_PEOPLE = 5


def group_identification(
    cs: ConfigScores,
    listed: Sequence[str],
    groups_of: Mapping[str, str],
    threshold: float,
    *,
    factor: float,
    boot: int = 400,
    seed: int = 0,
    min_people: int = MIN_PEOPLE,
) -> list[dict[str, Any]]:
    """TPIR and FNIR ratio to pooled per group of listed people at `threshold`."""
    sc = cs.scores
    hit = (sc.mated_rank1 & (sc.mated_score >= np.float32(threshold))).astype(np.float64)
    person = cs.mated_person
    people = np.unique(person)
    group = {int(p): groups_of.get(listed[int(p)]) for p in people}
    members: dict[str, list[int]] = {}
    for p, g in group.items():
        if g is not None:
            members.setdefault(g, []).append(p)
    members = {g: ps for g, ps in members.items() if len(ps) >= min_people}
    if not members:
        return []
    hits = {int(p): float(hit[person == p].sum()) for p in people}
    tries = {int(p): float((person == p).sum()) for p in people}
    labelled = [p for ps in members.values() for p in ps]
    rng = np.random.default_rng(seed)
    names = sorted(members)
    # One stratified resample of people per group per round: group TPIR and the pooled miss
    # rate of the same round give the ratio's interval.
    tp = {g: np.empty(boot) for g in names}
    ratio = {g: np.empty(boot) for g in names}
    arrays = {
        g: (np.array([hits[p] for p in members[g]]), np.array([tries[p] for p in members[g]]))
        for g in names
    }
    for b in range(boot):
        h_all = t_all = 0.0
        rates: dict[str, float] = {}
        for g in names:
            h, t = arrays[g]
            idx = rng.integers(0, h.size, h.size)
            hs, ts = float(h[idx].sum()), float(t[idx].sum())
            h_all += hs
            t_all += ts
            rates[g] = hs / ts
        pooled_miss = 1.0 - h_all / t_all
        for g in names:
            tp[g][b] = rates[g]
            ratio[g][b] = (1.0 - rates[g]) / pooled_miss if pooled_miss > 0 else math.nan
    total_h = sum(hits[p] for p in labelled)
    total_t = sum(tries[p] for p in labelled)
    pooled = 1.0 - total_h / total_t
    out = []
    for g in names:
        h, t = arrays[g]
        value = float(h.sum() / t.sum())
        lo, hi = np.quantile(tp[g], [0.025, 0.975])
        r = ratio[g][~np.isnan(ratio[g])]
        rlo, rhi = np.quantile(r, [0.025, 0.975]) if r.size else (math.nan, math.nan)
        out.append(
            {
                "group": g,
                "people": len(members[g]),
                "searches": int(t.sum()),
                "tpir": value,
                "tpir_ci": [float(lo), float(hi)],
                "fnir_ratio": (1.0 - value) / pooled if pooled > 0 else None,
                "fnir_ratio_ci": [float(rlo), float(rhi)],
                "fnir_shown_above_factor": bool(not math.isnan(rlo) and rlo > factor),
                "thin": bool(math.isnan(rhi) or rhi > factor),
            }
        )
    return out


def groups_by(
    per_attribute: Mapping[str, Mapping[str, str]], attributes: Sequence[str]
) -> dict[str, str]:
    """identity -> 'a/b' for identities labelled on every one of `attributes`."""
    maps = [per_attribute.get(a, {}) for a in attributes]
    if not maps or not all(maps):
        return {}
    common = set(maps[0]).intersection(*maps[1:])
    return {i: "/".join(m[i] for m in maps) for i in sorted(common)}

"""Demographic differentials: false match and false non-match rates per group.

- FMR per group comes from impostor comparisons *within* the group (two different people of the
  same gender and race), because that is where a watchlist search errs: a passer-by is falsely
  matched against someone who looks demographically alike.
- FNMR per group comes from genuine comparisons (two images of the same person), where both
  images carry the group's label.
- Groups come only from the dataset's own labels. No demographic classifier is used anywhere.
- At each candidate threshold every group's FMR is compared with the pooled rate of all other
  groups by Fisher's exact test, Holm-corrected across groups (family-wise alpha 0.05), and as a
  ratio to the pooled rate with a 95% interval (`fairness.py`). The floor is the lowest
  threshold such that no group's FMR is shown to exceed the pooled rate by more than the factor
  (default 2x; the 95% lower bound of its ratio above it), there and at every higher candidate
  threshold (scanning down, so low thresholds where every group's FMR tends to 1 cannot pass by
  accident). The significance test is reported and never binds: with more data it flags ever
  smaller differences, so a floor it set would rise as the evidence grows.
- Caveat: comparisons share images, so they are not independent; the binomial intervals are
  narrower than a resampling over people would give. Treat them as lower bounds on uncertainty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset, Labels
from openlfr.eval.fairness import DEFAULT_FACTOR, FloorDecision, exceeds, ratios_dict, scan_floor
from openlfr.eval.stats import GroupTest, Rate, Ratio, group_test, rate, rate_ratio
from openlfr.vision.contract import FloatArray

F32 = npt.NDArray[np.float32]
THRESHOLDS = tuple(round(0.20 + 0.01 * i, 2) for i in range(61))


@dataclass(frozen=True, slots=True)
class GroupScores:
    group: str
    images: int
    identities: int
    impostor: F32  # sorted ascending
    genuine: F32  # sorted ascending

    def fm(self, t: float) -> Rate:
        k = self.impostor.size - int(np.searchsorted(self.impostor, np.float32(t), side="left"))
        return rate(k, self.impostor.size)

    def fnm(self, t: float) -> Rate:
        k = int(np.searchsorted(self.genuine, np.float32(t), side="left"))
        return rate(k, self.genuine.size)


def _pairs_upper(v: FloatArray, ids: npt.NDArray[np.int64]) -> tuple[F32, F32]:
    s = v @ v.T
    iu = np.triu_indices(v.shape[0], k=1)
    vals = s[iu]
    same = ids[iu[0]] == ids[iu[1]]
    return np.sort(vals[~same]).astype(np.float32), np.sort(vals[same]).astype(np.float32)


def group_scores(
    dataset: Dataset,
    vectors: FloatArray,
    ok: npt.NDArray[np.bool_],
    labels: Labels,
    attributes: Sequence[str],
    *,
    min_age: int | None = None,
    max_age: int | None = None,
    exclude: Sequence[str] = (),
    max_images_per_group: int = 2000,
    max_images_per_identity: int = 10,
    min_identities: int = 5,
    seed: int = 0,
) -> tuple[list[GroupScores], dict[str, int]]:
    """Per-group impostor and genuine scores. Returns the groups and counts of images left out
    (no usable face, no label, outside the age range, excluded group, group too small).

    A group of fewer than `min_identities` people has too few impostor pairs for any rate to
    mean something (LFW's mixed-ancestry labels make many groups of one or two people), so it
    is left out and counted rather than reported with an interval of [0, 1]."""
    rng = np.random.default_rng(seed)
    left_out = {
        "no_usable_face": 0,
        "no_label": 0,
        "outside_age_range": 0,
        "excluded_group": 0,
        "group_too_small": 0,
    }
    members: dict[str, list[int]] = {}
    for i, rec in enumerate(dataset.records):
        if not ok[i]:
            left_out["no_usable_face"] += 1
            continue
        attrs = labels.by_image.get(rec.path.name)
        if attrs is None or any(a not in attrs for a in attributes):
            left_out["no_label"] += 1
            continue
        if min_age is not None or max_age is not None:
            if "age" not in attrs:
                left_out["no_label"] += 1
                continue
            age = int(attrs["age"])
            if (min_age is not None and age < min_age) or (max_age is not None and age > max_age):
                left_out["outside_age_range"] += 1
                continue
        g = "/".join(attrs[a] for a in attributes)
        if g in exclude or any(attrs[a] in exclude for a in attributes):
            left_out["excluded_group"] += 1
            continue
        members.setdefault(g, []).append(i)
    for g in list(members):
        if len({dataset.records[r].identity for r in members[g]}) < min_identities:
            left_out["group_too_small"] += len(members.pop(g))
    if not members:
        raise DatasetError(
            f"no image has usable labels {list(attributes)} (after filters {left_out})",
            source=str(dataset.root),
        )
    ident_index = {name: j for j, name in enumerate(dataset.identities)}
    out: list[GroupScores] = []
    for g in sorted(members):
        rows = members[g]
        # One person's hundreds of images (LFW's George W Bush) would otherwise dominate the
        # genuine pairs of their group.
        per_id: dict[str, list[int]] = {}
        for r in rows:
            per_id.setdefault(dataset.records[r].identity, []).append(r)
        rows = []
        genuine: list[F32] = []
        for ident_rows in per_id.values():
            if len(ident_rows) > max_images_per_identity:
                pick = rng.choice(len(ident_rows), max_images_per_identity, replace=False)
                ident_rows = [ident_rows[k] for k in sorted(pick)]
            rows.extend(ident_rows)
            if len(ident_rows) >= 2:
                v = vectors[np.array(ident_rows, np.int64)]
                genuine.append((v @ v.T)[np.triu_indices(len(ident_rows), k=1)].astype(np.float32))
        n_images, n_ids = len(rows), len(per_id)
        # Impostor pairs grow with the square of the group; a seeded sample of images keeps
        # them to about max_images_per_group**2 / 2 (genuine pairs above use every image).
        if len(rows) > max_images_per_group:
            pick = rng.choice(len(rows), max_images_per_group, replace=False)
            rows = [rows[k] for k in sorted(pick)]
        r_arr = np.array(rows, np.int64)
        ids = np.array([ident_index[dataset.records[r].identity] for r in rows], np.int64)
        imp, _ = _pairs_upper(vectors[r_arr], ids)
        gen = np.sort(np.concatenate(genuine)) if genuine else np.zeros(0, np.float32)
        out.append(GroupScores(g, n_images, n_ids, imp, gen.astype(np.float32)))
    return out, left_out


def pooled_threshold_for_fmr(groups: Sequence[GroupScores], target: float) -> float:
    """Threshold where the FMR pooled over all within-group impostor pairs equals `target`."""
    allv = np.sort(np.concatenate([g.impostor for g in groups]))[::-1]
    if allv.size == 0:
        return math.nan
    k = min(math.floor(target * allv.size), allv.size - 1)
    return float(np.nextafter(allv[k], np.float32(np.inf)))


@dataclass(frozen=True, slots=True)
class ThresholdRow:
    threshold: float
    fmr: dict[str, Rate]
    fnmr: dict[str, Rate]
    test: GroupTest
    worst_to_best: Ratio | None
    worst: str
    best: str
    above_factor: tuple[str, ...] = ()  # groups whose FMR is > factor x pooled (95% confidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "fmr": {g: r.to_dict() for g, r in self.fmr.items()},
            "fnmr": {g: r.to_dict() for g, r in self.fnmr.items() if r.n},
            "fmr_ratio_to_pooled": ratios_dict(self.fmr),
            "fnmr_ratio_to_pooled": ratios_dict({g: r for g, r in self.fnmr.items() if r.n}),
            "groups_above_factor": list(self.above_factor),
            "fisher_holm_p": dict(zip(self.test.groups, self.test.p_holm, strict=True)),
            "significant_groups": list(self.test.significant),
            "significantly_higher_groups": list(self.test.significantly_higher),
            "worst_group": self.worst,
            "best_group": self.best,
            "worst_to_best_fmr_ratio": self.worst_to_best.to_dict() if self.worst_to_best else None,
        }


def threshold_row(
    groups: Sequence[GroupScores],
    t: float,
    alpha: float = 0.05,
    factor: float = DEFAULT_FACTOR,
) -> ThresholdRow:
    fmr = {g.group: g.fm(t) for g in groups}
    fnmr = {g.group: g.fnm(t) for g in groups}
    test = group_test({g: (r.k, r.n) for g, r in fmr.items()}, alpha)
    valid = {g: r for g, r in fmr.items() if r.n}
    worst = max(valid, key=lambda g: valid[g].value)
    best = min(valid, key=lambda g: valid[g].value)
    ratio = rate_ratio(valid[worst], valid[best]) if len(valid) >= 2 else None
    return ThresholdRow(t, fmr, fnmr, test, ratio, worst, best, exceeds(fmr, factor))


@dataclass(frozen=True, slots=True)
class DemographicResult:
    dataset: str
    attributes: tuple[str, ...]
    filters: dict[str, Any]
    groups: tuple[GroupScores, ...]
    left_out: dict[str, int]
    rows: tuple[ThresholdRow, ...]
    default_threshold: float
    pooled_fmr_target: float
    pooled_threshold: float
    floor_threshold: float | None  # lowest threshold passing the effect-size criterion
    label_problems: tuple[str, ...] = ()
    decision: FloorDecision | None = None
    configuration: tuple[int, int] = (1, 1)  # (enrolment photos, probe shots) compared

    def row_at(self, t: float) -> ThresholdRow:
        for r in self.rows:
            if abs(r.threshold - t) < 1e-9:
                return r
        factor = self.decision.factor if self.decision else DEFAULT_FACTOR
        return threshold_row(self.groups, t, factor=factor)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "grouped_by": list(self.attributes),
            "filters": self.filters,
            "groups": [
                {
                    "group": g.group,
                    "images": g.images,
                    "identities": g.identities,
                    "impostor_pairs": int(g.impostor.size),
                    "genuine_pairs": int(g.genuine.size),
                }
                for g in self.groups
            ],
            "left_out": self.left_out,
            "label_problems": list(self.label_problems),
            "test": (
                "Fisher exact, each group vs the rest pooled, Holm-corrected across groups, "
                "alpha 0.05"
            ),
            "default_threshold": self.default_threshold,
            "at_default_threshold": self.row_at(self.default_threshold).to_dict(),
            "pooled_fmr_target": self.pooled_fmr_target,
            "pooled_threshold": self.pooled_threshold,
            "at_pooled_threshold": self.row_at(self.pooled_threshold).to_dict(),
            "floor_threshold": self.floor_threshold,
            "floor": self.decision.to_dict() if self.decision else None,
            "enrol_photos": self.configuration[0],
            "probe_shots": self.configuration[1],
            "by_threshold": [r.to_dict() for r in self.rows],
        }


def evaluate_demographics(
    dataset: Dataset,
    vectors: FloatArray,
    ok: npt.NDArray[np.bool_],
    labels: Labels,
    attributes: Sequence[str],
    *,
    default_threshold: float,
    thresholds: Sequence[float] = THRESHOLDS,
    pooled_fmr_target: float = 1e-3,
    min_age: int | None = None,
    max_age: int | None = None,
    exclude: Sequence[str] = (),
    alpha: float = 0.05,
    factor: float = DEFAULT_FACTOR,
    min_identities: int = 5,
    seed: int = 0,
) -> DemographicResult:
    groups, left_out = group_scores(
        dataset,
        vectors,
        ok,
        labels,
        attributes,
        min_age=min_age,
        max_age=max_age,
        exclude=exclude,
        min_identities=min_identities,
        seed=seed,
    )
    return evaluate_groups(
        groups,
        left_out,
        dataset=str(dataset.root),
        attributes=attributes,
        filters={
            "min_age": min_age,
            "max_age": max_age,
            "excluded": list(exclude),
            "min_group_identities": min_identities,
        },
        default_threshold=default_threshold,
        thresholds=thresholds,
        pooled_fmr_target=pooled_fmr_target,
        alpha=alpha,
        factor=factor,
        label_problems=labels.problems,
    )


def evaluate_groups(
    groups: Sequence[GroupScores],
    left_out: dict[str, int],
    *,
    dataset: str,
    attributes: Sequence[str],
    filters: dict[str, Any],
    default_threshold: float,
    thresholds: Sequence[float] = THRESHOLDS,
    pooled_fmr_target: float = 1e-3,
    alpha: float = 0.05,
    factor: float = DEFAULT_FACTOR,
    label_problems: tuple[str, ...] = (),
    configuration: tuple[int, int] = (1, 1),
) -> DemographicResult:
    """Rates, tests, effect sizes and the fairness floor from per-group scores."""
    if sum(g.impostor.size for g in groups) == 0 and sum(g.genuine.size for g in groups) == 0:
        raise DatasetError("no comparisons within any group: each group has a single image")
    pooled_t = pooled_threshold_for_fmr(groups, pooled_fmr_target)
    ths = sorted(set(round(float(t), 4) for t in (*thresholds, default_threshold)))
    rows = tuple(threshold_row(groups, t, alpha, factor) for t in ths)
    decision = scan_floor(
        [(r.threshold, r.test.any_significant, bool(r.above_factor)) for r in rows], factor
    )
    return DemographicResult(
        dataset=dataset,
        attributes=tuple(attributes),
        filters=filters,
        groups=tuple(groups),
        left_out=left_out,
        rows=rows,
        default_threshold=default_threshold,
        pooled_fmr_target=pooled_fmr_target,
        pooled_threshold=pooled_t,
        floor_threshold=decision.floor,
        label_problems=label_problems,
        decision=decision,
        configuration=configuration,
    )

"""1:N identification at the level a deployment runs: K enrolment photos, M fused probe shots.

Protocol, per (K, M, watchlist size N), on a folder-per-identity dataset (LFW):
- Every identity's usable images get one seeded order. Enrolment uses the first K of them, so
  the K=1 photo is among the K=2 photos (configurations differ only in K and M).
- *Mated-capable* identities have at least Kmax + Mmax usable images; they head every watchlist
  (the same people for every K), so TPIR is measured on the same listed people for every
  configuration. Their probes come from the images after position Kmax: disjoint groups of M,
  each fused (mean of the unit templates, re-normalised), at most `cap` searches per person so
  that LFW's much-photographed few do not dominate.
- The rest of a watchlist is filled with identities having at least K images, those with the
  fewest images first, which keeps people with several images *off* the list where they are
  needed as multi-shot non-mated searches.
- Non-mated searches: identities not on the list with at least M usable images (every disjoint
  M-group, fused), plus, for M = 1 only, the extra single images (UTKFace). For M > 1
  the non-mated people must have M photos, so FPIR at 1e-3 often cannot be resolved there; the
  result says so (`achievable`, calibration) instead of extrapolating.
- Template rules for K > 1: `mean` (one re-normalised mean template per entry), `max` (best-of:
  the highest score over the entry's photos) and `both` (the higher of the two).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset
from openlfr.eval.identification import (
    BLOCK,
    SizeResult,
    SizeScores,
    _stable_half,
    evaluate_size,
    per_person_max,
)
from openlfr.vision.contract import FloatArray, l2_normalise

Rule = Literal["mean", "max", "both"]
RULES: tuple[Rule, ...] = ("mean", "max", "both")
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class ConfigPlan:
    """Which images enrol and which probe, for every configuration of one evaluation."""

    enrol_photos: tuple[int, ...]
    probe_shots: tuple[int, ...]
    order: dict[str, tuple[int, ...]]  # identity -> its usable rows in seeded order
    mated_capable: tuple[str, ...]  # seeded order
    cap: int

    @property
    def k_max(self) -> int:
        return max(self.enrol_photos)

    @property
    def m_max(self) -> int:
        return max(self.probe_shots)

    def watchlist(self, k: int, size: int) -> tuple[str, ...] | None:
        """The first `size` identities of the K-photo list order, or None if too few."""
        mc = set(self.mated_capable)
        fill = sorted(
            (i for i, r in self.order.items() if len(r) >= k and i not in mc),
            key=lambda i: (len(self.order[i]), _tiebreak(i)),
        )
        order = [*self.mated_capable, *fill]
        return tuple(order[:size]) if size <= len(order) else None


def _tiebreak(identity: str) -> bytes:
    import hashlib

    return hashlib.sha256(identity.encode()).digest()


def plan_configurations(
    dataset: Dataset,
    ok: BoolArray,
    enrol_photos: Sequence[int],
    probe_shots: Sequence[int],
    *,
    seed: int = 0,
    cap: int = 5,
) -> ConfigPlan:
    if not enrol_photos or not probe_shots or min(*enrol_photos, *probe_shots) < 1:
        raise DatasetError("enrolment photos and probe shots must be positive integers")
    rng = np.random.default_rng(seed)
    order: dict[str, tuple[int, ...]] = {}
    for ident in sorted(dataset.identities):
        rows = [r for r in dataset.identities[ident] if ok[r]]
        if rows:
            order[ident] = tuple(rows[j] for j in rng.permutation(len(rows)))
    need = max(enrol_photos) + max(probe_shots)
    capable = sorted(i for i, r in order.items() if len(r) >= need)
    if not capable:
        raise DatasetError(
            f"no identity has {need} usable images ({max(enrol_photos)} to enrol + "
            f"{max(probe_shots)} to probe), so no mated search can be formed",
            source=str(dataset.root),
        )
    capable = [capable[j] for j in rng.permutation(len(capable))]
    return ConfigPlan(
        tuple(sorted(set(enrol_photos))),
        tuple(sorted(set(probe_shots))),
        order,
        tuple(capable),
        cap,
    )


def fuse_rows(vectors: FloatArray, groups: Sequence[Sequence[int]]) -> FloatArray:
    """One fused probe per group of rows: the mean of unit templates, re-normalised."""
    if not groups:
        return np.zeros((0, vectors.shape[1]), np.float32)
    return l2_normalise(np.stack([vectors[list(g)].mean(axis=0) for g in groups]))


def entry_templates(vectors: FloatArray, rows: Sequence[Sequence[int]]) -> FloatArray:
    """(entries, K, dim) unit templates of the enrolment photos."""
    return np.stack([vectors[list(r)] for r in rows]).astype(np.float32)


def entry_scores(probes: FloatArray, gallery: FloatArray, rule: Rule) -> FloatArray:
    """(probes, entries) scores of probes against (entries, K, dim) gallery under a rule."""
    n, k, d = gallery.shape
    if k == 1:
        return probes @ gallery[:, 0, :].T
    mean = l2_normalise(gallery.mean(axis=1))
    if rule == "mean":
        return probes @ mean.T
    best = (probes @ gallery.reshape(n * k, d).T).reshape(probes.shape[0], n, k).max(axis=2)
    if rule == "max":
        return best
    return np.maximum(best, probes @ mean.T)


@dataclass(frozen=True, slots=True)
class ZNorm:
    """Per-entry mean and spread of scores against a cohort of non-mated templates."""

    mu: FloatArray
    sd: FloatArray

    @classmethod
    def fit(cls, cohort: FloatArray, gallery: FloatArray, rule: Rule) -> ZNorm:
        if cohort.shape[0] < 2:
            raise DatasetError("a Z-norm cohort needs at least two templates")
        s = entry_scores(cohort, gallery, rule)
        return cls(s.mean(axis=0).astype(np.float32), np.maximum(s.std(axis=0), 1e-6))

    def apply(self, scores: FloatArray) -> FloatArray:
        return ((scores - self.mu) / self.sd).astype(np.float32)


def search(
    probes: FloatArray,
    gallery: FloatArray,
    rule: Rule,
    znorm: ZNorm | None = None,
    *,
    block: int = BLOCK,
) -> tuple[FloatArray, IntArray]:
    """Top score and entry per probe, block by block (memory: block x entries x K)."""
    m = probes.shape[0]
    top = np.empty(m, np.float32)
    arg = np.empty(m, np.int64)
    for s0 in range(0, m, block):
        s = entry_scores(probes[s0 : s0 + block], gallery, rule)
        if znorm is not None:
            s = znorm.apply(s)
        a = np.argmax(s, axis=1)
        arg[s0 : s0 + block] = a
        top[s0 : s0 + block] = s[np.arange(s.shape[0]), a]
    return top, arg


def mate_scores(
    probes: FloatArray,
    gallery: FloatArray,
    mate: IntArray,
    rule: Rule,
    znorm: ZNorm | None = None,
) -> FloatArray:
    """Score of each probe against its own entry `mate[j]`, under the same rule."""
    g = gallery[mate]  # (n, K, dim)
    per_photo = np.einsum("nd,nkd->nk", probes, g)
    mean = np.einsum("nd,nd->n", probes, l2_normalise(g.mean(axis=1)))
    if g.shape[1] == 1 or rule == "mean":
        s = per_photo[:, 0] if g.shape[1] == 1 else mean
    elif rule == "max":
        s = per_photo.max(axis=1)
    else:
        s = np.maximum(per_photo.max(axis=1), mean)
    if znorm is not None:
        s = (s - znorm.mu[mate]) / znorm.sd[mate]
    return s.astype(np.float32)


@dataclass(frozen=True, slots=True)
class ConfigScores:
    enrol_photos: int
    probe_shots: int
    size: int
    rule: Rule
    scores: SizeScores
    mated_person: IntArray  # listed-entry index of each mated search (for a person bootstrap)
    mated_people: int
    nonmated_people: int
    znorm: bool = False
    nonmated_who: tuple[str, ...] = ()  # each non-mated person ("extra N" for singles)
    nonmated_entry: tuple[str, ...] = ()  # the listed identity their highest search hit

    def highest_nonmated(self, n: int = 3) -> list[dict[str, Any]]:
        """The top non-mated scores and who they were: a dataset's label errors (one person
        filed under two names) show up here, and can bind a calibration on their own."""
        sc = self.scores
        order = np.argsort(-sc.nonmated_top)[:n]
        return [
            {
                "score": float(sc.nonmated_top[j]),
                "search": self.nonmated_who[j] if self.nonmated_who else "",
                "top_candidate": self.nonmated_entry[j] if self.nonmated_entry else "",
                "calibration_half": bool(sc.nonmated_calib[j]),
            }
            for j in order
        ]


def _groups(rows: Sequence[int], m: int, cap: int) -> list[tuple[int, ...]]:
    return [tuple(rows[j * m : (j + 1) * m]) for j in range(min(cap, len(rows) // m))]


def score_configuration(
    plan: ConfigPlan,
    vectors: FloatArray,
    k: int,
    m: int,
    size: int,
    rule: Rule,
    *,
    extra_nonmated: FloatArray | None = None,
    cohort: FloatArray | None = None,
    seed: int = 0,
    extra_people: Sequence[str] | None = None,
) -> ConfigScores | None:
    """Scores of one configuration; None where the dataset cannot fill the watchlist."""
    listed = plan.watchlist(k, size)
    if listed is None:
        return None
    gallery = entry_templates(vectors, [plan.order[i][:k] for i in listed])
    mated_groups: list[tuple[int, ...]] = []
    mated_pos: list[int] = []
    capable = set(plan.mated_capable)
    for pos, ident in enumerate(listed):
        if ident in capable:
            for g in _groups(plan.order[ident][plan.k_max :], m, plan.cap):
                mated_groups.append(g)
                mated_pos.append(pos)
    on_list = set(listed)
    non_groups: list[tuple[int, ...]] = []
    non_calib: list[bool] = []
    non_people = 0
    who: list[str] = []
    for ident, rows in plan.order.items():
        if ident in on_list or len(rows) < m:
            continue
        # Every disjoint M-group, as the single-image protocol uses every image: the policy
        # FPIR needs all the non-mated searches the dataset has.
        gs = _groups(rows, m, len(rows))
        non_people += 1
        non_groups.extend(gs)
        who.extend([ident] * len(gs))
        non_calib.extend([_stable_half(ident, seed)] * len(gs))
    probes = [fuse_rows(vectors, mated_groups), fuse_rows(vectors, non_groups)]
    if m == 1 and extra_nonmated is not None and extra_nonmated.shape[0]:
        # Single images of people never on any list; `extra_people` names whose they are
        # when one person has several (the development part's people), else one each.
        n_extra = extra_nonmated.shape[0]
        names = [f"extra {j}" for j in range(n_extra)] if extra_people is None else extra_people
        probes.append(extra_nonmated)
        non_calib.extend(_stable_half(n.replace(" ", ""), seed) for n in names)
        who.extend(names)
        non_people += len(set(names))
    allp = np.concatenate(probes, axis=0)
    nm = len(mated_groups)
    if nm == 0 or allp.shape[0] == nm:
        raise DatasetError(
            f"configuration K={k}, M={m}, watchlist {size}: "
            + ("no mated searches" if nm == 0 else "no non-mated searches")
        )
    zn = ZNorm.fit(cohort, gallery, rule) if cohort is not None else None
    top, arg = search(allp, gallery, rule, zn)
    mp = np.array(mated_pos, np.int64)
    ms = mate_scores(allp[:nm], gallery, mp, rule, zn)
    # Ties with another candidate count as rank 1: the mate would be shown.
    rank1 = (arg[:nm] == mp) | (ms >= top[:nm])
    # FPIR per non-mated person (their highest search), see identification.per_person_max.
    person_of = {w: j for j, w in enumerate(dict.fromkeys(who))}
    keep = per_person_max(top[nm:], np.array([person_of[w] for w in who], np.int64))
    sc = SizeScores(size, ms, rank1, top[nm:][keep], np.array(non_calib, bool)[keep])
    who = [who[j] for j in keep]
    arg_non = arg[nm:][keep]
    return ConfigScores(
        k,
        m,
        size,
        rule,
        sc,
        mp,
        len(set(mated_pos)),
        non_people,
        znorm=zn is not None,
        nonmated_who=tuple(who),
        nonmated_entry=tuple(listed[int(a)] for a in arg_non),
    )


def person_bootstrap_tpir(
    cs: ConfigScores, threshold: float, *, boot: int = 500, seed: int = 0
) -> tuple[float, float]:
    """95% interval of TPIR at a fixed threshold, resampling listed *people* (their searches
    are correlated, so an interval over searches would be too narrow)."""
    hit = cs.scores.mated_rank1 & (cs.scores.mated_score >= np.float32(threshold))
    people, inv = np.unique(cs.mated_person, return_inverse=True)
    hits = np.bincount(inv, weights=hit.astype(np.float64), minlength=people.size)
    tries = np.bincount(inv, minlength=people.size).astype(np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, people.size, (boot, people.size))
    vals = hits[idx].sum(axis=1) / tries[idx].sum(axis=1)
    lo, hi = np.quantile(vals, [0.025, 0.975])
    return float(lo), float(hi)


@dataclass(frozen=True, slots=True)
class ConfigResult:
    scores: ConfigScores
    result: SizeResult  # TPIR at FPIR levels, fixed-threshold table, calibration

    @property
    def key(self) -> tuple[int, int, int]:
        s = self.scores
        return (s.enrol_photos, s.probe_shots, s.size)

    def at(self, threshold: float, *, boot: int = 500, seed: int = 0) -> dict[str, Any]:
        """TPIR (person-bootstrap interval) and FPIR (exact interval) at one threshold."""
        from openlfr.eval.stats import rate

        sc = self.scores.scores
        hk = int(sc.hit_counts([threshold])[0])
        fk = int(sc.fpir_counts([threshold])[0])
        lo, hi = person_bootstrap_tpir(self.scores, threshold, boot=boot, seed=seed)
        f = rate(fk, sc.n_nonmated)
        return {
            "threshold": threshold,
            "tpir": hk / sc.n_mated,
            "tpir_ci": [lo, hi],
            "fpir": f.value,
            "fpir_k": fk,
            "fpir_n": sc.n_nonmated,
            "fpir_upper": f.upper,
        }


def evaluate_configuration(
    cs: ConfigScores,
    *,
    thresholds: Sequence[float],
    policy_fpir: float,
    boot: int = 200,
    seed: int = 0,
) -> ConfigResult:
    return ConfigResult(
        cs,
        evaluate_size(
            cs.scores, thresholds=thresholds, policy_fpir=policy_fpir, boot=boot, seed=seed
        ),
    )


def tpir_at_policy(res: ConfigResult, policy_fpir: float) -> tuple[float, float, float] | None:
    """(TPIR, bootstrap lower, upper) at the policy FPIR, or None if not resolvable."""
    for t in res.result.tpir_at_fpir:
        if math.isclose(t.fpir_target, policy_fpir) and t.achievable:
            return t.tpir.value, t.tpir_boot_lower, t.tpir_boot_upper
    return None


def choose_rule(
    candidates: dict[Rule, ConfigResult], policy_fpir: float
) -> tuple[Rule, dict[str, Any]]:
    """The template rule with the highest TPIR at the policy FPIR (ties: the simplest, mean)."""
    table: dict[str, Any] = {}
    best: Rule = "mean"
    best_v = -1.0
    for rule in RULES:
        if rule not in candidates:
            continue
        tp = tpir_at_policy(candidates[rule], policy_fpir)
        table[rule] = (
            {"tpir": tp[0], "tpir_bootstrap_ci": [tp[1], tp[2]]}
            if tp
            else {"tpir": None, "tpir_bootstrap_ci": None}
        )
        if tp and tp[0] > best_v + 1e-12:
            best, best_v = rule, tp[0]
    return best, table


ProgressFn = Callable[[str], None]

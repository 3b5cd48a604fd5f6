"""Open-set 1:N identification in the style of NIST FRTE, and threshold calibration.

Protocol (one enrolment image per watchlist identity):
- Watchlist identities are drawn (seeded) first from identities with two or more usable images,
  so that they have mated searches, then from single-image identities; the lists are nested
  (the 100 are among the 1,000, which are among the 5,000).
- Mated searches: every other usable image of an enrolled identity. A mated search succeeds at
  threshold T when its mate is the top candidate (rank 1) with score >= T; FNIR is the share
  that fail, TPIR = 1 - FNIR.
- Non-mated searches: every usable image of an identity not on the list at that size, plus any
  extra non-mated images (e.g. UTKFace, one person per image). FPIR at T is counted per
  non-mated *person*: the share of people any of whose searches has a top score >= T, i.e.
  who would raise an alert (`per_person_max`); counts, intervals and calibration are all over
  people, who are independent where one person's searches are not.
- Calibration: the threshold is the lowest whose exact upper confidence bound on FPIR, over
  all the non-mated searches, is within the policy FPIR. Placed just above the (k+1)-th highest
  non-mated score with k the most alerts the bound allows, it is a distribution-free tolerance
  limit: for independent searches, the chance that its true FPIR exceeds the policy is at most
  the bound's one-sided alpha (P(Bin(n, p) <= k) <= 2.5%); the several searches of one person
  are not independent, which the cross-check by people tests. Using every search, not half,
  matters at FPIR 1e-3: half
  of LFW's ~10,000 non-mated searches allows no alert at all, so one extreme score (often a
  label error) would set the threshold alone. Cross-check by people: the non-mated identities
  are split in two halves (seeded hash of the identity); each half is calibrated alone and its
  threshold's FPIR measured on the other half, to check that the certificate holds for people
  its calibration never saw.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from openlfr.errors import DatasetError
from openlfr.eval.dataset import Dataset
from openlfr.eval.stats import CONFIDENCE, Rate, rate, upper_bound
from openlfr.vision.contract import FloatArray

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

FPIR_LEVELS = (1e-1, 1e-2, 1e-3, 1e-4)
THRESHOLD_GRID = tuple(round(0.20 + 0.01 * i, 2) for i in range(61))  # 0.20 .. 0.80
DET_GRID = np.round(np.arange(-0.2, 1.0001, 0.0025), 4)
BLOCK = 4096


def top1_search(
    gallery: FloatArray, probes: FloatArray, *, block: int = BLOCK, progress: Any = None
) -> tuple[FloatArray, IntArray]:
    """Best gallery score and index per probe, computed block by block (one BLAS GEMM per
    block of probes) so memory stays at block x gallery whatever the probe count."""
    m = probes.shape[0]
    best = np.empty(m, np.float32)
    arg = np.empty(m, np.int64)
    if gallery.shape[0] == 0:
        raise DatasetError("the watchlist is empty")
    g = np.ascontiguousarray(gallery.T)
    for start in range(0, m, block):
        s = probes[start : start + block] @ g
        arg[start : start + block] = np.argmax(s, axis=1)
        best[start : start + block] = s[np.arange(s.shape[0]), arg[start : start + block]]
        if progress is not None:
            progress(min(block, m - start))
    return best, arg


@dataclass(frozen=True, slots=True)
class SizeScores:
    """Everything the error rates of one watchlist size are computed from (scores only)."""

    size: int
    mated_score: FloatArray  # score of the mate, per mated search
    mated_rank1: BoolArray  # mate was the top candidate
    nonmated_top: FloatArray  # top score per non-mated person (their highest search)
    nonmated_calib: BoolArray  # the person is in the first half of the cross-check

    def fpir_counts(
        self, thresholds: Sequence[float] | F64, mask: BoolArray | None = None
    ) -> IntArray:
        s = np.sort(self.nonmated_top if mask is None else self.nonmated_top[mask])
        return (
            s.size - np.searchsorted(s, np.asarray(thresholds, np.float32), side="left")
        ).astype(np.int64)

    def hit_counts(self, thresholds: Sequence[float] | F64) -> IntArray:
        s = np.sort(self.mated_score[self.mated_rank1])
        return (
            s.size - np.searchsorted(s, np.asarray(thresholds, np.float32), side="left")
        ).astype(np.int64)

    @property
    def n_mated(self) -> int:
        return int(self.mated_score.size)

    @property
    def n_nonmated(self) -> int:
        return int(self.nonmated_top.size)


def per_person_max(top: FloatArray, person: IntArray) -> IntArray:
    """Index of each person's highest-scoring non-mated search, in person order.

    FPIR is counted per person: a person counts as a false alert when any of their searches
    would alert. People are independent of one another; one person's several searches are not
    (LFW has 530 of George W Bush), so exact intervals over searches would be too narrow and
    one much-photographed person could bind a calibration alone. Counting people makes the
    exact binomial interval honest and errs towards more false alerts, not fewer."""
    if top.size == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((-top.astype(np.float64), person))
    p = person[order]
    first = np.ones(order.size, bool)
    first[1:] = p[1:] != p[:-1]
    return order[first].astype(np.int64)


def _stable_half(identity: str, seed: int) -> bool:
    return hashlib.sha256(f"{seed}:{identity}".encode()).digest()[0] % 2 == 0


@dataclass(frozen=True, slots=True)
class Gallery:
    order: tuple[str, ...]  # enrolment order of identities (nested watchlists)
    enrol_row: dict[str, int]  # identity -> row of its enrolment image
    usable: dict[str, list[int]]  # identity -> rows of its usable images


def plan_gallery(dataset: Dataset, ok: BoolArray, seed: int) -> Gallery:
    rng = np.random.default_rng(seed)
    usable = {i: [r for r in rows if ok[r]] for i, rows in dataset.identities.items()}
    usable = {i: rows for i, rows in usable.items() if rows}
    multi = sorted(i for i, r in usable.items() if len(r) >= 2)
    single = sorted(i for i, r in usable.items() if len(r) == 1)
    if not multi:
        raise DatasetError(
            "no identity has two usable images, so there are no mated searches and FNIR cannot be "
            "measured (identities with one image can only serve as non-mated searches)",
            source=str(dataset.root),
        )
    order = [multi[i] for i in rng.permutation(len(multi))] + [
        single[i] for i in rng.permutation(len(single))
    ]
    enrol = {i: usable[i][int(rng.integers(len(usable[i])))] for i in order}
    return Gallery(tuple(order), enrol, usable)


def score_size(
    size: int,
    gallery: Gallery,
    vectors: FloatArray,
    extra_nonmated: FloatArray | None = None,
    *,
    seed: int = 0,
    progress: Any = None,
    extra_people: Sequence[str] | None = None,
) -> SizeScores:
    if size > len(gallery.order):
        raise DatasetError(
            f"watchlist size {size} is larger than the {len(gallery.order)} identities "
            "with a usable image (in the test part, when the people are split: lower "
            "--dev-share or the size)"
        )
    enrolled = gallery.order[:size]
    g_rows = np.array([gallery.enrol_row[i] for i in enrolled], np.int64)
    mated_rows: list[int] = []
    mated_pos: list[int] = []
    for pos, ident in enumerate(enrolled):
        for r in gallery.usable[ident]:
            if r != gallery.enrol_row[ident]:
                mated_rows.append(r)
                mated_pos.append(pos)
    non_rows: list[int] = []
    non_calib: list[bool] = []
    non_person: list[int] = []
    for p, ident in enumerate(gallery.order[size:]):
        half = _stable_half(ident, seed)
        for r in gallery.usable[ident]:
            non_rows.append(r)
            non_calib.append(half)
            non_person.append(p)
    gal = vectors[g_rows]
    probes = [vectors[np.array(mated_rows, np.int64)], vectors[np.array(non_rows, np.int64)]]
    if extra_nonmated is not None and extra_nonmated.shape[0]:
        probes.append(extra_nonmated)
        # Extra images are one person each unless `extra_people` names them (the development
        # part's people, several images each): the halves and FPIR are by person.
        n_extra = extra_nonmated.shape[0]
        names = [f"extra{j}" for j in range(n_extra)] if extra_people is None else extra_people
        non_calib.extend(_stable_half(n.replace(" ", ""), seed) for n in names)
        ids = {n: len(gallery.order) + j for j, n in enumerate(dict.fromkeys(names))}
        non_person.extend(ids[n] for n in names)
    allp = (
        np.concatenate(probes, axis=0)
        if sum(p.shape[0] for p in probes)
        else np.zeros((0, gal.shape[1]), np.float32)
    )
    if allp.shape[0] == 0:
        raise DatasetError(f"watchlist size {size}: no searches to run")
    top, arg = top1_search(gal, allp, progress=progress)
    nm = len(mated_rows)
    mp = np.array(mated_pos, np.int64)
    mated_score = (
        np.einsum("ij,ij->i", allp[:nm], gal[mp]).astype(np.float32)
        if nm
        else np.zeros(0, np.float32)
    )
    # Ties with another candidate count as rank 1: the mate would be shown.
    rank1 = (arg[:nm] == mp) | (mated_score >= top[:nm])
    keep = per_person_max(top[nm:], np.array(non_person, np.int64))
    nonmated_top = top[nm:][keep]
    if nonmated_top.size == 0:
        raise DatasetError(
            f"watchlist size {size}: every identity is enrolled, so there are no "
            "non-mated searches; "
            "use a smaller size or add non-mated images"
        )
    return SizeScores(size, mated_score, rank1, nonmated_top, np.array(non_calib, bool)[keep])


@dataclass(frozen=True, slots=True)
class TpirAtFpir:
    fpir_target: float
    threshold: float
    fpir: Rate
    tpir: Rate
    tpir_boot_lower: float
    tpir_boot_upper: float
    achievable: bool  # enough non-mated searches to resolve this FPIR level

    def to_dict(self) -> dict[str, Any]:
        return {
            "fpir_target": self.fpir_target,
            "threshold": self.threshold,
            "fpir": self.fpir.to_dict(),
            "tpir": self.tpir.to_dict(),
            "tpir_bootstrap_ci": [self.tpir_boot_lower, self.tpir_boot_upper],
            "achievable": self.achievable,
        }


def threshold_for_fpir(nonmated_top: FloatArray, target: float) -> float:
    """Lowest threshold whose measured FPIR is <= target (point estimate)."""
    s = np.sort(nonmated_top)[::-1]
    k = math.floor(target * s.size + 1e-9)
    if k >= s.size:
        return float(s[-1])
    return float(np.nextafter(s[k], np.float32(np.inf)))


def tpir_at_fpir(sc: SizeScores, target: float, *, boot: int = 200, seed: int = 0) -> TpirAtFpir:
    t = threshold_for_fpir(sc.nonmated_top, target)
    fk = int(sc.fpir_counts([t])[0])
    hk = int(sc.hit_counts([t])[0])
    # The interval must also reflect the threshold's own uncertainty, which an exact binomial
    # interval on TPIR alone ignores; a bootstrap over both search sets captures both.
    rng = np.random.default_rng(seed)
    hits = np.where(sc.mated_rank1, sc.mated_score, -np.inf).astype(np.float64)
    vals = np.empty(boot)
    for b in range(boot):
        nm = sc.nonmated_top[rng.integers(0, sc.n_nonmated, sc.n_nonmated)]
        tb = threshold_for_fpir(nm, target)
        hb = hits[rng.integers(0, sc.n_mated, sc.n_mated)] if sc.n_mated else hits
        vals[b] = float(np.mean(hb >= tb)) if hb.size else math.nan
    lo, hi = np.nanquantile(vals, [0.025, 0.975]) if sc.n_mated else (math.nan, math.nan)
    return TpirAtFpir(
        target,
        t,
        rate(fk, sc.n_nonmated),
        rate(hk, sc.n_mated),
        float(lo),
        float(hi),
        achievable=target * sc.n_nonmated >= 1.0,
    )


@dataclass(frozen=True, slots=True)
class SplitCheck:
    """One half of the non-mated people calibrated alone, measured on the other half."""

    threshold: float | None
    fit: Rate | None  # FPIR on the half it was calibrated on
    heldout: Rate | None  # FPIR on the other half

    @property
    def within_interval(self) -> bool | None:
        if self.fit is None or self.heldout is None:
            return None
        return self.fit.lower <= self.heldout.value <= self.fit.upper

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "fit_fpir": self.fit.to_dict() if self.fit else None,
            "heldout_fpir": self.heldout.to_dict() if self.heldout else None,
            "heldout_within_interval": self.within_interval,
        }


@dataclass(frozen=True, slots=True)
class Calibration:
    size: int
    policy_fpir: float
    threshold: float | None  # None: too few non-mated searches to certify the policy
    calib: Rate | None  # FPIR over all non-mated searches at the threshold
    splits: tuple[SplitCheck, ...]  # the cross-check by halves of the non-mated people
    min_searches_needed: int  # with zero alerts, to certify the policy at all

    @property
    def heldout(self) -> Rate | None:
        """The higher held-out FPIR of the two cross-checks (None if neither half certifies)."""
        rates = [c.heldout for c in self.splits if c.heldout is not None]
        return max(rates, key=lambda r: r.value) if rates else None

    @property
    def heldout_within_interval(self) -> bool | None:
        checks = [c.within_interval for c in self.splits if c.within_interval is not None]
        return all(checks) if checks else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "watchlist_size": self.size,
            "policy_fpir": self.policy_fpir,
            "threshold": self.threshold,
            "calibrated_on": "all non-mated searches",
            "calibration_fpir": self.calib.to_dict() if self.calib else None,
            "heldout_fpir": self.heldout.to_dict() if self.heldout else None,
            "heldout_within_interval": self.heldout_within_interval,
            "split_checks": [c.to_dict() for c in self.splits],
            "min_searches_needed": self.min_searches_needed,
        }


def min_searches_for(policy_fpir: float, confidence: float = CONFIDENCE) -> int:
    # Zero alerts in n searches: upper bound 1 - (alpha/2)^(1/n) <= policy.
    return math.ceil(math.log((1 - confidence) / 2) / math.log(1 - policy_fpir))


def calibrate_threshold(top: FloatArray, policy_fpir: float, *, decimals: int = 4) -> float | None:
    """Lowest threshold (rounded up to `decimals`) whose exact upper FPIR bound <= policy."""
    s = np.sort(top.astype(np.float64))[::-1]
    n = s.size
    best_k = -1
    for k in range(n):
        if upper_bound(k, n) <= policy_fpir:
            best_k = k
        else:
            break
    if best_k < 0:
        return None
    step = 10.0**decimals
    # Strictly above the (k+1)-th highest score, so at most k searches alert.
    t = math.floor(float(s[best_k]) * step + 1) / step if best_k < n else -1.0
    return t


def _split_check(top: FloatArray, fit: BoolArray, policy_fpir: float) -> SplitCheck:
    t = calibrate_threshold(top[fit], policy_fpir)
    if t is None:
        return SplitCheck(None, None, None)
    f, h = top[fit], top[~fit]
    return SplitCheck(t, rate(int(np.sum(f >= t)), f.size), rate(int(np.sum(h >= t)), h.size))


def calibrate(sc: SizeScores, policy_fpir: float) -> Calibration:
    top = sc.nonmated_top
    t = calibrate_threshold(top, policy_fpir)
    need = min_searches_for(policy_fpir)
    splits = tuple(
        _split_check(top, m, policy_fpir) for m in (sc.nonmated_calib, ~sc.nonmated_calib)
    )
    if t is None:
        return Calibration(sc.size, policy_fpir, None, None, splits, need)
    return Calibration(sc.size, policy_fpir, t, rate(int(np.sum(top >= t)), top.size), splits, need)


@dataclass(frozen=True, slots=True)
class SizeResult:
    size: int
    n_mated: int
    n_nonmated: int
    rank1_rate: Rate
    tpir_at_fpir: tuple[TpirAtFpir, ...]
    fpir_table: tuple[tuple[float, Rate, Rate], ...]  # threshold, FPIR, FNIR
    calibration: Calibration
    det_fpir: F64 = field(repr=False)
    det_fnir: F64 = field(repr=False)

    def fpir_at(self, threshold: float) -> Rate | None:
        return next((f for t, f, _ in self.fpir_table if abs(t - threshold) < 1e-9), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "watchlist_size": self.size,
            "mated_searches": self.n_mated,
            "nonmated_searches": self.n_nonmated,
            "rank1_identification_rate": self.rank1_rate.to_dict(),
            "tpir_at_fpir": [x.to_dict() for x in self.tpir_at_fpir],
            "by_threshold": [
                {"threshold": t, "fpir": f.to_dict(), "fnir": n.to_dict()}
                for t, f, n in self.fpir_table
            ],
            "calibration": self.calibration.to_dict(),
        }


def evaluate_size(
    sc: SizeScores,
    *,
    thresholds: Sequence[float],
    policy_fpir: float,
    fpir_levels: Sequence[float] = FPIR_LEVELS,
    boot: int = 200,
    seed: int = 0,
) -> SizeResult:
    ths = sorted(set(round(float(t), 4) for t in thresholds))
    fk = sc.fpir_counts(ths)
    hk = sc.hit_counts(ths)
    table = tuple(
        (t, rate(int(f), sc.n_nonmated), rate(sc.n_mated - int(h), sc.n_mated))
        for t, f, h in zip(ths, fk, hk, strict=True)
    )
    det_f = sc.fpir_counts(DET_GRID) / sc.n_nonmated
    det_n = 1.0 - sc.hit_counts(DET_GRID) / max(sc.n_mated, 1)
    return SizeResult(
        sc.size,
        sc.n_mated,
        sc.n_nonmated,
        rate(int(sc.mated_rank1.sum()), sc.n_mated),
        tuple(tpir_at_fpir(sc, f, boot=boot, seed=seed) for f in fpir_levels),
        table,
        calibrate(sc, policy_fpir),
        det_f.astype(np.float64),
        det_n.astype(np.float64),
    )


def fpir_curve_counts(sc: SizeScores, thresholds: Sequence[float]) -> list[tuple[float, Rate]]:
    ks = sc.fpir_counts(thresholds)
    return [(float(t), rate(int(k), sc.n_nonmated)) for t, k in zip(thresholds, ks, strict=True)]

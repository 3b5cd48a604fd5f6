"""The model approval record: the part of an evaluation report that governance relies on.

`openlfr eval` writes it inside its JSON report; the governance core reads it to refuse models
without a current evaluation, to enforce the validated threshold floor, and to compute the
expected number of false alerts before a deployment is authorised (requirements C.9-C.11).
Plain dataclasses: no web framework, no database.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import asdict, dataclass, field
from typing import Any

REPORT_KIND = "openlfr.model-evaluation"


@dataclass(frozen=True, slots=True)
class FpirPoint:
    watchlist_size: int
    threshold: float
    fpir: float  # point estimate: share of non-mated searches that returned any candidate
    fpir_upper: float  # upper confidence bound (what calibration and projections use)


@dataclass(frozen=True, slots=True)
class TpirPoint:
    """Share of mated searches found at a threshold, for one enrolment/probe configuration."""

    enrol_photos: int  # photos per enrolled entry (combined into one template)
    probe_shots: int  # fused probe shots
    threshold: float
    tpir: float  # point estimate
    tpir_lower: float  # lower confidence bound (what projections of expected hits use)
    watchlist_size: int = 0  # list size it was measured at (0: not stated)


@dataclass(frozen=True, slots=True)
class ModelApproval:
    contract_id: str
    created_at: str  # ISO 8601, UTC
    validated_min_threshold: float
    default_threshold: float
    policy_fpir: float
    fpir_curve: tuple[FpirPoint, ...] = field(default=())
    dataset: str = ""
    # TPIR by (enrolment photos, probe shots) per threshold; empty in approvals recorded
    # before it was measured (governance then reports expected hits as not measured).
    tpir_curve: tuple[TpirPoint, ...] = field(default=())

    def fpir_at(self, watchlist_size: int, threshold: float) -> float:
        """Upper-bound FPIR at a threshold and watchlist size, interpolated from the curve.

        Between measured sizes FPIR is interpolated linearly in size (it grows roughly in
        proportion to the list); beyond the largest it is extrapolated in proportion, which
        errs towards more expected false alerts rather than fewer.
        """
        if not self.fpir_curve:
            raise ValueError(f"model {self.contract_id} has no FPIR curve")
        sizes = sorted({p.watchlist_size for p in self.fpir_curve})

        def at_size(n: int) -> float:
            pts = sorted(
                (p for p in self.fpir_curve if p.watchlist_size == n), key=lambda p: p.threshold
            )
            ths = [p.threshold for p in pts]
            i = bisect.bisect_left(ths, threshold)
            if i <= 0:
                return pts[0].fpir_upper if threshold >= ths[0] else 1.0
            if i >= len(pts):
                return pts[-1].fpir_upper
            a, b = pts[i - 1], pts[i]
            w = (threshold - a.threshold) / (b.threshold - a.threshold or 1.0)
            return a.fpir_upper + w * (b.fpir_upper - a.fpir_upper)

        if watchlist_size <= sizes[0]:
            return at_size(sizes[0]) * watchlist_size / sizes[0]
        if watchlist_size >= sizes[-1]:
            return min(1.0, at_size(sizes[-1]) * watchlist_size / sizes[-1])
        j = bisect.bisect_left(sizes, watchlist_size)
        lo, hi = sizes[j - 1], sizes[j]
        w = (watchlist_size - lo) / (hi - lo)
        return at_size(lo) + w * (at_size(hi) - at_size(lo))

    def expected_false_alerts(
        self, faces_expected: int, watchlist_size: int, threshold: float
    ) -> float:
        return faces_expected * self.fpir_at(watchlist_size, threshold)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["fpir_curve"] = [asdict(p) for p in self.fpir_curve]
        d["tpir_curve"] = [asdict(p) for p in self.tpir_curve]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelApproval:
        return cls(
            contract_id=d["contract_id"],
            created_at=d["created_at"],
            validated_min_threshold=float(d["validated_min_threshold"]),
            default_threshold=float(d["default_threshold"]),
            policy_fpir=float(d["policy_fpir"]),
            fpir_curve=tuple(FpirPoint(**p) for p in d.get("fpir_curve", [])),
            dataset=d.get("dataset", ""),
            tpir_curve=tuple(TpirPoint(**p) for p in d.get("tpir_curve", [])),
        )

    @classmethod
    def from_report_json(cls, text: str) -> ModelApproval:
        """Read the `approval` section of a full evaluation report (JSON)."""
        raw = json.loads(text)
        if raw.get("kind") != REPORT_KIND:
            raise ValueError("not an OpenLFR model evaluation report")
        return cls.from_dict(raw["approval"])

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
# Shots a live track fuses at most (pipeline best-shot K): the floors of 1..3 shots apply.
PROBE_SHOTS = 3
# Whose measurement an approval rests on: "local" (the site ran `openlfr eval report` on data
# it chose) or "supplier" (the report shipped in the package, `openlfr model approve
# --shipped`): enough for a pilot, with the recommendation to re-run on local data.
LOCAL, SUPPLIER = "local", "supplier"


@dataclass(frozen=True, slots=True)
class FpirPoint:
    watchlist_size: int
    threshold: float
    fpir: float  # point estimate: share of non-mated searches that returned any candidate
    fpir_upper: float  # upper confidence bound (what calibration and projections use)


@dataclass(frozen=True, slots=True)
class TpirPoint:
    """Share of listed people found at a threshold, for K enrolment photos and M probe shots."""

    enrol_photos: int
    probe_shots: int
    watchlist_size: int
    threshold: float
    tpir: float  # point estimate: mated searches with the mate at rank 1 and score >= threshold
    tpir_lower: float = 0.0  # lower 95% bound (bootstrap over listed people)


@dataclass(frozen=True, slots=True)
class ConfigurationFloor:
    """Certified fair floor for one deployment configuration (K photos, M shots, list size)."""

    enrol_photos: int
    probe_shots: int
    watchlist_size: int
    threshold: float | None  # None: no threshold could be certified for it
    bound_by: str = ""


@dataclass(frozen=True, slots=True)
class ModelApproval:
    contract_id: str
    created_at: str  # ISO 8601, UTC
    validated_min_threshold: float
    default_threshold: float
    policy_fpir: float
    fpir_curve: tuple[FpirPoint, ...] = field(default=())
    dataset: str = ""
    # Added with multi-photo enrolment; approvals recorded before carry none of these.
    tpir_curve: tuple[TpirPoint, ...] = field(default=())
    configuration_floors: tuple[ConfigurationFloor, ...] = field(default=())
    template_rule: str = "max"  # how an entry's several photos are combined (see evaluation)
    score_normalisation: str = "none"  # "none" or "znorm" (adopted only on measured evidence)
    # The effect-size fairness floor alone (None in approvals recorded before it was kept
    # apart): with the FPIR calibration for a list's size it makes the deployed threshold.
    fairness_floor: float | None = None
    # TPIR of camera-like probes (M degraded shots of one photo, eval/camera_like.py): what
    # expected hits use where present; `tpir_curve` (M different photos) is kept beside it.
    camera_tpir_curve: tuple[TpirPoint, ...] = field(default=())
    evidence: str = LOCAL  # LOCAL or SUPPLIER (see above)

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

    def expected_tpir(
        self,
        enrol_photos: int,
        probe_shots: int,
        threshold: float,
        *,
        watchlist_size: int | None = None,
        lower: bool = False,
        camera_like: bool = True,
    ) -> float | None:
        """Expected share of listed people found (TPIR) for an entry with `enrol_photos` usable
        photos, probed with `probe_shots` fused shots, at `threshold`.

        Uses the measured configuration with the most photos and shots not above the asked
        ones (more photos do not lower TPIR, so this errs low), at the smallest measured
        watchlist size at least `watchlist_size` (default: the largest measured; larger lists
        lower TPIR a little), interpolated linearly in threshold (the curve spans 0.30-1.00;
        outside it the nearest end is used). `lower`: the lower 95% bound instead of the point
        estimate. `camera_like`: read the camera-like curve where the approval has one (shots
        of one pass, not different photos; see `tpir_curve_used`). None when the approval
        carries no TPIR curve (recorded before this existed), or `enrol_photos`/`probe_shots`
        < 1, or no measured configuration is at or below the asked one. For a whole list,
        average this over entries.
        """
        curve = (
            self.camera_tpir_curve
            if self.tpir_curve_used(camera_like) == "camera_like"
            else self.tpir_curve
        )
        if not curve or enrol_photos < 1 or probe_shots < 1:
            return None
        below = [
            p for p in curve if p.enrol_photos <= enrol_photos and p.probe_shots <= probe_shots
        ]
        if not below:
            return None
        k = max(p.enrol_photos for p in below)
        m = max(p.probe_shots for p in below if p.enrol_photos == k)
        pts = [p for p in below if p.enrol_photos == k and p.probe_shots == m]
        sizes = sorted({p.watchlist_size for p in pts})
        size = sizes[-1]
        if watchlist_size is not None:
            size = next((s for s in sizes if s >= watchlist_size), sizes[-1])
        return _interp([p for p in pts if p.watchlist_size == size], threshold, lower)

    def tpir_curve_used(self, camera_like: bool = True) -> str:
        """Which curve `expected_tpir` reads: "camera_like" or "different_photos"."""
        return "camera_like" if camera_like and self.camera_tpir_curve else "different_photos"

    def floor_for(
        self, enrol_photos: int, probe_shots: int, watchlist_size: int
    ) -> ConfigurationFloor | None:
        """The certified floor of the measured configuration nearest below the asked one
        (fewer photos/shots is the conservative side), at the smallest measured list size
        at least as large; None where nothing measured covers it."""
        pts = [
            f
            for f in self.configuration_floors
            if f.enrol_photos <= enrol_photos
            and f.probe_shots <= probe_shots
            and f.watchlist_size >= watchlist_size
        ]
        if not pts:
            return None
        return max(pts, key=lambda f: (f.enrol_photos, f.probe_shots, -f.watchlist_size))

    def deployment_floor(
        self, watchlist_size: int, max_photos: int = 1, probe_shots: int = PROBE_SHOTS
    ) -> tuple[float, str]:
        """The lowest threshold a deployment may run without a second authorisation, and what
        bound it: the highest certified floor (`floor_for`) of the configurations its list can
        hold (1 to `max_photos` photos per entry, 1 to `probe_shots` fused shots) at its size.
        Each certified floor is the larger of the FPIR calibration for that size and photo
        count and the effect-size fairness floor. Approvals recorded before configuration
        floors existed, or lists larger than any measured, fall back to the validated minimum.
        """
        floors = [
            f
            for k in range(1, max(1, max_photos) + 1)
            for m in range(1, max(1, probe_shots) + 1)
            if (f := self.floor_for(k, m, watchlist_size)) is not None and f.threshold is not None
        ]
        if not floors:
            return self.validated_min_threshold, "the model's validated minimum threshold"
        best = max(floors, key=lambda f: f.threshold or 0.0)
        assert best.threshold is not None
        return best.threshold, (
            f"{best.bound_by or 'certified floor'} (K={best.enrol_photos}, M={best.probe_shots}, "
            f"list of {best.watchlist_size:,})"
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {**d, **{name: list(d[name]) for name in _POINT_LISTS}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelApproval:
        # A list missing from an older approval reads as empty.
        points: dict[str, Any] = {
            name: tuple(point(**p) for p in d.get(name, [])) for name, point in _POINT_LISTS.items()
        }
        return cls(
            contract_id=d["contract_id"],
            created_at=d["created_at"],
            validated_min_threshold=float(d["validated_min_threshold"]),
            default_threshold=float(d["default_threshold"]),
            policy_fpir=float(d["policy_fpir"]),
            dataset=d.get("dataset", ""),
            template_rule=d.get("template_rule", "max"),
            score_normalisation=d.get("score_normalisation", "none"),
            fairness_floor=(
                None if d.get("fairness_floor") is None else float(d["fairness_floor"])
            ),
            evidence=d.get("evidence", LOCAL),
            **points,
        )

    @classmethod
    def from_report_json(cls, text: str) -> ModelApproval:
        """Read the `approval` section of a full evaluation report (JSON)."""
        raw = json.loads(text)
        if raw.get("kind") != REPORT_KIND:
            raise ValueError("not an OpenLFR model evaluation report")
        return cls.from_dict(raw["approval"])


# The approval's point lists with the type of their points: tuples here, lists in its JSON.
_POINT_LISTS: dict[str, type[FpirPoint | TpirPoint | ConfigurationFloor]] = {
    "fpir_curve": FpirPoint,
    "tpir_curve": TpirPoint,
    "configuration_floors": ConfigurationFloor,
    "camera_tpir_curve": TpirPoint,
}


def _interp(pts: list[TpirPoint], threshold: float, lower: bool) -> float:
    pts = sorted(pts, key=lambda p: p.threshold)
    val = [p.tpir_lower if lower else p.tpir for p in pts]
    ths = [p.threshold for p in pts]
    if threshold <= ths[0]:
        return val[0]
    if threshold >= ths[-1]:
        return val[-1]
    i = bisect.bisect_left(ths, threshold)
    a, b = pts[i - 1], pts[i]
    w = (threshold - a.threshold) / (b.threshold - a.threshold or 1.0)
    return val[i - 1] + w * (val[i] - val[i - 1])

"""Operating thresholds from a model's calibration: no fixed default threshold.

A threshold means nothing without the watchlist size it runs at: FPIR grows roughly in
proportion to the list. So `openlfr watch` derives its threshold from the FPIR curve (upper 95%
bounds, per measured watchlist size) of the model's approval, for the list's actual size and a
policy FPIR, and never goes below the approval's validated (fair) minimum.

Where the curve comes from: the `approval` section of `openlfr eval report` for the engine's
exact contract. OpenLFR ships the one for its default engine (SFace) as package data,
`eval/calibrations/<model>.json`: derived numbers only (thresholds and rates), no image or
template. Regenerate it with

    openlfr eval report --lfw ../shared/data/lfw/images --utkface ../shared/data/utkface/images \\
        --lfw-labels ../shared/data/lfw/labels --out out/sface
    openlfr eval export-calibration --report out/sface.json

A packaged file whose contract differs from the running engine's is refused, never used.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from openlfr.errors import ModelError
from openlfr.eval.approval import REPORT_KIND, ModelApproval
from openlfr.vision.contract import EmbeddingContract

PACKAGE_DIR = "calibrations"
# The full evaluation report of the default model, as `openlfr eval report` wrote it
# (provenance and digests included), for `openlfr model approve --shipped`.
SHIPPED_DIR = "reports"
DEFAULT_MODEL_ID = "opencv-zoo/sface"


def calibration_filename(model_id: str) -> str:
    return model_id.replace("/", "_").replace("@", "_") + ".json"


def packaged_path(model_id: str) -> Path:
    return Path(str(resources.files("openlfr.eval").joinpath(PACKAGE_DIR))) / (
        calibration_filename(model_id)
    )


def shipped_report_path(model_id: str = DEFAULT_MODEL_ID) -> Path:
    return Path(str(resources.files("openlfr.eval").joinpath(SHIPPED_DIR))) / (
        calibration_filename(model_id)
    )


def load_approval_file(path: Path) -> ModelApproval:
    """An approval JSON, or a full evaluation report (its `approval` section)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        if raw.get("kind") == REPORT_KIND:
            raw = raw["approval"]
        return ModelApproval.from_dict(raw)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelError(f"{path}: not a usable calibration ({exc})") from exc


def approval_for(contract: EmbeddingContract, path: Path | None = None) -> ModelApproval:
    """The calibration for this exact contract: from `path`, else the packaged one."""
    p = Path(path) if path is not None else packaged_path(contract.model_id)
    if not p.exists():
        raise ModelError(
            f"no calibration for model {contract.model_id} (looked for {p}); "
            "pass --threshold, or --calibration with an `openlfr eval report` JSON"
        )
    appr = load_approval_file(p)
    if appr.contract_id != contract.id:
        raise ModelError(
            f"calibration {p} is for {appr.contract_id}, not the running {contract.id}: "
            "re-run the evaluation for this model"
        )
    if not appr.fpir_curve:
        raise ModelError(f"calibration {p} has no FPIR curve")
    return appr


@dataclass(frozen=True, slots=True)
class DerivedThreshold:
    threshold: float
    policy_threshold: float  # lowest meeting the policy FPIR at this size
    validated_min: float  # the approval's fair floor
    fpir_upper: float  # at `threshold`, this size
    watchlist_size: int
    policy_fpir: float

    floor_kind: str = "the model's validated minimum threshold"

    @property
    def bound_by(self) -> str:
        if self.validated_min > self.policy_threshold:
            return self.floor_kind
        return (
            f"the FPIR calibration: policy {self.policy_fpir:g} at {self.watchlist_size:,} entries"
        )

    @property
    def false_alerts_per_1000(self) -> float:
        return 1000.0 * self.fpir_upper


def max_calibrated_size(appr: ModelApproval) -> int:
    return max(p.watchlist_size for p in appr.fpir_curve)


def derive_threshold(
    appr: ModelApproval,
    watchlist_size: int,
    policy_fpir: float = 1e-3,
    *,
    step: float = 0.0025,
    max_photos: int = 1,
) -> DerivedThreshold:
    """Lowest threshold whose FPIR upper bound at this list size meets the policy, and at least
    the validated minimum. Refuses a list larger than the calibration measured (extrapolating
    would be a guess) and a policy the measured curve cannot meet."""
    top = max_calibrated_size(appr)
    if watchlist_size > top:
        raise ModelError(
            f"the watchlist has {watchlist_size:,} entries but the calibration covers at most "
            f"{top:,}: set --threshold explicitly or re-run the evaluation at that size"
        )
    ths = [p.threshold for p in appr.fpir_curve]
    lo, hi = min(ths), max(ths)
    t_policy = None
    for t in np.arange(lo, hi + step / 2, step):
        if appr.fpir_at(watchlist_size, float(t)) <= policy_fpir:
            t_policy = round(float(t), 4)
            break
    if t_policy is None:
        raise ModelError(
            f"no threshold up to {hi} meets FPIR {policy_fpir:g} at {watchlist_size:,} entries "
            "in the calibration: set --threshold explicitly"
        )
    # One threshold everywhere: at the approval's own policy the certified floor governance
    # enforces for this list (the larger of the FPIR calibration for its size and photo count
    # and the effect-size floor); at another policy the FPIR curve for this size with the
    # fairness floor. Approvals recorded before either existed use their validated minimum.
    if appr.configuration_floors and math.isclose(policy_fpir, appr.policy_fpir):
        floor, kind = appr.deployment_floor(watchlist_size, max_photos)
        kind = f"the certified floor for this list: {kind}"
    elif appr.fairness_floor is not None:
        floor, kind = appr.fairness_floor, "the fairness floor (effect size)"
    else:
        floor, kind = appr.validated_min_threshold, "the model's validated minimum threshold"
    t = max(t_policy, floor)
    return DerivedThreshold(
        t,
        t_policy,
        floor,
        appr.fpir_at(watchlist_size, t),
        watchlist_size,
        policy_fpir,
        kind,
    )

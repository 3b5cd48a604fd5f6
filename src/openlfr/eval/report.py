"""The model evaluation report: one self-contained HTML page (plots embedded) plus JSON.

The JSON is what the governance core reads: `kind` says what it is, `approval` carries the
validated threshold floor and the FPIR curve (see `approval.py`). A report that lacks either
the identification part or the demographic part is written with kind
`openlfr.evaluation-partial` and no approval, so it can never pass for a full evaluation.
"""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from openlfr import __version__
from openlfr.dicts import pick
from openlfr.eval.approval import (
    REPORT_KIND,
    ConfigurationFloor,
    FpirPoint,
    ModelApproval,
    TpirPoint,
)
from openlfr.eval.config_runner import ConfigurationPart
from openlfr.eval.demographics import DemographicResult
from openlfr.eval.fairness import DEFAULT_FACTOR
from openlfr.eval.fairness_report import dataset_name
from openlfr.eval.identification import SizeResult
from openlfr.eval.stats import rate

PARTIAL_KIND = "openlfr.evaluation-partial"


@dataclass
class IdentificationPart:
    dataset: str
    dataset_summary: dict[str, Any]
    extra_nonmated: str | None
    failures: dict[str, int]
    failure_examples: list[dict[str, str]]
    seed: int
    policy_fpir: float
    policy_size: int
    results: list[SizeResult]
    curves: dict[int, list[tuple[float, int, int]]]  # size -> (threshold, k, n) on THRESHOLD_GRID
    seconds: dict[str, float] = field(default_factory=dict)
    configurations: ConfigurationPart | None = None
    configurations_unavailable: str = ""

    def calibrated_threshold(self) -> float | None:
        at_size = (r.calibration.threshold for r in self.results if r.size == self.policy_size)
        return next(at_size, None)

    def to_dict(self) -> dict[str, Any]:
        return {
            **pick(self, "dataset", "dataset_summary", "extra_nonmated"),
            "failed_images": self.failures,
            "failed_examples": self.failure_examples,
            "seed": self.seed,
            "protocol": (
                "one enrolment image per watchlist identity; mated searches = other images of "
                "enrolled identities, counted as hits at rank 1 with score >= T; non-mated "
                "searches = images of identities not enrolled at that size (plus extra non-mated "
                "images); intervals: exact Clopper-Pearson 95% unless marked bootstrap"
            ),
            "policy_fpir": self.policy_fpir,
            "policy_watchlist_size": self.policy_size,
            "calibrated_threshold": self.calibrated_threshold(),
            "sizes": [r.to_dict() for r in self.results],
            "seconds": self.seconds,
            "configurations": self.configurations.to_dict() if self.configurations else None,
            "configurations_unavailable": self.configurations_unavailable,
        }


def build_approval(
    contract_id: str,
    ident: IdentificationPart,
    demo: Sequence[DemographicResult],
    engine_default: float,
    created_at: str,
    provenance: str,
) -> tuple[ModelApproval | None, str]:
    cal = ident.calibrated_threshold()
    if cal is None:
        return None, (
            f"the policy FPIR {ident.policy_fpir:g} could not be certified at watchlist size "
            f"{ident.policy_size} with the non-mated searches available (see calibration)"
        )
    floors = [d.floor_threshold for d in demo]
    if any(f is None for f in floors):
        return None, "a demographic group differs significantly at every candidate threshold"
    validated = max([cal, *[f for f in floors if f is not None]])
    points: list[FpirPoint] = []
    for size, pts in sorted(ident.curves.items()):
        for t, k, n in pts:
            r = rate(k, n)
            points.append(FpirPoint(size, t, r.value, r.upper))
    cp = ident.configurations
    approval = ModelApproval(
        contract_id=contract_id,
        created_at=created_at,
        validated_min_threshold=round(validated, 4),
        default_threshold=round(max(engine_default, validated), 4),
        policy_fpir=ident.policy_fpir,
        fpir_curve=tuple(points),
        dataset=provenance,
        tpir_curve=tuple(TpirPoint(**p) for p in cp.tpir_curve) if cp else (),
        configuration_floors=tuple(
            ConfigurationFloor(
                it["enrol_photos"],
                it["probe_shots"],
                it["watchlist_size"],
                None if it["threshold"] is None else round(it["threshold"], 4),
                it["bound_by"],
            )
            for it in (cp.items if cp else [])
        ),
        template_rule=cp.rule if cp else "max",
        score_normalisation="znorm" if cp and cp.znorm.get("adopted") else "none",
        fairness_floor=round(max(f for f in floors if f is not None), 4) if floors else None,
    )
    return approval, ""


def build_report(
    *,
    contract: dict[str, Any],
    engine_name: str,
    engine_default: float,
    ident: IdentificationPart | None,
    demo: Sequence[DemographicResult],
    provenance: dict[str, str],
) -> dict[str, Any]:
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    report: dict[str, Any] = {
        "kind": PARTIAL_KIND,
        "created_at": created,
        "openlfr_version": __version__,
        "platform": platform.platform(),
        "engine": engine_name,
        "contract": contract,
        "engine_default_threshold": engine_default,
        "provenance": provenance,
        "identification": ident.to_dict() if ident else None,
        "demographics": [d.to_dict() for d in demo],
    }
    if ident is not None and ident.configurations is not None:
        report["by_configuration"] = ident.configurations.items
        report["configuration_demographics"] = [
            d.to_dict() for d in ident.configurations.demographics
        ]
    if demo:
        from openlfr.eval.fairness_report import fairness_section

        cp = ident.configurations if ident is not None else None
        factor = next((d.decision.factor for d in demo if d.decision), DEFAULT_FACTOR)
        report["fairness"] = fairness_section(
            demo,
            cp,
            policy_size=ident.policy_size if ident is not None else 0,
            factor=cp.factor if cp is not None else factor,
            deployed_threshold=None,
        )
    if ident is None or not demo:
        report["approval_withheld"] = (
            "a model approval needs both the identification and the demographic evaluation"
        )
        return report
    prov = "; ".join(f"{k}: {v}" for k, v in provenance.items())
    approval, why = build_approval(contract["id"], ident, demo, engine_default, created, prov)
    if approval is None:
        report["approval_withheld"] = why
        return report
    report["kind"] = REPORT_KIND
    report["approval"] = approval.to_dict()
    # Projections use the FPIR upper bound, so they err towards more false alerts, not fewer.
    report["expected_false_alerts_per_100k_faces"] = [
        {
            "watchlist_size": size,
            "threshold": approval.validated_min_threshold,
            "expected": approval.expected_false_alerts(
                100_000, size, approval.validated_min_threshold
            ),
        }
        for size in sorted(ident.curves)
    ]
    report["validated_min_threshold_basis"] = {
        "calibrated_threshold": ident.calibrated_threshold(),
        "policy_fpir": ident.policy_fpir,
        "policy_watchlist_size": ident.policy_size,
        "demographic_floors": {
            " x ".join(d.attributes) + f" ({dataset_name(d.dataset)})": d.floor_threshold
            for d in demo
        },
    }
    return report


def for_package(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the package ships it (`openlfr model approve --shipped`): everything but
    the per-threshold tables, which `openlfr eval report` reproduces from the same data. What
    governance reads (the approval, each demographic evaluation's groups and its rates and tests
    at the evaluated threshold, the fairness section) is kept whole."""

    def without_tables(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k != "by_threshold"}

    out = dict(report)
    for key in ("demographics", "configuration_demographics"):
        if isinstance(out.get(key), list):
            out[key] = [without_tables(d) for d in out[key]]
    ident = out.get("identification")
    if isinstance(ident, dict) and isinstance(ident.get("sizes"), list):
        out["identification"] = {**ident, "sizes": [without_tables(z) for z in ident["sizes"]]}
    out["trimmed"] = (
        "per-threshold tables left out of the packaged copy; `openlfr eval report` on the "
        "provenance's data reproduces them"
    )
    return out


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    # JSON has no NaN/inf; governance must never parse a non-standard token.
    if isinstance(o, float):
        return None if (math.isnan(o) or math.isinf(o)) else o
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if isinstance(o, np.generic):
        return _clean(o.item())
    return o


def report_json(report: dict[str, Any], *, compact: bool = False) -> str:
    layout: dict[str, Any] = {"separators": (",", ":")} if compact else {"indent": 2}
    return json.dumps(_clean(report), default=_json_default, allow_nan=False, **layout)

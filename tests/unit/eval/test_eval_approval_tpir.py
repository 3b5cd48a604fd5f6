"""The approval's TPIR curve and configuration floors, old approvals, and derived thresholds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from openlfr.errors import ModelError
from openlfr.eval.approval import (
    ConfigurationFloor,
    FpirPoint,
    ModelApproval,
    TpirPoint,
)
from openlfr.eval.calibration import approval_for, derive_threshold, load_approval_file
from openlfr.vision.mock import mock_engine


def _approval(contract_id: str = "m@1#x") -> ModelApproval:
    fpir = tuple(
        FpirPoint(n, t / 100, 0.0, max(1e-4, (0.8 - t / 100) * n / 1000 * 0.05))
        for n in (100, 1000)
        for t in range(30, 81, 5)
    )
    tpir = tuple(
        TpirPoint(k, m, n, t, min(1.0, (1.2 - t) * (0.5 + 0.2 * k + 0.1 * m)), 0.0)
        for k in (1, 2)
        for m in (1, 3)
        for n in (100, 1000)
        for t in (0.5, 0.6, 0.7)
    )
    floors = (ConfigurationFloor(2, 3, 1000, 0.71, "x"), ConfigurationFloor(1, 1, 1000, 0.72, "y"))
    return ModelApproval(
        contract_id, "2026-01-01T00:00:00+00:00", 0.6, 0.6, 1e-3, fpir, "d", tpir, floors, "mean"
    )


def test_expected_tpir_interpolates_and_errs_low() -> None:
    a = _approval()
    at = a.expected_tpir(2, 3, 0.65)
    assert at == pytest.approx(((1.2 - 0.6) + (1.2 - 0.7)) / 2 * 1.2)
    # More photos than measured: the largest measured configuration below it stands in.
    assert a.expected_tpir(5, 9, 0.6) == a.expected_tpir(2, 3, 0.6)
    assert a.expected_tpir(1, 1, 0.6) < a.expected_tpir(2, 1, 0.6)  # type: ignore[operator]
    assert a.expected_tpir(2, 2, 0.6) == a.expected_tpir(2, 1, 0.6)
    assert a.expected_tpir(1, 1, 0.1) == a.expected_tpir(1, 1, 0.5)  # clamped
    assert a.expected_tpir(0, 1, 0.6) is None
    assert a.floor_for(2, 3, 1000) == a.configuration_floors[0]
    assert a.floor_for(1, 1, 5000) is None


def test_approvals_without_the_new_fields_still_load() -> None:
    old = _approval().to_dict()
    for key in ("tpir_curve", "configuration_floors", "template_rule", "score_normalisation"):
        old.pop(key)
    a = ModelApproval.from_dict(old)
    assert a.tpir_curve == () and a.expected_tpir(2, 3, 0.6) is None
    assert a.template_rule == "max" and a.score_normalisation == "none"
    full = _approval()
    assert ModelApproval.from_dict(json.loads(json.dumps(full.to_dict()))) == full


def test_derived_threshold_meets_policy_and_floor(tmp_path: Path) -> None:
    a = _approval()
    d = derive_threshold(a, 1000, 1e-3)
    assert a.fpir_at(1000, d.threshold) <= 1e-3 and d.threshold >= a.validated_min_threshold
    assert d.false_alerts_per_1000 == pytest.approx(1000 * d.fpir_upper)
    # One threshold everywhere: at the approval's own policy, the certified floor governance
    # enforces for the list (here K=1, M=1 at 1,000: 0.72), never the curve alone.
    small = derive_threshold(a, 50, 1e-3)
    assert small.threshold == a.deployment_floor(50)[0] == 0.72
    assert "certified floor" in small.bound_by and "K=1, M=1" in small.bound_by
    old = replace(a, configuration_floors=())  # recorded before configuration floors existed
    small = derive_threshold(old, 50, 1e-3)
    assert small.threshold == a.validated_min_threshold and "validated" in small.bound_by
    with pytest.raises(ModelError, match="covers at most 1,000"):
        derive_threshold(a, 1001)
    with pytest.raises(ModelError, match="no threshold"):
        derive_threshold(a, 1000, 1e-9)


def test_calibration_file_must_match_the_running_contract(tmp_path: Path) -> None:
    eng = mock_engine()
    p = tmp_path / "cal.json"
    p.write_text(json.dumps(_approval().to_dict()))
    with pytest.raises(ModelError, match="not the running"):
        approval_for(eng.contract, p)
    p.write_text(json.dumps(replace(_approval(), contract_id=eng.contract.id).to_dict()))
    assert approval_for(eng.contract, p).contract_id == eng.contract.id
    with pytest.raises(ModelError, match="no calibration"):
        approval_for(eng.contract, tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(ModelError, match="not a usable calibration"):
        load_approval_file(tmp_path / "bad.json")


def test_deployment_floor_is_the_highest_floor_the_list_can_hold() -> None:
    floors = (
        ConfigurationFloor(1, 1, 100, 0.55, "FPIR 0.001 calibration"),
        ConfigurationFloor(1, 1, 1000, 0.61, "FPIR 0.001 calibration"),
        ConfigurationFloor(2, 1, 1000, 0.64, "FPIR 0.001 calibration"),
        ConfigurationFloor(1, 3, 1000, 0.60, "LFW gender"),
        ConfigurationFloor(2, 3, 1000, None, "not certified"),
    )
    a = replace(_approval(), validated_min_threshold=0.7, configuration_floors=floors)
    # A one-photo list of 1,000: the K=1 floors (1 and 3 shots), not the K=2 one, and not the
    # validated minimum the single-image protocol set at another size.
    assert a.deployment_floor(1000, max_photos=1) == (
        0.61,
        "FPIR 0.001 calibration (K=1, M=1, list of 1,000)",
    )
    # Entries with two photos bring the K=2 floor in.
    t2, why2 = a.deployment_floor(1000, max_photos=2)
    assert t2 == 0.64 and "K=2" in why2
    # A list of 100 uses the floors measured at 100; fused shots were measured only at 1,000,
    # whose floor then stands in (the larger list: the conservative side).
    assert a.deployment_floor(100, max_photos=1, probe_shots=1)[0] == 0.55
    assert a.deployment_floor(100, max_photos=1)[0] == 0.60
    # Larger than anything measured: the validated minimum.
    assert a.deployment_floor(5000) == (0.7, "the model's validated minimum threshold")


def test_governance_enforces_the_list_floor_at_start() -> None:
    from openlfr.governance.deployment import DeploymentFacts, threshold_problems

    floors = (
        ConfigurationFloor(1, 1, 1000, 0.61, "calibration"),
        ConfigurationFloor(2, 1, 1000, 0.64, "calibration"),
    )
    a = replace(_approval(), validated_min_threshold=0.5, configuration_floors=floors)
    d = DeploymentFacts(id="d1", name="n", threshold=0.62, watchlist_size_cap=1000)
    assert threshold_problems(d, a) == []  # at authorisation: one photo per entry at least
    problems = threshold_problems(d, a, watchlist_size=800, max_photos=2)
    assert problems and "below the floor 0.64" in problems[0] and "K=2" in problems[0]


def test_expected_hits_use_the_camera_like_curve_and_keep_the_photos_one() -> None:
    from openlfr.governance.expected_hits import expected_hit_rate, expected_tpir

    a = _approval()
    # Camera-like shots find fewer people than different photos: half, at every point.
    cam = tuple(replace(p, tpir=p.tpir / 2, tpir_lower=p.tpir / 4) for p in a.tpir_curve)
    b = replace(a, camera_tpir_curve=cam)
    photos = a.expected_tpir(2, 3, 0.65)
    assert photos is not None
    assert b.expected_tpir(2, 3, 0.65) == pytest.approx(photos / 2)
    assert b.expected_tpir(2, 3, 0.65, camera_like=False) == pytest.approx(photos)
    assert (a.tpir_curve_used(), b.tpir_curve_used()) == ("different_photos", "camera_like")
    # Governance reads the camera-like lower bound, and says which curve it read.
    assert expected_tpir(b, 2, 3, 0.65) == pytest.approx(photos / 4)
    proj = expected_hit_rate(b, [2, 2], probe_shots=3, threshold=0.65)
    assert proj.curve == "camera_like" and proj.to_dict()["curve"] == "camera_like"
    assert expected_hit_rate(a, [2], probe_shots=3, threshold=0.65).curve == "different_photos"
    # The new curve round-trips through the report JSON; older approvals read it as empty.
    again = ModelApproval.from_dict(json.loads(json.dumps(b.to_dict())))
    assert again.camera_tpir_curve == cam
    old = b.to_dict()
    old.pop("camera_tpir_curve")
    assert ModelApproval.from_dict(old).camera_tpir_curve == ()

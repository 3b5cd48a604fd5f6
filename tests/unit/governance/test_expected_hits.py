"""Expected hits: TPIR lookups from the approval's curve and the list's photo counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import RuleViolation
from openlfr.eval.approval import ModelApproval, TpirPoint
from openlfr.governance.expected_hits import entry_flags, expected_hit_rate, expected_tpir
from openlfr.governance.watchlist import PhotoProposal, assess_photo

# TPIR lower bounds by (photos, shots) at thresholds 0.5 / 0.7 (shape of the table).
TABLE = {(1, 1): (0.60, 0.36), (2, 1): (0.80, 0.60), (1, 3): (0.90, 0.78), (2, 3): (0.98, 0.94)}


def approval(size: int = 1000, **extra: tuple[float, float]) -> ModelApproval:
    pts = tuple(
        TpirPoint(k, m, size, t, lo + 0.01, lo)
        for (k, m), vals in TABLE.items()
        for t, lo in zip((0.5, 0.7), vals, strict=True)
    )
    return ModelApproval("m/1", "2026-06-01T00:00:00+00:00", 0.5, 0.6, 1e-3, (), "t", pts)


def test_lookup_uses_the_lower_bound_and_interpolates_in_threshold() -> None:
    a = approval()
    assert expected_tpir(a, 1, 1, 0.7) == pytest.approx(0.36)
    assert expected_tpir(a, 2, 3, 0.5) == pytest.approx(0.98)
    assert expected_tpir(a, 2, 1, 0.6) == pytest.approx(0.70)
    # Below the lowest measured threshold: the lowest one's value (an under-estimate).
    assert expected_tpir(a, 1, 1, 0.3) == pytest.approx(0.60)
    # Above the highest: clamped to the highest measured (the approval's lookup).
    assert expected_tpir(a, 1, 1, 0.8) == pytest.approx(0.36)
    # A curve without bounds: the point estimate.
    unbounded = replace(a, tpir_curve=tuple(replace(p, tpir_lower=0.0) for p in a.tpir_curve))
    assert expected_tpir(unbounded, 1, 1, 0.7) == pytest.approx(0.37)


def test_lookup_falls_back_to_the_nearest_configuration_below() -> None:
    a = approval()
    assert expected_tpir(a, 5, 1, 0.7) == pytest.approx(0.60)  # 5 photos: measured only up to 2
    assert expected_tpir(a, 2, 2, 0.7) == pytest.approx(0.60)  # 2 shots: use 1
    assert expected_tpir(a, 0, 1, 0.7) is None
    no_curve = ModelApproval("m/1", "2026-06-01T00:00:00+00:00", 0.5, 0.6, 1e-3)
    assert expected_tpir(no_curve, 1, 1, 0.7) is None


def test_lookup_takes_the_smallest_measured_list_at_or_above_the_size() -> None:
    small = approval(100)
    big = approval(1000)
    pts = small.tpir_curve + tuple(
        TpirPoint(
            p.enrol_photos, p.probe_shots, 1000, p.threshold, p.tpir - 0.1, p.tpir_lower - 0.1
        )
        for p in big.tpir_curve
    )
    a = ModelApproval("m/1", "2026-06-01T00:00:00+00:00", 0.5, 0.6, 1e-3, (), "t", pts)
    assert expected_tpir(a, 1, 1, 0.7, watchlist_size=50) == pytest.approx(0.36)
    assert expected_tpir(a, 1, 1, 0.7, watchlist_size=500) == pytest.approx(0.26)
    assert expected_tpir(a, 1, 1, 0.7, watchlist_size=5000) == pytest.approx(0.26)


def test_mostly_single_photo_list_expects_fewer_hits_than_two_photos_each() -> None:
    a = approval()
    mostly_single = expected_hit_rate(a, [1] * 8 + [2] * 2, probe_shots=1, threshold=0.7)
    two_each = expected_hit_rate(a, [2] * 10, probe_shots=1, threshold=0.7)
    assert mostly_single.rate == pytest.approx(0.8 * 0.36 + 0.2 * 0.60)
    assert two_each.rate == pytest.approx(0.60)
    assert mostly_single.rate < two_each.rate
    assert mostly_single.single_photo_entries == 8 and two_each.single_photo_entries == 0
    d = mostly_single.to_dict()
    assert d["photo_counts"] == {"1": 8, "2": 2} and d["basis"] == "list"
    # More fused shots raise it.
    three = expected_hit_rate(a, [1] * 8 + [2] * 2, probe_shots=3, threshold=0.7)
    assert three.rate is not None and three.rate > mostly_single.rate


def test_an_empty_list_is_projected_as_single_photo_and_unmeasured_is_none() -> None:
    a = approval()
    p = expected_hit_rate(a, [], probe_shots=1, threshold=0.7)
    assert p.basis == "assumed_one_photo" and p.rate == pytest.approx(0.36) and p.entries == 0
    no_curve = replace(a, tpir_curve=())
    assert expected_hit_rate(no_curve, [1, 2], probe_shots=1, threshold=0.7).rate is None


def test_single_photo_flag_follows_the_photo_count() -> None:
    assert entry_flags(["low_quality"], 1) == ["low_quality", "single_photo"]
    assert entry_flags(["single_photo", "old_image"], 3) == ["old_image"]


def test_photo_rules() -> None:
    s = GovernanceSettings(max_photos_per_entry=3)
    today = date(2026, 6, 1)
    ok = PhotoProposal(date(2025, 1, 1), 0.8)
    kw = dict(today=today, settings=s, same_person_floor=0.5)
    assert assess_photo(ok, other_dates=[date(2024, 1, 1)], similarities=[0.7], **kw) == []  # type: ignore[arg-type]
    flags = assess_photo(
        PhotoProposal(date(2025, 1, 1), 0.3),
        other_dates=[date(2025, 1, 1)],
        similarities=[0.2],
        **kw,  # type: ignore[arg-type]
    )
    assert flags == ["low_quality", "same_occasion", "unlike_other_photos"]
    with pytest.raises(RuleViolation) as e:
        assess_photo(
            PhotoProposal(date(2027, 1, 1), 0.1),
            other_dates=[date(2024, 1, 1)] * 3,
            similarities=[0.99],
            **kw,  # type: ignore[arg-type]
        )
    text = str(e.value)
    for bit in ("future", "quality", "repeats", "most allowed"):
        assert bit in text


def test_records_publish_expected_beside_measured_and_the_year_weights_by_list_size() -> None:
    from openlfr.governance import transparency

    base = transparency.DeploymentRecord(
        "d1", "n", "2026-06-01", "s", "e", "loc", "locate_wanted_persons", "authorising_officer",
        1, 10, {"wanted_by_courts_or_police": 10}, "sface", 0.7, 1000, 2, 1, 1, 0, 1, 0,
        expected_false_alerts=0.4, expected_hit_rate_at_authorisation=0.4,
        expected_hit_rate_at_sign_off=0.5, single_photo_entries=4, listed_people_found=1,
    )  # fmt: skip
    d = base.to_dict()
    assert d["expected_hit_rate_at_sign_off"] == 0.5 and d["listed_people_found"] == 1
    assert "expected hit rate at sign off" in transparency.to_html("r", {"record": d})
    other = replace(base, watchlist_size=30, expected_hit_rate_at_sign_off=0.9)
    unrated = replace(base, expected_hit_rate_at_sign_off=None)
    summary = transparency.annual_summary(2026, [base, other, unrated])
    assert summary["expected_hit_rate"] == pytest.approx((10 * 0.5 + 30 * 0.9) / 40)
    assert summary["listed_people_found"] == 3
    assert summary["expected_false_alerts"] == pytest.approx(1.2)

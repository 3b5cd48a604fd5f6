"""C.12 equality statistics and the test walk-by result (pure rules)."""

from __future__ import annotations

from datetime import date

import pytest

from openlfr.governance.equality import (
    GroupRecord,
    parse_group,
    record_problems,
    summarise,
)
from openlfr.governance.walkby import (
    ConsentRecord,
    WalkbyHit,
    camera_result,
    consent_problems,
    flag_problems,
    min_tpir_problems,
)


def records(group: str, false: int, confirmed: int) -> list[GroupRecord]:
    return [GroupRecord(group, True)] * false + [GroupRecord(group, False, "arrest")] * confirmed


def test_a_group_with_a_larger_share_of_false_alerts_is_flagged() -> None:
    recs = records("black_or_black_british", 30, 5) + records("white", 10, 40)
    rows = {r.group: r for r in summarise(recs)}
    b = rows["black_or_black_british"]
    assert b.flagged and b.false_share == pytest.approx(0.75)
    assert b.false_share_ci[0] < 0.75 < b.false_share_ci[1]
    assert b.confirmed_share == pytest.approx(5 / 45)
    assert b.outcomes == {"arrest": 5}


def test_equal_shares_are_not_flagged() -> None:
    recs = records("asian_or_asian_british", 10, 20) + records("white", 10, 20)
    assert not any(r.flagged for r in summarise(recs))


def test_no_confirmed_alerts_yet_means_nothing_to_compare() -> None:
    rows = summarise(records("white", 3, 0))
    assert rows[0].p_value == 1.0 and not rows[0].flagged
    assert summarise([]) == []


def test_groups_come_from_a_closed_list_and_only_after_review() -> None:
    with pytest.raises(ValueError, match="white"):
        parse_group("inferred_by_software")
    assert "only after review" in " ".join(
        record_problems("pending", is_test=False, already_recorded=False)
    )
    assert record_problems("rejected", is_test=True, already_recorded=False)
    assert record_problems("confirmed", is_test=False, already_recorded=True)
    assert record_problems("confirmed", is_test=False, already_recorded=False) == []


def test_consent_is_required_for_a_test_subject() -> None:
    today = date(2026, 6, 1)
    assert "recorded consent" in " ".join(
        consent_problems(ConsentRecord("PC 123", "", today), today=today)
    )
    assert consent_problems(ConsentRecord("PC 123", "CF-1", date(2026, 7, 1)), today=today)
    assert consent_problems(ConsentRecord("PC 123", "CF-1", today), today=today) == []


def test_walkby_tpir_per_camera_with_interval_and_flag() -> None:
    hits = [
        WalkbyHit("s1", "cam-a", 0.61, 120.0),
        WalkbyHit("s1", "cam-a", 0.70, 100.0),
        WalkbyHit("s2", "cam-a", 0.55, 140.0),
        WalkbyHit("s2", "cam-b", 0.52, 90.0),
        WalkbyHit("stranger", "cam-a", 0.9, 1.0),  # not a walker of this run: ignored
    ]
    a = camera_result("cam-a", ["s1", "s2"], hits, min_tpir=0.9)
    assert (a.walked, a.alerted, a.tpir) == (2, 2, 1.0)
    assert a.scores == (0.70, 0.55) and a.median_latency_ms == 120.0
    assert a.tpir_lower < 1.0 == a.tpir_upper and not a.below_level
    b = camera_result("cam-b", ["s1", "s2"], hits, min_tpir=0.9)
    assert b.tpir == 0.5 and b.below_level
    none = camera_result("cam-c", ["s1", "s2"], hits, min_tpir=None)
    assert none.alerted == 0 and none.median_latency_ms is None and not none.below_level


def test_a_flag_blocks_until_acknowledged_and_levels_are_checked() -> None:
    assert flag_problems(True, False)
    assert flag_problems(True, True) == [] and flag_problems(False, False) == []
    assert min_tpir_problems(1.5) and min_tpir_problems(0.0)
    assert min_tpir_problems(0.8) == [] and min_tpir_problems(None) == []

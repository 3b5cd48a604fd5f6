"""The pure rules, without a database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import CameraNotAllowedError, InvalidStateError, RuleViolation
from openlfr.governance import alerts, deployment, retention, transparency
from openlfr.governance.alerts import Review
from openlfr.governance.deployment import DeploymentFacts
from openlfr.governance.vocab import AlertStatus, Decision, DeploymentState
from openlfr.governance.watchlist import assess_entry
from tests.unit.governance._support import T0, proposal

S = GovernanceSettings()
TODAY = date(2026, 6, 1)


def test_duty_conflicts_name_each_pair() -> None:
    assert deployment.duty_conflicts("a", "b", ["c"]) == []
    msgs = deployment.duty_conflicts("a", "a", ["a"])
    assert "authorising officer cannot also be the watchlist compiler" in msgs[0]
    assert any("cannot also be an operator" in m for m in msgs)
    assert deployment.duty_conflicts(None, "b", ["b"]) == [
        "the watchlist compiler cannot also be an operator"
    ]


def test_state_machine_refuses_skipping_authorisation() -> None:
    d = DeploymentFacts("d1", "x")
    with pytest.raises(InvalidStateError, match="draft to live"):
        deployment.transition(d, DeploymentState.LIVE)
    d.state = DeploymentState.ENDED
    with pytest.raises(InvalidStateError):
        deployment.transition(d, DeploymentState.LIVE)


def test_camera_whitelist() -> None:
    d = DeploymentFacts("d1", "x", cameras=["cam-1"])
    deployment.check_camera(d, "cam-1")
    with pytest.raises(CameraNotAllowedError, match="'cam-9' is not on the whitelist"):
        deployment.check_camera(d, "cam-9")


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"category": "other"}, "category 'other' is not one of"),
        ({"category": ""}, "category '(none)' is not one of"),
        ({"legal_basis": " "}, "missing legal basis"),
        ({"source_system": ""}, "missing source system"),
        ({"reason": ""}, "missing reason for inclusion"),
        ({"image_captured_on": None}, "missing image capture date"),
        ({"image_captured_on": date(2015, 1, 1)}, "days old, above the"),
        ({"image_captured_on": date(2027, 1, 1)}, "in the future"),
        ({"quality_score": 0.1}, "image quality 0.10 is below the minimum"),
        ({"is_minor": True}, "under-18 entry needs a recorded extra justification"),
    ],
)
def test_entry_refusals(over: dict, message: str) -> None:
    with pytest.raises(RuleViolation, match="watchlist entry refused") as ei:
        assess_entry(proposal(**over), today=TODAY, settings=S)
    assert any(message in p for p in ei.value.problems), ei.value.problems


def test_entry_flags() -> None:
    assert assess_entry(proposal(), today=TODAY, settings=S) == []
    flags = assess_entry(
        proposal(
            quality_score=0.3,
            image_captured_on=TODAY - timedelta(days=900),
            is_minor=True,
            minor_justification="missing child at risk",
        ),
        today=TODAY,
        settings=S,
    )
    assert flags == ["low_quality", "old_image", "under_18"]


def test_review_status() -> None:
    c1, c2 = Review("u1", Decision.CONFIRM, "r"), Review("u2", Decision.CONFIRM, "r")
    assert alerts.status_of([], eu_mode=False) == AlertStatus.PENDING
    assert alerts.status_of([c1], eu_mode=False) == AlertStatus.CONFIRMED
    assert alerts.status_of([c1], eu_mode=True) == AlertStatus.PENDING
    assert alerts.status_of([c1, c2], eu_mode=True) == AlertStatus.CONFIRMED
    assert (
        alerts.status_of([c1, Review("u2", Decision.REJECT, "r")], eu_mode=True)
        == AlertStatus.REJECTED
    )
    assert (
        "has not been adjudicated"
        in alerts.outcome_problems(AlertStatus.PENDING, False, None, "arrest")[0]
    )
    assert alerts.outcome_problems(AlertStatus.REJECTED, False, None, "arrest")
    assert alerts.outcome_problems(AlertStatus.CONFIRMED, True, None, "arrest") == [
        "an engagement needs its duration in seconds"
    ]


def test_retention_periods_and_hold() -> None:
    assert retention.expires_at(T0, "24h") == T0 + timedelta(hours=24)
    assert retention.expires_at(T0, "31d") == T0 + timedelta(days=31)
    assert retention.purgeable(T0, T0, None)
    assert not retention.purgeable(T0, T0, "court order 7")
    assert retention.hold_problems(" ") == ["a legal hold needs a recorded reason"]
    with pytest.raises(ValueError, match="retention profile"):
        retention.retention_period("forever")


def _record() -> transparency.DeploymentRecord:
    return transparency.DeploymentRecord(
        "d1", "Cardiff <centre>", "2026-06-01", "s", "e", "High St", "locate_wanted_persons",
        "authorising_officer", 2, 3, {"wanted_by_courts_or_police": 3}, "sface", 0.5, 1000,
        4, 1, 2, 1,
        1, 1, {"no_further_action": 1},
    )  # fmt: skip


def test_transparency_formats() -> None:
    r = _record()
    d = r.to_dict()
    assert d["false_alert_rate_per_faces"] == pytest.approx(0.002)
    assert d["false_alert_rate_per_alerts"] == pytest.approx(0.5)
    csv_text = transparency.to_csv([d])
    header, row = csv_text.strip().splitlines()
    assert "watchlist_by_category.wanted_by_courts_or_police" in header.split(",")
    assert row.startswith("d1,")
    html = transparency.to_html("Deployment record", {"record": d})
    assert "Cardiff &lt;centre&gt;" in html  # escaped
    summary = transparency.annual_summary(2026, [r, r])
    assert summary["deployments"] == 2 and summary["faces_processed"] == 2000
    assert summary["false_alert_rate_per_alerts"] == pytest.approx(0.5)


def test_urgent_start_is_two_officers_decision() -> None:
    from openlfr.governance.deployment import Countersignature
    from openlfr.governance.vocab import Countersign

    d = DeploymentFacts("d1", "x", eu_mode=True, urgent=True, authoriser_id="ao1")
    assert deployment.urgent_use(d)
    assert "countersign urgent" in deployment.urgent_problems(d)[0]
    d.countersignatures = [Countersignature(Countersign.URGENT, "ao1", "why")]
    assert "different officer" in deployment.urgent_problems(d)[0]
    d.countersignatures = [Countersignature(Countersign.URGENT, "ao2", "why")]
    assert deployment.urgent_problems(d) == []
    # With the authority's decision recorded, or outside EU mode, it is no urgent use.
    for over in ({"judicial_authorisation_id": "COURT-1"}, {"eu_mode": False}):
        plain = DeploymentFacts(
            "d2", "x", urgent=True, countersignatures=[], **{"eu_mode": True, **over}
        )
        assert not deployment.urgent_use(plain) and deployment.urgent_problems(plain) == []


def test_who_may_be_one_of_two_people() -> None:
    from openlfr.governance.two_person import AccountTrust, account_problems

    assert account_problems(AccountTrust(True, None, None)) == []  # made at the host
    assert account_problems(AccountTrust(True, "admin", "admin2")) == []
    (p,) = account_problems(AccountTrust(False, "admin", "admin2"))
    assert "holder must set their own" in p
    (p,) = account_problems(AccountTrust(True, "admin", None))
    assert "admin granted await confirmation by a second administrator" in p

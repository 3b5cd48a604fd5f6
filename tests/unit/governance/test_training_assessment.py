"""Operator training (only trained staff review; refused, not flagged) and the DPIA / FRIA
draft (filled from the deployment, digest in the audit log, refused to the wrong people)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest

from openlfr.errors import PermissionDeniedError, RuleViolation
from openlfr.services.alerts import AlertIn
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import PASSWORD, T0, World, live, template


def alert(w: World, dep: str, entry: str, seed: int = 0) -> str:
    return w.svc.alerts.record_alert(
        dep,
        AlertIn(
            camera_id="cam-1",
            entry_id=entry,
            score=0.7,
            threshold=0.5,
            contract_id=MOCK_CONTRACT.id,
            detected_at=w.clock(),
            template=template(seed),
            source_ref="frame 1",
        ),
    )


@pytest.fixture
def op3(world: World) -> World:
    world.people["op3"] = world.svc.accounts.create_user(world.admin, "op3", PASSWORD, ["operator"])
    return world


def test_only_an_operator_with_current_training_may_review(op3: World) -> None:
    w = op3
    dep, ids = live(w, operators=["op1", "op3"])
    aid = alert(w, dep, ids[0])
    reviews_before = len(w.svc.audit.audit_records(actions=("alert.review",)))
    with pytest.raises(RuleViolation, match="op3 has no recorded operator training"):
        w.svc.alerts.review(w.op3, aid, "confirm", "same person")
    w.svc.training.record(w.admin, "op3", "LFR operator", date(2024, 1, 1), date(2025, 1, 1))
    with pytest.raises(RuleViolation, match="expired on 2025-01-01"):
        w.svc.alerts.review(w.op3, aid, "confirm", "same person")
    # Refused means nothing happened: still pending, no review, no audit record.
    assert w.svc.alerts.alerts(w.op1, dep)[0]["status"] == "pending"
    assert len(w.svc.audit.audit_records(actions=("alert.review",))) == reviews_before
    w.svc.training.record(w.admin, "op3", "LFR operator 2026", date(2026, 5, 1), date(2027, 5, 1))
    assert w.svc.alerts.review(w.op3, aid, "confirm", "same person") == "confirmed"
    (r,) = w.svc.audit.audit_records(actions=("alert.review",), limit=1)
    assert r["actor"] == "op3" and r["after"]["training"]["course"] == "LFR operator 2026"
    recs = w.svc.training.records(w.dpo, "op3")
    assert [(x["course"], x["current"]) for x in recs] == [
        ("LFR operator 2026", True),
        ("LFR operator", False),
    ]


def test_training_records_are_for_administrators(world: World) -> None:
    w = world
    for who in (w.ao1, w.op1, w.dpo):
        with pytest.raises(PermissionDeniedError):
            w.svc.training.record(who, "op1", "x", date(2026, 1, 1), date(2027, 1, 1))
    with pytest.raises(PermissionDeniedError):
        w.svc.training.records(w.op1)
    with pytest.raises(RuleViolation, match="expiry must be after"):
        w.svc.training.record(w.admin, "op1", "x", date(2026, 1, 1), date(2025, 1, 1))
    with pytest.raises(RuleViolation, match="in the future"):
        w.svc.training.record(w.admin, "op1", "x", date(2027, 1, 1), date(2028, 1, 1))
    assert len(w.svc.training.records(w.admin, "op1")) == 1  # refused ones left nothing


def test_annual_report_states_reviews_by_trained_staff(world: World) -> None:
    w = world
    dep, ids = live(w)
    for i in range(3):
        w.svc.alerts.review(w.op1, alert(w, dep, ids[i], i), "reject", "different person")
    summary = w.svc.transparency.annual_summary(T0.year)
    assert summary["reviews"] == 3 and summary["reviews_by_trained_staff"] == 3


# -- impact assessments ---------------------------------------------------------------------
def test_assessment_draft_is_filled_from_the_deployment_and_its_digest_recorded(
    world: World,
) -> None:
    w = world
    dep, _ = live(w)
    doc = w.svc.assessments.draft(w.ao1, dep)
    text = doc.text
    assert doc.digest == hashlib.sha256(text.encode()).hexdigest()
    for fact in (
        "High Street, Cardiff",
        "locate_wanted_persons",
        "DPIA-2026-01",
        "EIA-2026-03",
        "serious violent offences",
        "patrols and CCTV review",
        "| wanted_by_courts_or_police | 3 |",
        "| group_a | 0.0001 | 0.02 | 0.8 |",  # the approval's per-group rates
        "31d",
        "signs_at_every_approach",
        "| Operators with current training | 2 |",
    ):
        assert fact in text, fact
    assert "[TO COMPLETE]" in text and "FRIA" not in text  # not EU mode
    (r,) = w.svc.audit.audit_records(actions=("deployment.assessment_draft",))
    assert r["after"]["sha256"] == doc.digest and r["subject"] == f"deployment:{dep}"


def test_assessment_refused_to_other_deployments_and_wrong_roles(world: World) -> None:
    w = world
    w.people["ao3"] = w.svc.accounts.create_user(w.admin, "ao3", PASSWORD, ["authorising_officer"])
    dep, _ = live(w)
    for who in (w.ao3, w.op1, w.compiler, w.admin):
        with pytest.raises(PermissionDeniedError):
            w.svc.assessments.draft(who, dep)
    assert w.svc.audit.audit_records(actions=("deployment.assessment_draft",)) == []
    assert w.svc.assessments.draft(w.dpo, dep).text  # the auditor reads every record

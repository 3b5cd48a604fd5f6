"""Operator training (only trained staff review; refused, not flagged) and the DPIA / FRIA
draft (filled from the deployment, digest in the audit log, refused to the wrong people)."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.errors import PermissionDeniedError, RuleViolation
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import PASSWORD, T0, World, live, record_alert
from tests.unit.governance._support import run_cli as run
from tests.unit.governance.test_cli_scheduler import cli


def alert(w: World, dep: str, entry: str, seed: int = 0) -> str:
    return record_alert(w, dep, entry, seed, source_ref="frame 1")


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


def test_cli_training_and_assessment_refuse_the_wrong_people(
    cli: CliRunner, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from openlfr.cli.governance._common import open_service
    from openlfr.services.approvals import report_digest
    from tests.unit.governance._support import approval_for, full_fields

    assert run(cli, "db", "upgrade")[0] == 0 and run(cli, "keys", "init")[0] == 0
    svc = open_service()
    admin = svc.accounts.create_user(None, "admin", PASSWORD, ["administrator"])
    for name, role in (
        ("ao1", "authorising_officer"),
        ("ao2", "authorising_officer"),
        ("ao3", "authorising_officer"),
        ("compiler", "watchlist_compiler"),
        ("op1", "operator"),
        ("op2", "operator"),
    ):
        svc.accounts.create_user(admin, name, PASSWORD, [role])
    from tests.unit.governance._support import settle_accounts

    settle_accounts(svc)  # each their own holder, roles confirmed: may be a second person
    approval = approval_for(MOCK_CONTRACT, at=datetime.now(UTC))
    svc.approvals.record_model_approval(admin, approval)
    svc.approvals.countersign(svc.accounts.actor("ao2"), MOCK_CONTRACT.id, report_digest(approval))
    now = datetime.now(UTC)
    when = dict(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=9))
    dep = svc.deployments.create_deployment(svc.accounts.actor("ao1"), "CLI", **full_fields(**when))

    code, out = run(cli, "deployment", "assessment", dep, "--user", "ao3")
    assert code == 2 and "permission" in out.lower(), out
    code, out = run(cli, "deployment", "assessment", dep, "--user", "op1")
    assert code == 2, out
    doc = tmp_path / "dpia.md"
    code, out = run(cli, "deployment", "assessment", dep, "--user", "ao1", "--out", str(doc))
    assert code == 0 and "SHA-256" in out, out
    assert doc.read_text().startswith("# DPIA draft: CLI")

    add = ("user", "training-add", "op1", "--course", "LFR operator")
    dates = ("--completed", now.date().isoformat(), "--expires", "2099-01-01")
    code, out = run(cli, *add, *dates, "--user", "ao1")
    assert code == 2 and "administrator" in out, out
    code, out = run(cli, "user", "training", "op1", "--user", "op1")
    assert code == 2, out
    code, out = run(cli, *add, *dates, "--user", "admin")
    assert code == 0, out
    code, out = run(cli, "user", "training", "op1", "--user", "admin")
    assert code == 0 and "LFR operator" in out and '"current": true' in out, out


__all__ = ["cli"]  # the CLI fixture, shared with test_cli_scheduler

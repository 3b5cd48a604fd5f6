"""Item 12 through the service: profiles enforced, test walk-bys, the monitor, equality records,
and per-deployment refusals (another deployment's people, wrong roles)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import PermissionDeniedError, RuleViolation
from openlfr.governance.profiles import EntryContext
from openlfr.governance.transparency import SIGNAGE_CHECKLIST
from openlfr.governance.walkby import WalkbyHit
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m
from tests.unit.governance._support import (
    T0,
    World,
    add_entries,
    draft,
    full_fields,
    live,
    make_world,
    proposal,
    record_alert,
    template,
)


def profiled(tmp_path: Path, migrated_sqlite: Path, profile: str) -> World:
    db = tmp_path / "p.sqlite3"
    shutil.copy(migrated_sqlite, db)
    return make_world(
        f"sqlite:///{db}",
        settings=GovernanceSettings(controller_profile=profile, retention_profile="24h"),
        migrate=False,
    )


VENUE = dict(purpose="prevent_risk_of_harm", operators=["op1"])


# -- profiles through the service ---------------------------------------------------------------
def test_private_venue_deployment_without_signage_is_refused(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    w = profiled(tmp_path, migrated_sqlite, "private_venue_uk")
    dep = draft(w, **VENUE)
    with pytest.raises(RuleViolation) as e:
        w.svc.deployments.authorise(w.ao1, dep)
    text = " ".join(e.value.problems)
    assert "signage is mandatory" in text and "documented threat" in text
    w.svc.deployments.update_deployment(w.ao1, dep, signage={k: True for k in SIGNAGE_CHECKLIST})
    w.svc.assurance.configure(
        w.ao1, dep, threat_ref="INC-4: thefts with violence", art9_condition="SPI: crime"
    )
    w.svc.deployments.authorise(w.ao1, dep)


def test_private_venue_entry_in_a_police_only_category_is_refused(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    w = profiled(tmp_path, migrated_sqlite, "private_venue_uk")
    dep = draft(w, **VENUE)
    with pytest.raises(RuleViolation, match="for law enforcement only"):
        w.svc.watchlists.add_entry(
            w.compiler,
            dep,
            proposal(category="wanted_by_courts_or_police"),
            template(1),
            b"img",
            EntryContext("wanted_by_courts_or_police", venue_incident_ref="INC-4"),
        )
    with pytest.raises(RuleViolation, match="evidence of offending at this venue"):
        w.svc.watchlists.add_entry(
            w.compiler, dep, proposal(category="suspected_of_offence"), template(1), b"img"
        )
    w.svc.watchlists.add_entry(
        w.compiler,
        dep,
        proposal(category="suspected_of_offence"),
        template(1),
        b"img",
        EntryContext("suspected_of_offence", venue_incident_ref="INC-4"),
    )


def test_bipa_enrolment_without_a_written_release_is_refused(
    tmp_path: Path, migrated_sqlite: Path
) -> None:
    w = profiled(tmp_path, migrated_sqlite, "us_illinois_bipa")
    dep = draft(w, **VENUE)
    facts = EntryContext("suspected_of_offence", written_notice_on=date(2026, 5, 1))
    with pytest.raises(RuleViolation, match="written release"):
        w.svc.watchlists.add_entry(
            w.compiler, dep, proposal(category="suspected_of_offence"), template(1), b"i", facts
        )
    ok = EntryContext(
        "suspected_of_offence", written_notice_on=date(2026, 5, 1), written_release_ref="REL-1"
    )
    eid, _ = w.svc.watchlists.add_entry(
        w.compiler, dep, proposal(category="suspected_of_offence"), template(1), b"i", ok
    )
    with w.svc.ctx.tx() as s:
        assert s.get(am.EntryProfileFacts, eid).written_release_ref == "REL-1"


def test_eu_profile_makes_new_deployments_eu_mode(tmp_path: Path, migrated_sqlite: Path) -> None:
    w = profiled(tmp_path, migrated_sqlite, "eu_law_enforcement")
    dep = draft(w)
    assert w.svc.deployments.deployment(dep)["eu_mode"] is True
    assert w.svc.assurance.profile.profile.value == "eu_law_enforcement"


# -- test walk-by ------------------------------------------------------------------------------
def _walkby_live(w: World, min_tpir: float = 0.75) -> tuple[str, list[str]]:
    dep = draft(w)
    w.svc.assurance.configure(w.ao1, dep, min_walkby_tpir=min_tpir)
    w.svc.deployments.authorise(w.ao1, dep)
    add_entries(w, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    w.svc.deployments.start(w.op1, dep)
    subjects = [
        w.svc.assurance.walkbys.add_test_subject(
            w.op1,
            dep,
            template(100 + i),
            subject_ref=f"PC {i}",
            consent_ref=f"CF-{i}",
            consented_on=T0.date(),
        )
        for i in range(2)
    ]
    return dep, subjects


def test_walkby_records_tpir_and_flags_until_the_officer_acknowledges(world: World) -> None:
    w = world
    dep, (s1, s2) = _walkby_live(w)
    ok = w.svc.assurance.walkbys.record_walkby(
        w.op1,
        dep,
        "cam-1",
        [s1, s2],
        [WalkbyHit(s1, "cam-1", 0.8, 120.0), WalkbyHit(s2, "cam-1", 0.7, 150.0)],
    )
    assert ok["tpir"] == 1.0 and not ok["flagged"] and ok["tpir_lower"] < 1.0
    assert w.svc.assurance.hold_reason(dep) is None
    low = w.svc.assurance.walkbys.record_walkby(w.op1, dep, "cam-2", [s1, s2], [])
    assert low["tpir"] == 0.0 and low["below_level"] and low["flagged"]
    assert "walk-by" in (w.svc.assurance.hold_reason(dep, 0.9) or "")
    assert "walk-by" in (w.svc.assurance.held(dep) or "")  # shown to operators, not counted
    assert w.svc.assurance.record(dep)["suppressed_matches"] == 1
    for wrong in (w.op1, w.ao2, w.dpo):
        with pytest.raises(PermissionDeniedError):
            w.svc.assurance.walkbys.acknowledge(wrong, dep, "seen")
    w.svc.assurance.walkbys.acknowledge(w.ao1, dep, "camera 2 lens cleaned; re-test next hour")
    assert w.svc.assurance.hold_reason(dep, 0.9) is None
    rec = w.svc.assurance.record(dep)
    assert [r["tpir"] for r in rec["walkby_runs"]] == [1.0, 0.0]
    assert rec["walkby_acknowledged"]
    # Test alerts are never operational alerts.
    with w.svc.ctx.tx() as s:
        assert s.execute(select(func.count()).select_from(m.Alert)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(am.TestAlert)).scalar_one() == 2
    assert w.svc.alerts.alerts(w.op1, dep) == []


def test_test_subject_needs_consent_and_a_part_in_the_deployment(world: World) -> None:
    w = world
    dep, _ = _walkby_live(w)
    with pytest.raises(RuleViolation, match="recorded consent"):
        w.svc.assurance.walkbys.add_test_subject(
            w.op1, dep, template(5), subject_ref="PC 9", consent_ref=" ", consented_on=T0.date()
        )
    with pytest.raises(PermissionDeniedError):
        w.svc.assurance.walkbys.add_test_subject(
            w.ao2, dep, template(5), subject_ref="PC 9", consent_ref="CF", consented_on=T0.date()
        )


def test_another_deployments_operator_is_refused(world: World) -> None:
    w = world
    dep, (s1, _) = _walkby_live(w)
    solo = w.svc.deployments.create_deployment(w.ao1, "Solo", **full_fields(operators=["op1"]))
    for call in (
        lambda: w.svc.assurance.view(w.op2, solo),
        lambda: w.svc.assurance.walkbys.test_list(w.op2, solo),
        lambda: w.svc.assurance.walkbys.check_operator(w.op2, solo),
        lambda: w.svc.assurance.walkbys.record_walkby(w.op2, solo, "cam-1", [], []),
        lambda: w.svc.assurance.walkbys.record_walkby(w.ao1, dep, "cam-1", [s1], []),
    ):
        with pytest.raises(PermissionDeniedError):
            call()


# -- monitor ------------------------------------------------------------------------------------
def _alert(w: World, dep: str, entry: str, seed: int) -> str:
    return record_alert(
        w,
        dep,
        entry,
        seed,
        score=0.71,
        probe_jpeg=b"P" * 20,
        scene_jpeg=b"S" * 20,
        source_ref="frame 1",
    )


def test_false_alerts_above_expectation_pause_alerts_and_the_officer_decides(
    world: World,
) -> None:
    w = world
    dep, ids = live(w)
    w.svc.deployments.add_counters(dep, frames=100, faces=200)
    view = w.svc.assurance.view(w.op1, dep)
    assert view["monitor_state"] == "active" and view["expected_false_alerts_per_1000_faces"]
    rejected = 0
    while w.svc.assurance.view(w.op1, dep)["monitor_state"] == "active":
        aid = _alert(w, dep, ids[0], rejected)
        w.svc.alerts.review(w.op1, aid, "reject", "different person")
        rejected += 1
        assert rejected < 10
    assert w.svc.assurance.hold_reason(dep, 0.99) == "false-alert monitor paused"
    # Faces are still counted while paused.
    w.svc.deployments.add_counters(dep, frames=10, faces=5)
    assert w.svc.deployments.deployment(dep)["faces_processed"] == 205
    with pytest.raises(PermissionDeniedError):
        w.svc.assurance.decide(w.ao2, dep, "resume", "fine")
    with pytest.raises(RuleViolation, match="threshold above now"):
        w.svc.assurance.decide(w.ao1, dep, "resume_higher_threshold", "r", new_threshold=0.4)
    w.svc.assurance.decide(w.ao1, dep, "resume_higher_threshold", "raise it", new_threshold=0.6)
    assert w.svc.deployments.deployment(dep)["threshold"] == 0.6
    assert w.svc.assurance.hold_reason(dep, 0.55) == "below the re-authorised threshold"
    assert w.svc.assurance.hold_reason(dep, 0.65) is None
    rec = w.svc.assurance.record(dep)
    assert [e["kind"] for e in rec["monitor_events"]] == ["pause", "resume_higher_threshold"]
    assert rec["suppressed_matches"] == 2
    actions = [r["action"] for r in w.svc.audit.audit_records(limit=500)]
    assert "monitor.pause" in actions and "monitor.resume_higher_threshold" in actions
    # G.20: the threshold change is in the log with its value before and after.
    (change,) = w.svc.audit.audit_records(actions=("monitor.resume_higher_threshold",))
    assert change["before"] == {"threshold": 0.5} and change["after"]["threshold"] == 0.6
    assert change["actor"] == "ao1" and change["after"]["reason"] == "raise it"


def test_officer_can_end_a_paused_deployment(world: World) -> None:
    w = world
    dep, ids = live(w)
    w.svc.deployments.add_counters(dep, faces=50)
    for i in range(5):
        w.svc.alerts.review(w.op1, _alert(w, dep, ids[0], i), "reject", "no")
        if w.svc.assurance.view(w.op1, dep)["monitor_state"] == "paused":
            break
    w.svc.assurance.decide(w.ao1, dep, "end", "the camera angle is wrong")
    assert w.svc.deployments.deployment(dep)["state"] == "ended"


# -- equality -----------------------------------------------------------------------------------
def test_perceived_group_only_after_review_by_the_deployments_operator(world: World) -> None:
    w = world
    dep, ids = live(w)
    aid = _alert(w, dep, ids[0], 1)
    with pytest.raises(RuleViolation, match="only after review"):
        w.svc.assurance.record_group(w.op1, aid, "white")
    w.svc.alerts.review(w.op1, aid, "reject", "not them")
    with pytest.raises(PermissionDeniedError):
        w.svc.assurance.record_group(w.ao1, aid, "white")
    with pytest.raises(ValueError):
        w.svc.assurance.record_group(w.op1, aid, "guessed")
    w.svc.assurance.record_group(w.op1, aid, "white")
    with pytest.raises(RuleViolation, match="already recorded"):
        w.svc.assurance.record_group(w.op2, aid, "white")
    rows = w.svc.assurance.equality(T0.year)
    assert rows[0]["group"] == "white" and rows[0]["false_alerts"] == 1


def test_test_list_is_destroyed_with_the_watchlist(world: World) -> None:
    w = world
    dep, _ = _walkby_live(w)
    w.svc.deployments.end(w.op1, dep)
    w.clock.advance(hours=24)
    w.svc.retention.purge()
    with w.svc.ctx.tx() as s:
        assert s.execute(select(func.count()).select_from(am.TestSubject)).scalar_one() == 0
        assert s.get(m.DataKey, (dep, "testlist")) is None
    assert w.svc.assurance.record(dep)["walkby_runs"] == []  # none were run

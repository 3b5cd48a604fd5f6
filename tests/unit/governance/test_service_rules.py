"""Every rule refusing the wrong thing with a clear message, through the service (SQLite)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import (
    CameraNotAllowedError,
    ContractMismatchError,
    InvalidStateError,
    KeyUnavailableError,
    PermissionDeniedError,
    RuleViolation,
    SeparationOfDutiesError,
)
from openlfr.vision.contract import EmbeddingContract
from tests.unit.governance._support import (
    PASSWORD,
    T0,
    World,
    add_entries,
    draft,
    live,
    make_world,
    proposal,
    record_alert,
    settle_accounts,
    template,
)


def refused(exc: pytest.ExceptionInfo[RuleViolation]) -> str:
    return str(exc.value)


# -- people ---------------------------------------------------------------------------------
def test_users_passwords_and_roles(world: World) -> None:
    assert world.svc.accounts.authenticate("op1", PASSWORD).username == "op1"
    with pytest.raises(PermissionDeniedError, match="wrong password"):
        world.svc.accounts.authenticate("op1", "nope")
    with pytest.raises(PermissionDeniedError, match="ao1 needs one of the roles: administrator"):
        world.svc.accounts.create_user(world.ao1, "x", PASSWORD, ["operator"])
    with pytest.raises(ValueError, match="role 'boss' is not one of"):
        world.svc.accounts.create_user(world.admin, "x", PASSWORD, ["boss"])
    with pytest.raises(RuleViolation, match="at least 12 characters"):
        world.svc.accounts.create_user(world.admin, "x", "short", ["operator"])


# -- authorisation (A.1, A.21, C.9-C.11) --------------------------------------------------------
def test_authorise_lists_every_missing_item(world: World) -> None:
    dep = draft(world, dpia_ref=None, eia_ref="", alternatives=None, cameras=[])
    with pytest.raises(RuleViolation) as ei:
        world.svc.deployments.authorise(world.ao1, dep)
    msg = refused(ei)
    for item in (
        "missing DPIA reference",
        "missing equality impact assessment reference",
        "missing less intrusive alternatives considered",
        "missing camera whitelist",
    ):
        assert item in msg
    assert world.svc.deployments.deployment(dep)["state"] == "draft"


def test_authoriser_cannot_be_operator_or_compiler(world: World) -> None:
    dep = draft(world, operators=["multi"], officers=["multi"])
    with pytest.raises(RuleViolation, match="authorising officer cannot also be an operator"):
        world.svc.deployments.authorise(world.multi, dep)
    dep2 = draft(world, compiler="multi", officers=["multi"])
    with pytest.raises(RuleViolation, match="cannot also be the watchlist compiler"):
        world.svc.deployments.authorise(world.multi, dep2)


def test_compiler_cannot_be_operator(world: World) -> None:
    with pytest.raises(SeparationOfDutiesError, match="compiler cannot also be an operator"):
        draft(world, compiler="multi", operators=["multi"])


def test_only_authorising_officers_authorise(world: World) -> None:
    dep = draft(world)
    with pytest.raises(RuleViolation, match="op1 is not an authorising officer"):
        world.svc.deployments.authorise(world.op1, dep)


def test_purpose_is_a_closed_list(world: World) -> None:
    with pytest.raises(RuleViolation, match="purpose 'general surveillance' is not one of"):
        draft(world, purpose="general surveillance")


def test_no_model_evaluation_no_authorisation(world: World) -> None:
    dep = draft(world, model_contract_id="unknown-model@1#abc")
    with pytest.raises(RuleViolation, match="no evaluation report .* for model unknown-model"):
        world.svc.deployments.authorise(world.ao1, dep)


def test_threshold_below_floor_needs_second_authorisation(world: World) -> None:
    dep = draft(world, threshold=0.35)
    with pytest.raises(
        RuleViolation,
        match=r"below the floor 0.4 for a list of .*validated minimum threshold\): needs a second",
    ):
        world.svc.deployments.authorise(world.ao1, dep)
    world.svc.deployments.countersign(world.ao1, dep, "low_threshold", "high-harm missing person")
    with pytest.raises(RuleViolation, match="must be by a different officer"):
        world.svc.deployments.authorise(world.ao1, dep)
    world.svc.deployments.countersign(world.ao2, dep, "low_threshold", "high-harm missing person")
    world.svc.deployments.authorise(world.ao1, dep)
    assert world.svc.deployments.deployment(dep)["state"] == "authorised"


def test_threshold_fixed_at_authorisation(world: World) -> None:
    dep = draft(world)
    efa = world.svc.deployments.authorise(world.ao1, dep)
    # 20,000 faces at the 5,000 cap (extrapolated from 1,000) and threshold 0.5.
    assert efa == pytest.approx(20000 * min(1.0, 60e-4 * 1.5 * 5))
    with pytest.raises(InvalidStateError, match="fixed at authorisation"):
        world.svc.deployments.update_deployment(world.ao1, dep, threshold=0.3)
    assert world.svc.deployments.deployment(dep)["threshold"] == 0.5


def test_start_without_notice_needs_reason_and_second_authoriser(world: World) -> None:
    dep = draft(world, public_notice_at=None)
    with pytest.raises(RuleViolation) as ei:
        world.svc.deployments.authorise(world.ao1, dep)
    assert "no recorded reason" in refused(ei) and "countersign no_notice" in refused(ei)
    world.svc.deployments.update_deployment(
        world.ao1, dep, no_notice_reason="notice would alert the suspect"
    )
    world.svc.deployments.countersign(world.ao2, dep, "no_notice", "agreed: urgent risk")
    world.svc.deployments.authorise(world.ao1, dep)


def test_eu_mode_requires_its_fields(world: World) -> None:
    dep = draft(world, eu_mode=True)
    with pytest.raises(RuleViolation) as ei:
        world.svc.deployments.authorise(world.ao1, dep)
    for item in (
        "fundamental rights impact assessment",
        "EU database registration id",
        "Art 5(1)(h) objective",
        "judicial/independent authorisation id",
    ):
        assert item in refused(ei)


def test_end_before_start_refused(world: World) -> None:
    dep = draft(world, ends_at=T0)
    with pytest.raises(RuleViolation, match="end time is not after the start time"):
        world.svc.deployments.authorise(world.ao1, dep)


# -- start ----------------------------------------------------------------------------------
def test_start_lists_missing_watchlist_and_sign_off(world: World) -> None:
    dep = draft(world)
    world.svc.deployments.authorise(world.ao1, dep)
    world.clock.advance(hours=1)
    with pytest.raises(RuleViolation) as ei:
        world.svc.deployments.start(world.op1, dep)
    assert "watchlist is empty" in refused(ei) and "has not been signed off" in refused(ei)


def test_start_before_window_and_after_end(world: World) -> None:
    dep = draft(world)
    world.svc.deployments.authorise(world.ao1, dep)
    add_entries(world, dep)
    world.svc.watchlists.sign_off(world.ao2, dep)
    with pytest.raises(RuleViolation, match="the window opens at"):
        world.svc.deployments.start(world.op1, dep)
    world.clock.advance(hours=10)
    with pytest.raises(RuleViolation, match="start after the end time"):
        world.svc.deployments.start(world.op1, dep)


def test_start_needs_operator(world: World) -> None:
    dep = draft(world)
    world.svc.deployments.authorise(world.ao1, dep)
    with pytest.raises(PermissionDeniedError, match="compiler is not an operator"):
        world.svc.deployments.start(world.compiler, dep)


def test_no_key_no_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(f"sqlite:///{tmp_path / 'k.sqlite3'}", key=False)
    dep = draft(w)
    w.svc.deployments.authorise(w.ao1, dep)
    with pytest.raises(KeyUnavailableError, match="no master key: set OPENLFR_MASTER_KEY"):
        add_entries(w, dep)
    w.clock.advance(hours=1)
    with pytest.raises(RuleViolation, match="no master key available"):
        w.svc.deployments.start(w.op1, dep)


# -- watchlist (B.5-B.8) ----------------------------------------------------------------------
def test_uncategorised_entry_refused_and_nothing_stored(world: World) -> None:
    dep = draft(world)
    with pytest.raises(RuleViolation, match="category 'other' is not one of"):
        world.svc.watchlists.add_entry(
            world.compiler, dep, proposal(category="other"), template(1), b"img"
        )
    assert world.svc.watchlists.entries(world.dpo, dep) == []


def test_only_the_deployments_compiler_adds(world: World) -> None:
    dep = draft(world)
    # Deployment scoping (issue 10): another deployment's compiler is refused outright.
    with pytest.raises(PermissionDeniedError, match="compiler2 is not assigned"):
        add_entries(world, dep, 1, by=world.compiler2)
    with pytest.raises(RuleViolation, match="op1 is not a watchlist compiler"):
        add_entries(world, dep, 1, by=world.op1)


def test_compiler_cannot_sign_off_own_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(f"sqlite:///{tmp_path / 's.sqlite3'}")
    dep = draft(w, compiler="multi", officers=["ao2", "multi"])
    add_entries(w, dep, 2, by=w.multi)
    with pytest.raises(RuleViolation, match="a compiler cannot sign off their own watchlist"):
        w.svc.watchlists.sign_off(w.multi, dep)
    with pytest.raises(RuleViolation, match="op1 is not an authorising officer"):
        w.svc.watchlists.sign_off(w.op1, dep)
    projected = w.svc.watchlists.projected_false_alerts(dep)
    assert w.svc.watchlists.sign_off(w.ao2, dep) == pytest.approx(projected)
    with pytest.raises(RuleViolation, match="signed off; entries cannot be added"):
        add_entries(w, dep, 1, by=w.multi)


def test_size_cap(world: World) -> None:
    dep = draft(world, watchlist_size_cap=2)
    add_entries(world, dep, 2)
    with pytest.raises(RuleViolation, match="at its size cap of 2"):
        add_entries(world, dep, 1)


def test_template_of_another_model_refused(world: World) -> None:
    dep = draft(world)
    other = EmbeddingContract("other", "1", 16)
    with pytest.raises(ContractMismatchError):
        world.svc.watchlists.add_entry(world.compiler, dep, proposal(), template(1, other), b"img")


def test_flags_are_recorded(world: World) -> None:
    dep = draft(world)
    _, flags = world.svc.watchlists.add_entry(
        world.compiler, dep, proposal(quality_score=0.3), template(1), b"i"
    )
    assert flags == ["low_quality"]
    # A single-photo entry is flagged too (issue 11): it is found far less often.
    assert world.svc.watchlists.entries(world.dpo, dep)[0]["flags"] == [
        "low_quality",
        "single_photo",
    ]


# -- live: cameras, window, alerts (A.2, D.13-D.14) -------------------------------------------
def _alert(world: World, dep: str, entry: str, camera: str = "cam-1", seed: int = 0) -> str:
    return record_alert(
        world,
        dep,
        entry,
        seed,
        camera_id=camera,
        score=0.71,
        probe_jpeg=b"PROBE-CROP-MARKER" * 20,
        scene_jpeg=b"SCENE" * 20,
        source_ref="frame 7",
    )


def test_unknown_camera_refused(world: World) -> None:
    dep, ids = live(world)
    with pytest.raises(CameraNotAllowedError, match="'cam-x' is not on the whitelist"):
        world.svc.deployments.check_frame(dep, "cam-x")
    assert world.svc.deployments.deployment(dep)["frames_refused"] == 1
    with pytest.raises(CameraNotAllowedError):
        _alert(world, dep, ids[0], camera="cam-y")
    # Both counted and both audited (README: "refused, counted and audited").
    assert world.svc.deployments.deployment(dep)["frames_refused"] == 2
    assert world.svc.alerts.alerts(world.dpo, dep) == []
    frame, alert = (
        world.svc.audit.audit_records(actions=(a,))[0] for a in ("frame.refused", "alert.refused")
    )
    assert frame["after"]["camera"] == "cam-x" and alert["after"]["camera"] == "cam-y"
    assert alert["subject"] == f"deployment:{dep}"


def test_deployment_ends_by_itself_and_refuses_alerts_after(world: World) -> None:
    dep, ids = live(world)
    world.clock.advance(hours=8, minutes=1)
    with pytest.raises(InvalidStateError, match="window closed"):
        _alert(world, dep, ids[0])
    receipt = world.svc.retention.purge()
    assert receipt.deployments_ended == [dep]
    info = world.svc.deployments.deployment(dep)
    assert info["state"] == "ended" and info["ended_at"] == T0 + timedelta(hours=9)


def test_adjudication_rules(world: World) -> None:
    dep, ids = live(world)
    aid = _alert(world, dep, ids[0])
    with pytest.raises(RuleViolation, match="has not been adjudicated"):
        world.svc.alerts.record_outcome(
            world.op1, aid, engaged=False, duration_s=None, result="not_located"
        )
    with pytest.raises(RuleViolation, match="compiler is not an operator"):
        world.svc.alerts.review(world.compiler, aid, "confirm", "same person")
    with pytest.raises(RuleViolation, match="a decision needs a reason"):
        world.svc.alerts.review(world.op1, aid, "confirm", "")
    with pytest.raises(ValueError, match="decision 'maybe' is not one of"):
        world.svc.alerts.review(world.op1, aid, "maybe", "x")
    assert world.svc.alerts.review(world.op1, aid, "confirm", "same scar, same face") == "confirmed"
    with pytest.raises(RuleViolation, match="op1 has already reviewed this alert"):
        world.svc.alerts.review(world.op1, aid, "reject", "changed my mind")
    world.svc.alerts.record_outcome(world.op1, aid, engaged=True, duration_s=240, result="arrest")
    with pytest.raises(RuleViolation, match="outcome is already recorded"):
        world.svc.alerts.record_outcome(world.op2, aid, engaged=True, duration_s=1, result="arrest")


def test_eu_mode_needs_two_people_to_confirm(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(
        f"sqlite:///{tmp_path / 'eu.sqlite3'}", settings=GovernanceSettings(eu_mode=True)
    )
    dep, ids = live(
        w,
        judicial_authorisation_id="JUD-1",
        fria_ref="FRIA-1",
        eu_database_id="EU-9",
        art5_objective="Art 5(1)(h)(iii) locate suspect of a listed offence",
    )
    aid = _alert(w, dep, ids[0])
    assert w.svc.alerts.review(w.op1, aid, "confirm", "match") == "pending"
    assert w.svc.alerts.review(w.op2, aid, "confirm", "agree") == "confirmed"


def test_eu_urgent_start_lapses_and_purges(tmp_path) -> None:  # type: ignore[no-untyped-def]
    w = make_world(
        f"sqlite:///{tmp_path / 'eu2.sqlite3'}", settings=GovernanceSettings(eu_mode=True)
    )
    dep, ids = live(
        w,
        urgent=True,
        fria_ref="FRIA-1",
        eu_database_id="EU-9",
        art5_objective="x",
        ends_at=T0 + timedelta(days=3),
    )
    _alert(w, dep, ids[0])
    w.clock.advance(hours=24)
    rc = w.svc.retention.purge()
    assert rc.deployments_ended == [dep] and rc.alerts_deleted == {dep: 1}
    assert w.svc.alerts.alerts(w.dpo, dep) == [] and w.svc.watchlists.entries(w.dpo, dep) == []


# -- retention (E.16-E.17) and stubs (B.8) ------------------------------------------------------
def test_watchlist_destroyed_within_24h_leaving_a_stub(world: World) -> None:
    dep, ids = live(world)
    world.svc.deployments.end(world.op1, dep)
    world.clock.advance(hours=1)
    world.svc.retention.purge()
    assert (
        len(world.svc.watchlists.entries(world.dpo, dep)) == 3
    )  # grace period for late adjudication
    world.clock.advance(hours=23)
    rc = world.svc.retention.purge()
    assert rc.watchlists_destroyed == {dep: 3}
    assert world.svc.watchlists.entries(world.dpo, dep) == []
    stub = world.svc.watchlists.was_on_list(world.dpo, dep, ids[0])
    assert stub is not None and stub["state"] == "destroyed"
    assert (
        stub["category"] == "wanted_by_courts_or_police"
        and stub["template_digest"] == template(0).digest()
    )
    assert world.svc.watchlists.was_on_list(world.dpo, dep, "nope") is None
    with world.svc.ctx.factory() as s:
        keys = s.execute(text("select purpose from data_keys")).scalars().all()
    # Watchlist key shredded with the list; with no alerts left the alert key goes too.
    assert keys == []


def test_alerts_expire_unless_on_legal_hold(world: World) -> None:
    dep, ids = live(world)
    a1, a2 = _alert(world, dep, ids[0]), _alert(world, dep, ids[1])
    with pytest.raises(RuleViolation, match="legal hold needs a recorded reason"):
        world.svc.alerts.legal_hold(world.ao1, a2, " ")
    with pytest.raises(PermissionDeniedError):
        world.svc.alerts.legal_hold(world.op1, a2, "x")

    def holds() -> dict[str, str | None]:
        return {a["id"]: a["legal_hold"] for a in world.svc.alerts.alerts(world.dpo, dep)}

    assert holds() == {a1: None, a2: None}  # the refused attempts placed nothing
    world.svc.alerts.legal_hold(world.ao1, a2, "evidence in prosecution R v X")
    assert holds() == {a1: None, a2: "evidence in prosecution R v X"}
    (rec,) = world.svc.audit.audit_records(actions=("alert.legal_hold",))
    assert rec["subject"] == f"alert:{a2}" and rec["actor"] == "ao1"
    assert rec["after"] == {"reason": "evidence in prosecution R v X"}
    world.svc.deployments.end(world.op1, dep)
    world.clock.advance(days=30)
    assert world.svc.retention.purge().alerts_deleted == {}
    world.clock.advance(days=1, minutes=1)
    assert world.svc.retention.purge().alerts_deleted == {dep: 1}
    assert holds() == {a2: "evidence in prosecution R v X"}  # expired, but held
    # Released, the hold no longer protects it: the next purge deletes it.
    world.svc.alerts.legal_hold(world.ao1, a2, None)
    assert holds() == {a2: None}
    assert world.svc.retention.purge().alerts_deleted == {dep: 1}
    assert holds() == {}
    assert world.svc.audit.verify_audit().ok


def test_24h_retention_profile(world: World) -> None:
    dep, ids = live(world, retention_profile="24h")
    _alert(world, dep, ids[0])
    world.clock.advance(hours=24)
    assert world.svc.retention.purge().alerts_deleted == {dep: 1}


# -- subject rights --------------------------------------------------------------------------------
def test_subject_access_and_erasure(world: World) -> None:
    dep, ids = live(world)
    aid = _alert(world, dep, ids[2], seed=2)
    with pytest.raises(PermissionDeniedError):
        world.svc.subject_rights.subject_access(world.op1, template(2))
    hits = world.svc.subject_rights.subject_access(world.dpo, template(2), threshold=0.9)
    assert {(h.kind, h.id) for h in hits} == {("alert", aid), ("watchlist_entry", ids[2])}
    assert world.svc.subject_rights.subject_access(world.dpo, template(99), threshold=0.9) == []
    found = world.svc.subject_rights.search(world.dpo, template(2), threshold=0.9)
    req = world.svc.subject_rights.request_erasure(
        world.dpo, found.id, None, "erasure request 2026/17"
    )
    dpo2 = world.svc.accounts.create_user(world.admin, "dpo2", PASSWORD, ["auditor"])
    settle_accounts(world.svc)  # its own password set, its role confirmed by a second admin
    n = world.svc.subject_rights.approve_erasure(dpo2, req)
    assert n == {"alerts": 1, "watchlist_entries": 1}
    assert world.svc.alerts.alerts(world.dpo, dep) == []
    assert world.svc.watchlists.was_on_list(world.dpo, dep, ids[2])["state"] == "destroyed"  # type: ignore[index]
    assert world.svc.audit.verify_audit().ok


def test_least_privilege_on_reads(world: World) -> None:
    dep, ids = live(world)
    with pytest.raises(PermissionDeniedError, match="compiler needs one of the roles: operator"):
        world.svc.alerts.alerts(world.compiler, dep)
    with pytest.raises(PermissionDeniedError, match="op1 needs one of the roles: auditor"):
        world.svc.watchlists.was_on_list(world.op1, dep, ids[0])
    with pytest.raises(PermissionDeniedError):
        world.svc.watchlists.entries(world.admin, dep)
    with pytest.raises(PermissionDeniedError):
        world.svc.alerts.alert_evidence(world.compiler, "x")

"""A.3 urgent use (EU AI Act Art 5(3)): authorised in time, refused, lapsed; and the record of a
judicial authorisation. Each test reads back state and the audit log's deletion receipt."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import PermissionDeniedError, RuleViolation
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m
from tests.unit.governance._support import PASSWORD, T0, World, live, make_world, record_alert

EU = dict(
    urgent=True,
    fria_ref="FRIA-1",
    eu_database_id="EU-9",
    art5_objective="Art 5(1)(h)(iii) locate a suspect of a listed offence",
    ends_at=T0 + timedelta(days=3),
)


@pytest.fixture
def eu(tmp_path: Path, migrated_sqlite: Path) -> World:
    db = tmp_path / "eu.sqlite3"
    shutil.copy(migrated_sqlite, db)
    w = make_world(f"sqlite:///{db}", settings=GovernanceSettings(eu_mode=True), migrate=False)
    w.people["ao3"] = w.svc.accounts.create_user(w.admin, "ao3", PASSWORD, ["authorising_officer"])
    return w


def alert(w: World, dep: str, entry: str) -> str:
    return record_alert(
        w,
        dep,
        entry,
        score=0.71,
        probe_jpeg=b"PROBE" * 20,
        scene_jpeg=b"SCENE" * 20,
        source_ref="frame 7",
    )


def counts(w: World, dep: str) -> dict[str, int]:
    with w.svc.ctx.factory() as s:

        def n(model: Any, col: Any) -> int:
            q = select(func.count()).select_from(model).where(col == dep)
            return int(s.execute(q).scalar_one())

        return {
            "alerts": n(m.Alert, m.Alert.deployment_id),
            "entries": n(m.WatchlistEntry, m.WatchlistEntry.deployment_id),
            "keys": n(m.DataKey, m.DataKey.deployment_id),
            "equality": n(am.EqualityRecord, am.EqualityRecord.deployment_id),
        }


def receipts(w: World, dep: str) -> list[dict[str, Any]]:
    recs = w.svc.audit.audit_records(actions=("deployment.purge",), limit=10)
    return [r for r in recs if r["subject"] == f"deployment:{dep}"]


def reviewed_with_group(w: World, dep: str, entry: str) -> str:
    a = alert(w, dep, entry)
    w.svc.alerts.review(w.op1, a, "confirm", "same person")
    w.svc.alerts.review(w.op2, a, "confirm", "agree")
    w.svc.assurance.record_group(w.op1, a, "white")
    return a


def test_urgent_start_authorised_in_time_keeps_running_and_its_data(eu: World) -> None:
    dep, ids = live(eu, **EU)
    alert(eu, dep, ids[0])
    eu.clock.advance(hours=23)
    eu.svc.deployments.record_judicial_authorisation(eu.ao1, dep, "COURT-2026-17")
    eu.clock.advance(hours=2)  # past the 24 h: authorised, so nothing lapses
    rc = eu.svc.retention.purge()
    assert dep not in rc.deployments_ended and dep not in rc.alerts_deleted
    assert eu.svc.deployments.deployment(dep)["state"] == "live"
    assert counts(eu, dep)["alerts"] == 1 and counts(eu, dep)["entries"] == 3
    assert receipts(eu, dep) == []


def test_refused_authorisation_stops_at_once_and_deletes_everything(eu: World) -> None:
    dep, ids = live(eu, **EU)
    reviewed_with_group(eu, dep, ids[0])
    alert(eu, dep, ids[1])
    assert counts(eu, dep) == {"alerts": 2, "entries": 3, "keys": 2, "equality": 1}
    eu.clock.advance(hours=3)
    receipt = eu.svc.judicial.record_refusal(eu.ao1, dep, "COURT-2026-18", "not necessary")
    assert eu.svc.deployments.deployment(dep)["state"] == "ended"
    assert counts(eu, dep) == {"alerts": 0, "entries": 0, "keys": 0, "equality": 0}
    assert receipt["alerts_deleted"] == 2 and receipt["crops_deleted"] == 4
    (r,) = receipts(eu, dep)  # the receipt, read back from the audit log
    assert r["after"]["alerts_deleted"] == 2 and r["after"]["crops_deleted"] == 4
    assert r["after"]["watchlist_entries_destroyed"] == 3
    assert "refused" in r["after"]["policy"] and "COURT-2026-18" in r["after"]["policy"]
    assert r["after"]["at"].startswith((T0 + timedelta(hours=4)).isoformat()[:16])
    (ref,) = eu.svc.audit.audit_records(actions=("deployment.judicial_refusal",))
    assert ref["after"]["judicial_refusal_ref"] == "COURT-2026-18"
    # A refused use cannot be authorised afterwards, nor restarted.
    with pytest.raises(RuleViolation, match="refused this use"):
        eu.svc.deployments.record_judicial_authorisation(eu.ao1, dep, "COURT-LATE")
    with pytest.raises(RuleViolation, match="only an authorised one can start"):
        eu.svc.deployments.start(eu.op1, dep)


def test_refusal_before_the_start_cancels(eu: World) -> None:
    dep, _ = live(eu, **EU)
    eu.svc.judicial.record_refusal(eu.ao1, dep, "COURT-9", "refused")
    assert eu.svc.deployments.deployment(dep)["state"] == "ended"
    dep2 = eu.svc.deployments.create_deployment(
        eu.ao1, "second", **{**_fields(), **EU, "operators": ["op1"]}
    )
    eu.svc.judicial.record_refusal(eu.ao1, dep2, "COURT-10", "refused")
    assert eu.svc.deployments.deployment(dep2)["state"] == "cancelled"
    with pytest.raises(Exception, match="cancelled"):
        eu.svc.deployments.authorise(eu.ao1, dep2)


def _fields() -> dict[str, Any]:
    from tests.unit.governance._support import full_fields

    return full_fields()


def test_refusal_by_wrong_deployment_or_role_changes_nothing(eu: World) -> None:
    dep, ids = live(eu, **EU)
    alert(eu, dep, ids[0])
    before = counts(eu, dep)
    with pytest.raises(PermissionDeniedError):
        eu.svc.judicial.record_refusal(eu.ao3, dep, "COURT-1", "x")  # officer of none of it
    with pytest.raises(PermissionDeniedError):
        eu.svc.judicial.record_refusal(eu.op1, dep, "COURT-1", "x")  # wrong role
    with pytest.raises(RuleViolation, match="missing the authority's reference"):
        eu.svc.judicial.record_refusal(eu.ao1, dep, "  ", "x")
    assert counts(eu, dep) == before and eu.svc.deployments.deployment(dep)["state"] == "live"
    assert eu.svc.deployments.deployment(dep)["judicial_authorisation_id"] is None
    assert receipts(eu, dep) == []


def test_urgent_use_lapses_even_when_it_ended_before_24h(eu: World) -> None:
    dep, ids = live(eu, **EU)
    alert(eu, dep, ids[0])
    eu.clock.advance(hours=2)
    eu.svc.deployments.end(eu.op1, dep)
    eu.clock.advance(hours=21)  # 23 h after the start: still time for the authority
    rc = eu.svc.retention.purge()
    assert dep not in rc.alerts_deleted and rc.watchlists_destroyed == {dep: 3}  # B.8 grace
    assert counts(eu, dep)["alerts"] == 1
    eu.clock.advance(hours=1)
    rc = eu.svc.retention.purge()
    assert rc.alerts_deleted == {dep: 1}
    assert counts(eu, dep) == {"alerts": 0, "entries": 0, "keys": 0, "equality": 0}
    (r,) = receipts(eu, dep)
    assert r["after"]["alerts_deleted"] == 1 and "not authorised in 24 h" in r["after"]["policy"]
    with pytest.raises(RuleViolation, match="too late"):
        eu.svc.deployments.record_judicial_authorisation(eu.ao1, dep, "COURT-LATE")


def test_record_judicial_authorisation(eu: World) -> None:
    dep, _ = live(eu, **EU)
    with pytest.raises(PermissionDeniedError):
        eu.svc.deployments.record_judicial_authorisation(eu.op1, dep, "COURT-1")
    with pytest.raises(PermissionDeniedError):
        eu.svc.deployments.record_judicial_authorisation(eu.ao3, dep, "COURT-1")
    with pytest.raises(RuleViolation, match="missing reference"):
        eu.svc.deployments.record_judicial_authorisation(eu.ao1, dep, " ")
    assert eu.svc.deployments.deployment(dep)["judicial_authorisation_id"] is None
    eu.svc.deployments.record_judicial_authorisation(eu.ao1, dep, "COURT-2026-20")
    assert eu.svc.deployments.deployment(dep)["judicial_authorisation_id"] == "COURT-2026-20"
    (r,) = eu.svc.audit.audit_records(actions=("deployment.judicial_authorisation",))
    assert r["subject"] == f"deployment:{dep}" and r["actor"] == "ao1"
    assert r["before"] == {"judicial_authorisation_id": None}
    assert r["after"] == {"judicial_authorisation_id": "COURT-2026-20"}

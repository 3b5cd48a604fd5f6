"""G.20 / E.17: what the audit log says, read back from it (not just the action names)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from tests.unit.governance._support import World, add_entries, draft, live, record_alert, template


def records(w: World, action: str, subject: str | None = None) -> list[dict[str, Any]]:
    got = w.svc.audit.audit_records(actions=(action,), limit=500)
    return [r for r in got if subject is None or r["subject"] == subject]


def alert(w: World, dep: str, entry: str, seed: int, ref: str) -> str:
    return record_alert(
        w,
        dep,
        entry,
        seed,
        camera_id="cam-2",
        score=0.7123456789,
        probe_jpeg=b"P" * 20,
        source_ref=ref,
    )


def test_deletion_receipts_state_count_policy_and_time(world: World) -> None:
    w = world
    dep, ids = live(w)
    a1 = alert(w, dep, ids[0], 1, "frame 10")
    alert(w, dep, ids[1], 2, "frame 11")
    alert(w, dep, ids[2], 3, "frame 12")
    w.svc.alerts.legal_hold(w.ao1, a1, "evidence in a prosecution")
    w.svc.deployments.end(w.op1, dep)
    w.clock.advance(days=32)  # past the 31-day retention period
    when = w.clock()
    w.svc.retention.purge()
    (purged,) = records(w, "retention.purge_alerts", f"deployment:{dep}")
    assert purged["after"]["alerts_deleted"] == 2  # the held alert stays
    assert purged["after"]["policy"] == "retention 31d"
    assert purged["after"]["at"] == when.isoformat() and purged["at"] == when.isoformat()
    (destroyed,) = records(w, "watchlist.destroy", f"deployment:{dep}")
    assert (
        destroyed["after"]["entries"] == 3 and destroyed["after"]["policy"] == "B.8 watchlist 24 h"
    )
    assert destroyed["after"]["by_category"]["wanted_by_courts_or_police"] == 3
    (receipt,) = records(w, "retention.receipt")
    assert receipt["after"]["alerts_deleted"] == {dep: 2}
    assert receipt["after"]["watchlists_destroyed"] == {dep: 3}
    assert receipt["at"] == when.isoformat()
    assert len(w.svc.alerts.alerts(w.dpo, dep)) == 1  # what the receipts say is what happened


def test_sign_off_records_the_snapshot_hash_and_size_recomputed(world: World) -> None:
    w = world
    dep = draft(w)
    w.svc.deployments.authorise(w.ao1, dep)
    ids = add_entries(w, dep, 4)
    w.svc.watchlists.sign_off(w.ao2, dep)
    (r,) = records(w, "watchlist.sign_off", f"deployment:{dep}")
    assert r["actor"] == "ao2" and r["after"]["size"] == 4
    # Recomputed from the entries' ids and template digests (independent of the service).
    expected = hashlib.sha256(
        "".join(sorted(i + template(n).digest() for n, i in enumerate(ids))).encode()
    ).hexdigest()
    assert r["after"]["snapshot_hash"] == expected
    w.clock.advance(hours=1)
    w.svc.deployments.start(w.op1, dep)
    (start,) = records(w, "deployment.start", f"deployment:{dep}")
    assert start["after"]["watchlist_snapshot_hash"] == expected
    assert start["after"]["watchlist_size"] == 4


def test_alert_record_names_its_source_frame_camera_entry_and_score(world: World) -> None:
    w = world
    dep, ids = live(w)
    aid = alert(w, dep, ids[1], 7, "cam-2.mp4#frame=1234")
    (r,) = records(w, "alert.record", f"alert:{aid}")
    assert r["after"]["source_ref"] == "cam-2.mp4#frame=1234"
    assert r["after"]["camera"] == "cam-2" and r["after"]["entry_id"] == ids[1]
    assert r["after"]["deployment"] == dep and r["after"]["threshold"] == 0.5
    assert r["after"]["score"] == 0.712346
    assert r["after"]["probe_digest"] == template(7).digest()
    w.svc.alerts.review(w.op1, aid, "confirm", "same person")
    (rv,) = records(w, "alert.review", f"alert:{aid}")
    assert rv["actor"] == "op1" and rv["after"]["decision"] == "confirm"  # who verified it


def test_threshold_change_records_before_and_after(world: World) -> None:
    w = world
    dep = draft(w)
    w.svc.deployments.update_deployment(w.ao1, dep, threshold=0.6)
    (r,) = records(w, "deployment.update", f"deployment:{dep}")
    assert r["before"]["threshold"] == 0.5 and r["after"]["threshold"] == 0.6
    w.svc.deployments.update_deployment(w.ao1, dep, ends_at=w.clock() + timedelta(hours=8))
    later = records(w, "deployment.update", f"deployment:{dep}")[0]
    assert later["before"]["threshold"] == later["after"]["threshold"] == 0.6

"""Perceived-group records are special-category data (issue 22, item 7): sealed, never tied to
an entry in any log, deleted with the alert, and published only small-number-suppressed and
after the deployment ends."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from openlfr.services import assurance_public
from openlfr.storage import assurance_models as am
from openlfr.storage import controls_models as cm
from tests.unit.governance._support import T0, World, live, record_alert


def reviewed(w: World, dep: str, entry: str, decision: str, group: str, seed: int = 0) -> str:
    aid = record_alert(w, dep, entry, seed, probe_jpeg=b"P" * 20, source_ref=f"frame {seed}")
    w.svc.alerts.review(w.op1, aid, decision, "checked")
    w.svc.assurance.record_group(w.op1, aid, group)
    return aid


def test_group_is_sealed_and_no_log_ties_it_to_an_alert_or_entry(world: World) -> None:
    dep, ids = live(world)
    aid = reviewed(world, dep, ids[0], "confirm", "black_or_black_british")
    with world.svc.ctx.factory() as s:
        r = s.get(am.EqualityRecord, aid)
        assert r is not None and r.perceived_group is None and r.group_enc
        assert b"black" not in r.group_enc
        raw = s.execute(text("select * from equality_records")).all()
        assert "black" not in repr(raw)
        log = s.execute(text("select subject, before_json, after_json from audit_log")).all()
    assert "black" not in repr(log)  # the group is in no audit record
    (rec,) = world.svc.audit.audit_records(actions=("equality.record",))
    assert rec["subject"] == f"deployment:{dep}" and aid not in repr(rec)
    # Still readable where it is used (the deployment's own equality figures).
    assert world.svc.assurance.equality(T0.year, dep)[0]["group"] == "black_or_black_british"


def test_record_is_deleted_with_its_alert_leaving_an_anonymous_count(world: World) -> None:
    dep, ids = live(world)
    aid = reviewed(world, dep, ids[0], "reject", "white")
    world.svc.deployments.end(world.op1, dep)
    world.clock.advance(days=40)  # past every retention period
    world.svc.retention.purge()
    with world.svc.ctx.factory() as s:
        assert s.get(am.EqualityRecord, aid) is None
        tally = s.execute(select(cm.EqualityTally)).scalars().all()
        cols = s.execute(text("select * from equality_tally")).keys()
    assert [(t.perceived_group, t.false_alert, t.count) for t in tally] == [("white", True, 1)]
    assert not {"alert_id", "entry_id", "deployment_id"} & set(cols)
    assert world.svc.assurance.equality(T0.year)[0]["false_alerts"] == 1  # the year still counts


def test_published_only_after_the_end_and_small_cells_suppressed(world: World) -> None:
    w = world
    dep, ids = live(w, ends_at=T0 + timedelta(days=2))
    for i in range(12):
        reviewed(w, dep, ids[i % 3], "reject", "white", seed=i)
        reviewed(w, dep, ids[i % 3], "confirm", "white", seed=100 + i)
    for i in range(3):
        reviewed(w, dep, ids[0], "reject", "asian_or_asian_british", seed=200 + i)
    assert w.svc.assurance.equality(T0.year, published=True) == []  # still live
    assert assurance_public.annual(w.svc, T0.year)["equality"] == []
    w.svc.deployments.end(w.op1, dep)
    rows = {r["group"]: r for r in assurance_public.annual(w.svc, T0.year)["equality"]}
    assert rows["white"]["false_alerts"] == 12 and rows["white"]["confirmed_alerts"] == 12
    assert rows["white"]["suppressed"] is False
    small = rows["asian_or_asian_british"]
    assert small["suppressed"] is True
    assert {k for k, v in small.items() if v is not None} == {"group", "suppressed"}
    csv = assurance_public.annual_csv(assurance_public.annual(w.svc, T0.year))
    (line,) = [x for x in csv.splitlines() if x.startswith("asian_or_asian_british")]
    assert not any(ch.isdigit() for ch in line), line

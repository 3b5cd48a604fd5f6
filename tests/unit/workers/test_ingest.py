"""Ingestion is idempotent on the worker's ids, and refuses workers that may not add records."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from openlfr.broker.messages import AlertMessage, AlertPayload, CountersMessage
from openlfr.broker.protocol import SigningKey
from openlfr.errors import NotFoundError, PermissionDeniedError
from openlfr.services.ingest import Ingestor
from openlfr.services.workers import WorkerIdentity, WorkerService
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import World, live, make_world, template

KEYS: dict[str, SigningKey] = {}
ENTRIES: dict[str, int] = {}  # entry id -> the seed of its template (governance _support)
CLOCK: list[float] = []  # the world's time (frame times fall in the deployment's window)


def enrolled(ws: WorkerService, wid: str) -> SigningKey:
    KEYS[wid] = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "w"), KEYS[wid].public)
    return KEYS[wid]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[World, str, list[str], str, bytes]:
    w = make_world(f"sqlite:///{tmp_path / 'i.sqlite3'}")
    dep, entries = live(w, cameras=["cam-1"])
    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "van")
    enrolled(ws, wid)
    ws.assign(w.ao1, wid, dep)
    (a,) = ws.assignments(WorkerIdentity(wid, "van"))
    ENTRIES.update({e: i for i, e in enumerate(entries)})
    CLOCK[:] = [w.clock.now.timestamp()]
    return w, dep, entries, wid, bytes.fromhex(a["alert_public_key"])


def _alert(dep: str, wid: str, pub: bytes, entry: str, **over: object) -> AlertMessage:
    now = CLOCK[0] if CLOCK else time.time()
    probe = template(ENTRIES.get(entry, 99)).vector  # the entry's own face: score 1.0
    p = AlertPayload(
        entry, 1.0, 0.5, MOCK_CONTRACT.id, now, now, 3, 0.12, b"\xff\xd8p", b"\xff\xd8s",
        template=probe, template_contract=MOCK_CONTRACT.to_dict(),
    )  # fmt: skip
    p = replace(p, **over)  # type: ignore[arg-type]
    return AlertMessage.seal(pub, alert_id=uuid.uuid4().hex, deployment_id=dep,
                             worker_id=wid, camera_id="cam-1", payload=p).signed(
                                 KEYS.get(wid) or SigningKey.generate())  # fmt: skip


def _count(w: World, dep: str) -> int:
    with w.svc.ctx.factory() as s:
        return int(s.scalar(select(func.count()).select_from(m.Alert).where(
            m.Alert.deployment_id == dep)) or 0)  # fmt: skip


def test_alert_once_through_redelivery(setup) -> None:  # type: ignore[no-untyped-def]
    w, dep, entries, wid, pub = setup
    ing = Ingestor(w.svc)
    msg = _alert(dep, wid, pub, entries[0])
    assert ing(msg, False) == "recorded"
    assert ing(msg, True) == "duplicate"
    with w.svc.ctx.factory() as s:
        (row,) = s.execute(select(mw.IngestedEvent)).scalars()
        assert row.msg_id == msg.alert_id and row.ref is not None  # committed with the alert
    assert _count(w, dep) == 1
    # Same id twice in one batch: once.
    m2 = _alert(dep, wid, pub, entries[1])
    assert ing.batch([(m2, False), (m2, True)]) == ["recorded", "duplicate"]
    assert _count(w, dep) == 2


def test_counters_once_and_unknown_or_revoked_workers_refused(setup) -> None:  # type: ignore[no-untyped-def]
    w, dep, entries, wid, pub = setup
    ing = Ingestor(w.svc)
    c = CountersMessage("run1:1", dep, wid, "cam-1", frames=100, faces=3).signed(KEYS[wid])
    assert ing(c) == "recorded" and ing(c) == "duplicate"
    assert w.svc.deployments.deployment(dep)["frames_processed"] == 100
    other, _ = WorkerService(w.svc).issue(w.admin, "other")  # not assigned
    enrolled(WorkerService(w.svc), other)
    with pytest.raises(PermissionDeniedError):
        ing(_alert(dep, other, pub, entries[0]), False)
    # Forged: claims to be the assigned worker, signed with another worker's key.
    f = _alert(dep, other, pub, entries[0])
    f = replace(f, worker_id=wid).signed(KEYS[other])
    with pytest.raises(PermissionDeniedError, match="signed"):
        ing(f, False)
    unsigned = replace(_alert(dep, wid, pub, entries[0]), sig="")
    with pytest.raises(PermissionDeniedError, match="signed"):
        ing(unsigned, False)
    WorkerService(w.svc).revoke(w.admin, wid, "stolen")
    with pytest.raises(PermissionDeniedError):
        ing(_alert(dep, wid, pub, entries[0]), False)
    with pytest.raises(PermissionDeniedError):
        ing(CountersMessage("run1:2", dep, wid, "cam-1", frames=5, faces=0).signed(KEYS[wid]))
    assert _count(w, dep) == 0 and w.svc.deployments.deployment(dep)["frames_processed"] == 100


def test_one_bad_alert_does_not_sink_its_batch(setup) -> None:  # type: ignore[no-untyped-def]
    w, dep, entries, wid, pub = setup
    good, bad, good2 = (_alert(dep, wid, pub, e) for e in (entries[0], "not-an-entry", entries[1]))
    out = Ingestor(w.svc).batch([(good, False), (bad, False), (good2, False)])
    assert out[0] == "recorded" and out[2] == "recorded"
    assert isinstance(out[1], NotFoundError)
    assert _count(w, dep) == 2
    # The refused one left no alert, only its refusal: a ledger row (so a replay is refused
    # too) and an audit record of why, with ids only.
    with w.svc.ctx.factory() as s:
        row = s.get(mw.IngestedEvent, bad.alert_id)
        assert row is not None and row.ref is None and row.outcome == "refused:not_found"
        q = select(m.AuditRecord).where(m.AuditRecord.action == "ingest.refuse")
        assert bad.alert_id in s.execute(q).scalar_one().after_json


def test_watchlist_version_changes_when_an_entry_goes(setup) -> None:  # type: ignore[no-untyped-def]
    w, dep, entries, wid, _ = setup
    ws = WorkerService(w.svc)
    (before,) = ws.assignments(WorkerIdentity(wid, "van"))
    live0 = ws.live_assignments()[(wid, dep)]
    with w.svc.ctx.factory() as s, s.begin():  # as an erasure would, mid-deployment
        s.delete(s.get(m.WatchlistEntry, entries[0]))
    (after,) = ws.assignments(WorkerIdentity(wid, "van"))
    assert before["watchlist_version"] != after["watchlist_version"]
    assert ws.live_assignments()[(wid, dep)] != live0  # the centre then pushes a refresh


def test_a_batch_keeps_one_audit_record_per_alert_and_a_valid_chain(setup) -> None:  # type: ignore[no-untyped-def]
    w, dep, entries, wid, pub = setup
    rung: list[int] = []
    w.svc.ctx.on_alerts.append(lambda: rung.append(1))
    good = [_alert(dep, wid, pub, entries[i % len(entries)]) for i in range(12)]
    bad = _alert(dep, wid, pub, "not-an-entry")
    forged = replace(_alert(dep, wid, pub, entries[0]), sig="")
    items = [(g, False) for g in good] + [(bad, False), (bad, True), (forged, False)]
    items.append((good[3], True))  # a redelivered copy inside the same batch
    out = Ingestor(w.svc).batch(items)
    assert out[:12] == ["recorded"] * 12 and out[-1] == "duplicate"
    assert isinstance(out[12], NotFoundError) and isinstance(out[13], NotFoundError)
    assert isinstance(out[14], PermissionDeniedError)
    assert rung == [1]  # once per committed batch, not per alert
    with w.svc.ctx.factory() as s:
        rows = list(s.execute(select(mw.IngestedEvent)).scalars())
        ledger = {e.msg_id: e.ref for e in rows if e.outcome == "recorded"}
        assert set(ledger) == {g.alert_id for g in good}
        # The refused one is kept as refused, once; the forged one (no signature) not at all.
        assert {e.msg_id: e.outcome for e in rows if e.ref is None} == {
            bad.alert_id: "refused:not_found"
        }
        q = select(m.AuditRecord.subject).where(m.AuditRecord.action == "alert.record")
        assert sorted(s.execute(q).scalars()) == sorted(f"alert:{a}" for a in ledger.values())
    assert w.svc.audit.verify_audit().ok
    assert _count(w, dep) == 12
    # A batch that records nothing rings nothing.
    assert Ingestor(w.svc).batch([(good[0], True)]) == ["duplicate"] and rung == [1]


def test_edge_alerts_are_held_like_in_process_ones(setup) -> None:  # type: ignore[no-untyped-def]
    # A paused false-alert monitor holds every match, wherever it was found: an edge alert is
    # counted as suppressed, nothing of it kept, and its redelivery is not counted again.
    from openlfr.services.walkby import assurance_row

    w, dep, entries, wid, pub = setup
    with w.svc.ctx.tx() as s:
        assurance_row(s, dep).monitor_state = "paused"
    ing = Ingestor(w.svc)
    msg = _alert(dep, wid, pub, entries[0])
    assert ing(msg, False) == "held" and ing(msg, True) == "duplicate"
    assert _count(w, dep) == 0
    with w.svc.ctx.factory() as s:
        assert assurance_row(s, dep).suppressed_matches == 1
        (row,) = s.execute(select(mw.IngestedEvent)).scalars()
        assert row.ref is None
    with w.svc.ctx.tx() as s:
        assurance_row(s, dep).monitor_state = "active"
    assert ing(_alert(dep, wid, pub, entries[1]), False) == "recorded"
    assert _count(w, dep) == 1


def test_an_entry_is_read_once_per_batch_and_each_alert_still_re_scored(setup) -> None:  # type: ignore[no-untyped-def]
    # The entry is read (and its templates opened) once for a batch, not once per alert: the
    # per-alert query was what bounded the intake. Every alert of it is still compared with
    # its templates, so one whose probe is another face is refused alone.
    from sqlalchemy import event

    from openlfr.errors import AlertClaimError

    w, dep, entries, wid, pub = setup
    reads: list[str] = []
    engine = w.svc.ctx.factory.kw["bind"]

    def seen(conn, cursor, sql: str, *_: object) -> None:  # type: ignore[no-untyped-def]
        if sql.lstrip().upper().startswith("SELECT") and "FROM watchlist_entries" in sql:
            reads.append(sql)

    event.listen(engine, "before_cursor_execute", seen)
    good = [_alert(dep, wid, pub, entries[0]) for _ in range(5)]
    wrong = _alert(dep, wid, pub, entries[0], template=template(ENTRIES[entries[1]]).vector)
    out = Ingestor(w.svc).batch([(a, False) for a in [*good[:2], wrong, *good[2:]]])
    event.remove(engine, "before_cursor_execute", seen)
    assert out[:2] + out[3:] == ["recorded"] * 5 and isinstance(out[2], AlertClaimError)
    assert _count(w, dep) == 5
    # One read to re-score, one (ids only) to record: not one per alert.
    assert len(reads) == 2, reads
    # Nothing outlives the batch: the entry erased, its next alert is refused.
    with w.svc.ctx.factory() as s, s.begin():
        s.delete(s.get(m.WatchlistEntry, entries[0]))
    (late,) = Ingestor(w.svc).batch([(_alert(dep, wid, pub, entries[0]), False)])
    assert isinstance(late, NotFoundError) and _count(w, dep) == 5


@pytest.mark.parametrize(
    "over",
    [{"subject_id": ["x"]}, {"score": "abc"}, {"frame_time": "x"}, {"frame_time": 1e20},
     {"threshold": float("nan")}, {"frame_index": 2.5}, {"template_contract": [1, 2]}],
)  # fmt: skip
def test_a_signed_alert_with_malformed_fields_is_refused_alone(setup, over) -> None:  # type: ignore[no-untyped-def]
    # Sealed and signed by an enrolled worker, but not of its types: refused and kept as
    # refused, not an error that fails (and so redelivers, again and again) its whole batch.
    from openlfr.errors import BrokerMessageError

    w, dep, entries, wid, pub = setup
    good, bad = _alert(dep, wid, pub, entries[0]), _alert(dep, wid, pub, entries[1], **over)
    out = Ingestor(w.svc).batch([(good, False), (bad, False)])
    assert out[0] == "recorded" and isinstance(out[1], BrokerMessageError)
    assert _count(w, dep) == 1
    with w.svc.ctx.factory() as s:
        row = s.get(mw.IngestedEvent, bad.alert_id)
        assert row is not None and row.outcome == "refused:broker_message_invalid"

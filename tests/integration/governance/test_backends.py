"""The storage guarantees on each backend: concurrent audit appends, tamper detection, purge."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from openlfr.services.alerts import AlertIn
from openlfr.storage import audit
from openlfr.storage.db import make_engine, session_factory, upgrade
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import live, make_world, template


def _on_threads(target: Callable[[int], None], n: int) -> list[BaseException]:
    """Run `target(0..n-1)` on n threads at once; what they raised (otherwise lost)."""
    errors: list[BaseException] = []

    def guarded(i: int) -> None:
        try:
            target(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_chain_stays_linear_under_concurrent_writers(db_url: str) -> None:
    w = make_world(db_url)
    key = w.svc.ctx.audit_key()  # every writer keys its records, as the service does

    def writer(n: int) -> None:
        for i in range(10):
            with w.svc.ctx.factory() as s, s.begin():
                entry = audit.Entry(f"t{n}", "test.write", f"n:{i}")
                audit.append(s, w.clock(), entry, key)

    assert _on_threads(writer, 4) == []
    rep = w.svc.audit.verify_audit()
    assert rep.ok and rep.records == 9 + 3 + 40  # 9 users, 3 training records, 40 writes


def test_writers_racing_on_an_empty_log_all_land(db_url: str) -> None:
    """The first records of a fresh database: concurrent writers must not each create the chain
    head (all but one would fail with the action they record); the first migration seeds it."""
    upgrade(db_url)
    factory = session_factory(make_engine(db_url))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        with factory() as s, s.begin():
            if s.get_bind().dialect.name == "postgresql":
                # Connected and in a transaction, so the race is the appends alone. (SQLite's
                # BEGIN IMMEDIATE would hold the others off the barrier: it serialises here.)
                s.connection()
            start.wait()
            audit.append(s, at, audit.Entry(f"t{n}", "test.first", f"n:{n}"))

    assert _on_threads(writer, 8) == []
    with factory() as s:
        rep = audit.verify(s)
    assert rep.ok and rep.records == 8


def test_rules_tamper_and_purge_on_each_backend(db_url: str) -> None:
    w = make_world(db_url)
    dep, ids = live(w)
    aid = w.svc.alerts.record_alert(
        dep,
        AlertIn(
            camera_id="cam-1",
            entry_id=ids[0],
            score=0.9,
            threshold=0.5,
            contract_id=MOCK_CONTRACT.id,
            detected_at=w.clock(),
            template=template(0),
            probe_jpeg=b"probe",
        ),
    )
    w.svc.alerts.review(w.op1, aid, "reject", "different person")
    w.svc.deployments.end(w.op1, dep)
    w.clock.advance(days=31, hours=1)
    rc = w.svc.retention.purge()
    assert rc.alerts_deleted == {dep: 1} and rc.watchlists_destroyed == {dep: 3}
    assert rc.keys_destroyed == [dep]
    rec = w.svc.transparency.deployment_record(dep)
    assert (rec.alerts, rec.false_alerts, rec.false_alert_rate_per_alerts) == (1, 1, 1.0)
    assert w.svc.audit.verify_audit().ok
    with w.svc.ctx.factory() as s, s.begin():
        s.execute(
            text("update audit_log set at = :t where seq = 2"),
            {"t": (w.clock() - timedelta(days=1)).isoformat()},
        )
    rep = w.svc.audit.verify_audit()
    assert not rep.ok and rep.first_bad_seq == 2

"""Item 5: the audit chain is anchored outside the database (ASVS V7.3.3 log integrity)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from openlfr.storage import audit
from openlfr.storage.models import AuditRecord
from tests.unit.governance._support import World, live


def _sql(w: World, q: str) -> None:
    with w.svc.ctx.factory() as s, s.begin():
        s.execute(text(q))


def test_truncation_with_head_rollback_is_detected_against_a_published_head(w: World) -> None:
    dep, _ = live(w)
    w.svc.deployments.end(w.op1, dep)
    published = w.svc.transparency.deployment_record(dep).audit_head
    n, h = audit.parse_head(published)
    assert n > 5 and len(h) == 64
    assert w.svc.audit.verify_audit(published=published).ok
    kept = n - 3
    # Delete the newest records and move the head row back: a valid shorter chain remains.
    with w.svc.ctx.factory() as s, s.begin():
        last = s.get(AuditRecord, kept)
        assert last is not None
        s.execute(text(f"delete from audit_log where seq > {kept}"))
        s.execute(text("update audit_head set seq = :n, hash = :h"), {"n": kept, "h": last.hash})
    rep = w.svc.audit.verify_audit(published=published)
    assert not rep.ok and "published head" in str(rep)


def test_records_are_keyed_so_a_rewrite_cannot_be_recomputed(w: World) -> None:
    live(w)
    with w.svc.ctx.factory() as s, s.begin():
        recs = list(s.execute(text("select alg from audit_log")).scalars())
    assert recs and set(recs) == {audit.KEYED}
    # An attacker with the database edits record 3 and recomputes every hash after it
    # (knowing the algorithm but not the key, which is not in the database).
    with w.svc.ctx.factory() as s, s.begin():
        rows = list(s.execute(AuditRecord.__table__.select().order_by(AuditRecord.seq)))
        prev = audit.GENESIS
        for row in rows:
            r = s.get(AuditRecord, row.seq)
            assert r is not None
            if r.seq == 3:
                r.actor = "mallory"
            r.prev_hash, r.alg = prev, audit.PLAIN
            r.hash = audit.record_hash(prev, r)
            prev = r.hash
        s.execute(text("update audit_head set hash = :h"), {"h": prev})
    rep = w.svc.audit.verify_audit()
    assert not rep.ok and "keyed" in str(rep)


def test_transparency_documents_publish_the_head(w: World) -> None:
    dep, _ = live(w)
    w.svc.deployments.end(w.op1, dep)
    rec = w.svc.transparency.deployment_record(dep).to_dict()
    assert rec["audit_head"].count(":") == 1
    year = w.clock().year
    summary = w.svc.transparency.annual_summary(year)
    assert audit.parse_head(summary["audit_head"])[0] >= audit.parse_head(rec["audit_head"])[0]


def test_cli_verify_checks_a_published_head(w: World, cli_env: Any) -> None:
    run = cli_env
    dep, _ = live(w)
    head = w.svc.transparency.deployment_record(dep).audit_head
    r = run("audit", "verify", "--head", head)
    assert r.exit_code == 0, r.output
    n, _ = audit.parse_head(head)
    _sql(w, f"delete from audit_log where seq > {n - 2}")
    with w.svc.ctx.factory() as s, s.begin():
        last = s.get(AuditRecord, n - 2)
        assert last is not None
        s.execute(text("update audit_head set seq = :n, hash = :h"), {"n": n - 2, "h": last.hash})
    r = run("audit", "verify")
    assert r.exit_code == 0  # without the published head, a rolled-back chain looks whole
    r = run("audit", "verify", "--head", head)
    assert r.exit_code == 1 and "published head" in r.output

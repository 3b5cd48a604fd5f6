"""Audit chain tamper detection, encryption at rest and purge residue (SQLite file bytes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from openlfr.errors import KeyUnavailableError
from openlfr.storage import audit
from openlfr.storage.crypto import MasterKey, generate_key_file, new_data_key, open_sealed, seal
from openlfr.storage.models import AuditRecord
from tests.unit.governance._support import MARKER, World, live, record_alert, template


def _db_bytes(w: World) -> bytes:
    path = Path(w.url.removeprefix("sqlite:///"))
    data = path.read_bytes()
    for extra in (path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
        if extra.exists():
            data += extra.read_bytes()
    return data


def _sql(w: World, sql: str, **params: object) -> None:
    with w.svc.ctx.factory() as s, s.begin():
        s.execute(text(sql), params)


def _alert(w: World, dep: str, entry: str) -> str:
    return record_alert(w, dep, entry, 7, score=0.8, probe_jpeg=b"PROBE-CROP-MARKER" * 30)


def test_chain_intact_then_edit_detected(world: World) -> None:
    live(world)
    rep = world.svc.audit.verify_audit()
    assert rep.ok and rep.records > 10
    _sql(world, "update audit_log set after_json = :a where seq = 5", a='{"username":"mallory"}')
    rep = world.svc.audit.verify_audit()
    assert not rep.ok and rep.first_bad_seq == 5 and "edited" in str(rep)


def test_delete_detected(world: World) -> None:
    live(world)
    _sql(world, "delete from audit_log where seq = 7")
    rep = world.svc.audit.verify_audit()
    assert not rep.ok and rep.first_bad_seq == 7 and "missing" in str(rep)


def test_insert_detected(world: World) -> None:
    live(world)
    # A forger who knows the algorithm appends a well-formed record: the head row catches it.
    with world.svc.ctx.factory() as s, s.begin():
        last = s.execute(text("select max(seq) from audit_log")).scalar_one()
        prev = s.get(AuditRecord, last)
        assert prev is not None
        r = AuditRecord(
            seq=last + 1,
            at=prev.at,
            actor="mallory",
            action="user.create",
            subject="user:x",
            before_json="{}",
            after_json="{}",
            prev_hash=prev.hash,
        )
        r.hash = audit.record_hash(prev.hash, r)
        s.add(r)
    rep = world.svc.audit.verify_audit()
    # Without the audit key the forger can only write an unkeyed record, which is refused.
    assert not rep.ok and "unkeyed" in str(rep)


def test_insert_in_the_middle_detected(world: World) -> None:
    live(world)
    _sql(world, "update audit_log set seq = seq + 1000 where seq >= 4")
    _sql(world, "update audit_log set seq = seq - 999 where seq >= 1004")
    _sql(
        world,
        "insert into audit_log (seq, at, actor, action, subject, before_json, after_json, "
        "prev_hash, hash) values (4, 'x', 'mallory', 'x', 'x', '{}', '{}', 'x', 'x')",
    )
    rep = world.svc.audit.verify_audit()
    assert not rep.ok and rep.first_bad_seq == 4 and "does not link" in str(rep)


def test_truncation_detected(world: World) -> None:
    live(world)
    _sql(world, "delete from audit_log where seq = (select max(seq) from audit_log)")
    assert not world.svc.audit.verify_audit().ok


def test_audit_never_holds_biometrics(world: World) -> None:
    live(world)
    with world.svc.ctx.factory() as s:
        rows = s.execute(text("select before_json || after_json from audit_log")).scalars().all()
    blob = "".join(rows)
    assert "MARKER" not in blob and "PND/" not in blob  # no images, no subject references
    with pytest.raises(TypeError, match="bytes are never written"):
        audit.canonical({"x": b"raw"})


def test_biometrics_at_rest_are_unreadable_without_key(world: World) -> None:
    dep, ids = live(world)
    _alert(world, dep, ids[0])
    raw = _db_bytes(world)
    assert MARKER not in raw and b"PROBE-CROP-MARKER" not in raw and b"PND/0" not in raw
    for i in range(3):
        vec = np.ascontiguousarray(template(i).vector).tobytes()
        assert vec not in raw and vec[:16] not in raw
    with world.svc.ctx.factory() as s:
        wrapped = s.execute(
            text("select wrapped from data_keys where purpose='watchlist'")
        ).scalar_one()
        blob = s.execute(text("select image_enc from watchlist_entries limit 1")).scalar_one()
    with pytest.raises(KeyUnavailableError, match="does not open"):
        MasterKey(bytes(32)).unwrap(wrapped, f"{dep}/watchlist")
    with pytest.raises(KeyUnavailableError):
        open_sealed(new_data_key(), blob, "watchlist_entries:x:image")


def test_purge_leaves_no_residue_in_the_file(world: World) -> None:
    dep, ids = live(world)
    aid = _alert(world, dep, ids[0])
    with world.svc.ctx.factory() as s:
        probe = s.execute(text("select probe_enc from alerts where id=:i"), {"i": aid}).scalar_one()
        image = s.execute(text("select image_enc from watchlist_entries limit 1")).scalar_one()
    assert probe in _db_bytes(world) and image in _db_bytes(world)
    world.svc.deployments.end(world.op1, dep)
    world.clock.advance(days=31, minutes=1)
    rc = world.svc.retention.purge()
    assert (
        rc.alerts_deleted == {dep: 1}
        and rc.watchlists_destroyed == {dep: 3}
        and rc.keys_destroyed == [dep]
    )
    raw = _db_bytes(world)
    assert probe[20:80] not in raw and image[20:80] not in raw
    assert world.svc.audit.verify_audit().ok


def test_key_file_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENLFR_MASTER_KEY", raising=False)
    with pytest.raises(KeyUnavailableError, match="openlfr keys init"):
        MasterKey.load(tmp_path / "none.key")
    kf = generate_key_file(tmp_path / "m.key")
    assert oct(kf.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileExistsError):
        generate_key_file(kf)
    mk = MasterKey.load(kf)
    dk = new_data_key()
    assert mk.unwrap(mk.wrap(dk, "d/w"), "d/w") == dk
    with pytest.raises(KeyUnavailableError):
        mk.unwrap(mk.wrap(dk, "d/w"), "other/w")  # a wrapped key is bound to its deployment
    monkeypatch.setenv("OPENLFR_MASTER_KEY", "not-base64!")
    with pytest.raises(KeyUnavailableError, match="base64"):
        MasterKey.load(kf)
    assert open_sealed(dk, seal(dk, b"x", "a"), "a") == b"x"

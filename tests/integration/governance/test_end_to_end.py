"""Acceptance, end to end on real data, against SQLite and PostgreSQL.

Users -> draft -> authorise -> watchlist from LFW + a subject enrolled from the video -> sign-off
-> live run on the walkers video -> adjudicate -> end -> transparency record -> +24 h watchlist
destroyed, stub answers -> +31 days alerts purged, no bytes left -> audit verify passes, and fails
after one audit record is edited.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from openlfr.errors import CameraNotAllowedError
from openlfr.pipeline.sources import PyAVSource
from openlfr.services.run import run_deployment
from openlfr.vision.engine import FaceEngine, default_threshold
from tests.unit.governance._support import (
    KEY,
    T0,
    approval_for,
    approve_model,
    full_fields,
    make_world,
)

pytestmark = [pytest.mark.data, pytest.mark.slow]


def _raw(url: str) -> bytes:
    p = Path(url.removeprefix("sqlite:///"))
    out = p.read_bytes()
    j = p.with_name(p.name + "-journal")
    return out + (j.read_bytes() if j.exists() else b"")


def _cli(url: str, *args: str) -> tuple[int, str]:
    import typer

    from openlfr.cli import governance
    from openlfr.config.settings import get_settings

    app = typer.Typer()
    governance.register(app)
    get_settings.cache_clear()
    import base64

    # The CLI needs the same master key: the audit chain's key is derived from it here.
    env = {"OPENLFR_DATABASE_URL": url, "OPENLFR_MASTER_KEY": base64.b64encode(KEY).decode()}
    res = CliRunner().invoke(app, list(args), env=env)
    get_settings.cache_clear()
    return res.exit_code, res.output


def test_lawful_deployment_end_to_end(
    db_url: str,
    sface_engine: FaceEngine,
    video_path: Path,
    lfw_photos: list[tuple[str, Path]],
    mated_jpeg: bytes,
) -> None:
    w = make_world(db_url)
    svc, contract = w.svc, sface_engine.contract
    threshold = default_threshold(contract)
    approve_model(w, approval_for(contract, floor=threshold - 0.05))
    dep = svc.deployments.create_deployment(
        w.ao1,
        "Arcade",
        **full_fields(
            model_contract_id=contract.id,
            threshold=threshold,
            cameras=["arcade-1"],
            expected_faces=5000,
        ),
    )
    svc.deployments.authorise(w.ao1, dep)

    common = dict(
        legal_basis="warrant",
        source_system="PND",
        image_captured_on=date(2025, 1, 1),
        reason="wanted on warrant",
    )
    for i, (name, photo) in enumerate(lfw_photos):
        cat = "wanted_by_courts_or_police" if i % 2 else "suspected_of_offence"
        svc.watchlists.add_entry_from_photo(
            w.compiler, dep, sface_engine, photo, category=cat, subject_ref=name, **common
        )
    mated, _ = svc.watchlists.add_entry_from_photo(
        w.compiler,
        dep,
        sface_engine,
        mated_jpeg,
        category="missing_or_vulnerable",
        subject_ref="MISPER-1",
        **common,
    )
    size = len(lfw_photos) + 1
    assert svc.watchlists.projected_false_alerts(dep) is not None
    svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    svc.deployments.start(w.op1, dep)

    with pytest.raises(CameraNotAllowedError):
        run_deployment(
            svc, w.op1, dep, PyAVSource(str(video_path)), camera_id="lobby-9", engine=sface_engine
        )
    res = run_deployment(
        svc,
        w.op1,
        dep,
        PyAVSource(str(video_path), start_s=1.0),
        camera_id="arcade-1",
        engine=sface_engine,
    )
    assert res.alerts_recorded == 1 and res.faces_processed > 0
    (alert,) = svc.alerts.alerts(w.dpo, dep)
    assert alert["entry_id"] == mated and alert["score"] >= threshold

    evidence = svc.alerts.alert_evidence(w.op1, alert["id"])
    assert (
        evidence["probe_jpeg"][:3] == b"\xff\xd8\xff" and evidence["watchlist_jpeg"] == mated_jpeg
    )
    assert (
        svc.alerts.review(w.op1, alert["id"], "confirm", "same face, same clothing") == "confirmed"
    )
    svc.alerts.record_outcome(
        w.op1, alert["id"], engaged=True, duration_s=300, result="condition_check"
    )

    hits = svc.subject_rights.subject_access(
        w.dpo, sface_engine.face_from_file(mated_jpeg).template
    )
    assert {(h.kind, h.id) for h in hits} >= {("alert", alert["id"]), ("watchlist_entry", mated)}

    w.clock.advance(hours=2)
    svc.deployments.end(w.op1, dep)
    rec = svc.transparency.deployment_record(dep)
    assert (rec.alerts, rec.true_alerts, rec.false_alerts, rec.engagements) == (1, 1, 0, 1)
    assert rec.watchlist_size == size and rec.watchlist_by_category["missing_or_vulnerable"] == 1
    assert rec.faces_processed == res.faces_processed and rec.camera_count == 1
    assert rec.other_outcomes == {"condition_check": 1} and rec.false_alert_rate_per_alerts == 0

    with svc.ctx.factory() as s:
        blobs = [
            s.execute(text(f"select {c} from alerts")).scalar_one()
            for c in ("probe_enc", "scene_enc", "template_enc")
        ]

    w.clock.advance(hours=24)
    assert svc.retention.purge().watchlists_destroyed == {dep: size}
    assert svc.watchlists.entries(w.dpo, dep) == []
    stub = svc.watchlists.was_on_list(w.dpo, dep, mated)
    assert (
        stub is not None
        and stub["state"] == "destroyed"
        and stub["category"] == "missing_or_vulnerable"
    )
    assert (
        svc.transparency.deployment_record(dep).watchlist_size == size
    )  # the record survives destruction

    w.clock.now = T0 + timedelta(days=33)
    assert svc.retention.purge().alerts_deleted == {dep: 1}
    assert svc.alerts.alerts(w.dpo, dep) == []
    with svc.ctx.factory() as s:
        assert s.execute(text("select count(*) from data_keys")).scalar_one() == 0
    if db_url.startswith("sqlite"):
        raw = _raw(db_url)
        assert all(b is not None and b[16:64] not in raw for b in blobs)
    assert svc.transparency.deployment_record(dep).true_alerts == 1  # counts survive the purge

    code, out = _cli(db_url, "report", "deployment", dep, "--format", "csv")
    assert code == 0 and "true_alerts" in out.splitlines()[0]
    code, out = _cli(db_url, "report", "deployment", dep, "--format", "html")
    assert code == 0 and "<table>" in out
    code, out = _cli(db_url, "audit", "verify")
    assert code == 0, out
    with svc.ctx.factory() as s, s.begin():
        s.execute(text("update audit_log set actor = 'mallory' where seq = 3"))
    code, out = _cli(db_url, "audit", "verify")
    assert code == 1 and "record 3" in out

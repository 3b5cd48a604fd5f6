"""The whole governed flow over the REST API with the mock engine, and its 4xx answers."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from tests.unit.api._support import (
    METRICS,
    draft_fields,
    entry_form,
    face_png,
    ready_deployment,
    token,
    wait_for,
)
from tests.unit.governance._support import World


def test_draft_lists_missing_items_then_authorises(client: TestClient) -> None:
    ao = token(client, "ao1")
    r = client.post("/api/v1/deployments", json={"name": "Half done"}, headers=ao)
    assert r.status_code == 201
    dep = r.json()["id"]
    r = client.get(f"/api/v1/deployments/{dep}/readiness", headers=ao)
    assert r.status_code == 200 and not r.json()["ready"]
    assert "missing DPIA reference" in r.json()["missing"]
    r = client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao)
    assert r.status_code == 409 and "missing DPIA reference" in r.json()["problems"]

    f = draft_fields()
    f.pop("compiler"), f.pop("operators")
    assert client.patch(f"/api/v1/deployments/{dep}", json=f, headers=ao).status_code == 200
    r = client.patch(
        f"/api/v1/deployments/{dep}",
        json={"compiler": "compiler", "operators": ["op1"]},
        headers=ao,
    )
    assert r.status_code == 200
    # C.10: expected false alerts = expected faces x FPIR(size cap, threshold), from the
    # model's evaluation, the same figure before and at authorisation.
    from openlfr.vision.mock import MOCK_CONTRACT
    from tests.unit.governance._support import approval_for

    f = draft_fields()
    expected = approval_for(MOCK_CONTRACT).expected_false_alerts(
        f["expected_faces"], 5000, f["threshold"]
    )
    assert expected > 0
    r = client.get(f"/api/v1/deployments/{dep}/readiness", headers=ao).json()
    assert r["ready"] and r["expected_false_alerts_at_cap"] == pytest.approx(expected)
    r = client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao)
    assert r.status_code == 200 and r.json()["expected_false_alerts"] == pytest.approx(expected)
    # Invalid transition: authorised twice.
    assert client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao).status_code == 409
    # Editing after authorisation is refused.
    r = client.patch(f"/api/v1/deployments/{dep}", json={"location": "x"}, headers=ao)
    assert r.status_code == 409


def test_bad_input_gets_clear_4xx(client: TestClient, w: World) -> None:
    ao, comp = token(client, "ao1"), token(client, "compiler")
    dep = client.post(
        "/api/v1/deployments", json={"name": "T", **draft_fields()}, headers=ao
    ).json()["id"]
    client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao)
    url = f"/api/v1/deployments/{dep}/watchlist"

    def upload(data: bytes, **form: str) -> int:
        files = {"photo": ("p.png", data, "image/png")}
        r = client.post(url, headers=comp, files=files, data=entry_form(**form))
        assert r.headers["content-type"].startswith("application/json")
        return r.status_code

    def entries() -> list[dict[str, object]]:
        got: list[dict[str, object]] = client.get(url, headers=comp).json()
        return got

    audit_before = w.svc.audit.audit_count()
    assert upload(b"this is not an image") == 415
    assert upload(b"") == 415
    big = client.app.state.ctx.max_upload_bytes + 10  # type: ignore[attr-defined]
    assert upload(b"\xff\xd8" + b"0" * big) == 413
    assert upload(face_png(), category="other") == 422  # closed list
    assert upload(face_png(), legal_basis="") == 422
    # Each refusal lost nothing and added nothing: no entry, no audit record.
    assert entries() == [] and w.svc.audit.audit_count() == audit_before
    assert (
        client.post(
            "/api/v1/deployments/nope/watchlist",
            headers=comp,
            files={"photo": ("p.png", face_png(), "image/png")},
            data=entry_form(),
        ).status_code
        == 404
    )
    no_face = face_png(colour=(128, 128, 128))
    r = client.post(
        url, headers=comp, files={"photo": ("g.png", no_face, "image/png")}, data=entry_form()
    )
    assert r.status_code == 400 and r.json()["error"] == "no_face"
    assert entries() == [] and w.svc.audit.audit_count() == audit_before
    assert upload(face_png()) == 201
    assert len(entries()) == 1
    assert (
        client.get("/api/v1/alerts/unknown/evidence", headers=token(client, "op1")).status_code
        == 404
    )
    r = client.post("/api/v1/deployments", json={"name": "T", "purpose": "curiosity"}, headers=ao)
    assert r.status_code == 422
    r = client.post(
        "/api/v1/deployments", json={"name": "T", "starts_at": "2026-01-01T10:00"}, headers=ao
    )
    assert r.status_code == 422  # no time zone
    # Separation of duties: the reviewer who signs off cannot be the compiler's colleague op.
    r = client.post(f"/api/v1/deployments/{dep}/watchlist/sign-off", headers=ao)
    assert r.status_code == 200


def test_live_alert_review_outcome_and_transparency(client: TestClient, w: World) -> None:
    dep = ready_deployment(client, w)
    op = token(client, "op1")
    r = client.post(f"/api/v1/deployments/{dep}/start", headers=op)
    assert r.status_code == 200, r.text
    assert r.json()["cameras_running"] == ["cam-1"]
    alerts = wait_for(lambda: client.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json())
    (a,) = alerts
    assert a["status"] == "pending" and a["score"] >= a["threshold"]
    ev = client.get(f"/api/v1/alerts/{a['id']}/evidence", headers=op).json()
    assert base64.b64decode(ev["probe_jpeg_b64"])[:3] == b"\xff\xd8\xff"
    # The listed photo comes cropped to its face (in memory, for the card), not as enrolled.
    ref = base64.b64decode(ev["watchlist_jpeg_b64"])
    assert ref[:3] == b"\xff\xd8\xff" and ref != face_png()
    assert ev["subject_ref"] and ev["legal_basis"] and ev["reason"]
    # No reason, no adjudication.
    r = client.post(
        f"/api/v1/alerts/{a['id']}/review", json={"decision": "confirm", "reason": ""}, headers=op
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/alerts/{a['id']}/review",
        json={"decision": "confirm", "reason": "same face"},
        headers=op,
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = client.post(
        f"/api/v1/alerts/{a['id']}/outcome",
        json={"engaged": True, "duration_s": 60, "result": "condition_check"},
        headers=op,
    )
    assert r.status_code == 200, r.text
    r = client.post(
        f"/api/v1/alerts/{a['id']}/outcome",
        json={"engaged": True, "duration_s": 60, "result": "condition_check"},
        headers=op,
    )
    assert r.status_code == 409  # already recorded

    wait_for(
        lambda: (
            not any(
                x["running"]
                for x in client.get(f"/api/v1/deployments/{dep}/live", headers=op).json()
            )
        )
    )
    metrics = client.get("/metrics", headers=METRICS).text
    assert 'openlfr_frames_total{camera="cam-1"}' in metrics
    assert 'openlfr_alerts_total{camera="cam-1"} 1.0' in metrics
    assert "op1" not in metrics and a["entry_id"] not in metrics

    assert client.post(f"/api/v1/deployments/{dep}/end", headers=op).status_code == 200
    assert client.post(f"/api/v1/deployments/{dep}/end", headers=op).status_code == 409
    pub = client.get("/api/v1/public/deployments").json()
    (p,) = [x for x in pub if x["notice"]["deployment_id"] == dep]
    assert p["state"] == "ended" and p["record"]["true_alerts"] == 1
    page = client.get("/transparency").text
    assert "true alerts" in page and "Cardiff" in page

    dpo = token(client, "dpo")
    assert client.get("/api/v1/audit/verify", headers=dpo).json()["ok"]
    actions = {r["action"] for r in client.get("/api/v1/audit?limit=500", headers=dpo).json()}
    assert {"alert.record", "alert.review", "alert.outcome", "deployment.start"} <= actions
    hits = client.post(
        "/api/v1/subject-access", headers=dpo, files={"photo": ("q.png", face_png(), "image/png")}
    ).json()["hits"]
    # The mock engine may not re-find its square in a JPEG probe crop; the entry it does find.
    assert ("watchlist_entry", a["entry_id"]) in {(h["kind"], h["id"]) for h in hits}

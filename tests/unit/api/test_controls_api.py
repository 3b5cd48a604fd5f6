"""Issue 22 through the API: training records (administrators record, auditors read), the
assessment download (the deployment's officers and auditors only), and B.6 with the gate on."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient

from openlfr.governance.deployment import Actor
from tests.unit.api._support import (
    PASSWORD,
    draft_fields,
    entry_form,
    face_png,
    ready_deployment,
    token,
)
from tests.unit.governance._support import World


def test_admin_records_training_and_auditor_reads_it(client: TestClient, w: World) -> None:
    admin, dpo, op = token(client, "admin"), token(client, "dpo"), token(client, "op1")
    w.svc.accounts.create_user(w.admin, "op9", PASSWORD, ["operator"])
    body = {
        "username": "op9",
        "course": "LFR operator",
        "completed_on": "2026-02-01",
        "expires_on": "2027-02-01",
    }
    for who in (op, dpo, token(client, "ao1")):
        assert client.post("/api/v1/training", json=body, headers=who).status_code == 403
    assert client.get("/api/v1/training", params={"username": "op9"}, headers=dpo).json() == []
    r = client.post("/api/v1/training", json=body, headers=admin)
    assert r.status_code == 201, r.text
    bad = {**body, "expires_on": "2025-01-01"}
    r = client.post("/api/v1/training", json=bad, headers=admin)
    assert r.status_code == 409 and "expiry must be after" in r.text
    got = client.get("/api/v1/training", params={"username": "op9"}, headers=dpo).json()
    assert [(g["course"], g["current"]) for g in got] == [("LFR operator", True)]
    assert client.get("/api/v1/training", headers=op).status_code == 403


def test_assessment_download_for_its_officers_only(client: TestClient, w: World) -> None:
    dep = ready_deployment(client, w)
    r = client.get(f"/api/v1/deployments/{dep}/assessment", headers=token(client, "ao1"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    assert r.headers["x-content-sha256"] == hashlib.sha256(r.content).hexdigest()
    assert "# DPIA draft: Test" in r.text and "[TO COMPLETE]" in r.text
    (rec,) = w.svc.audit.audit_records(actions=("deployment.assessment_draft",))
    assert rec["after"]["sha256"] == r.headers["x-content-sha256"]
    # Another deployment's officer, and roles without a part in it, are refused; nothing logged.
    other: Actor = w.svc.accounts.create_user(w.admin, "aoX", PASSWORD, ["authorising_officer"])
    assert other.username == "aoX"
    for user in ("aoX", "op1", "compiler", "admin"):
        r = client.get(f"/api/v1/deployments/{dep}/assessment", headers=token(client, user))
        assert r.status_code in (403, 404), (user, r.status_code)
    assert len(w.svc.audit.audit_records(actions=("deployment.assessment_draft",))) == 1


def test_flat_mock_face_is_refused_as_blurred_and_nothing_stored(
    client: TestClient, w: World
) -> None:
    ao1, comp = token(client, "ao1"), token(client, "compiler")
    dep = client.post("/api/v1/deployments", json={"name": "B6", **draft_fields()}, headers=ao1)
    dep_id = dep.json()["id"]
    assert client.post(f"/api/v1/deployments/{dep_id}/authorise", headers=ao1).status_code == 200
    url = f"/api/v1/deployments/{dep_id}/watchlist"
    before = w.svc.audit.audit_count()
    for photo, why in (
        (face_png(sharp=False), "the face is blurred"),
        (face_png(size=30), "below the minimum 60 px"),
    ):
        r = client.post(
            url, headers=comp, files={"photo": ("p.png", photo, "image/png")}, data=entry_form()
        )
        assert r.status_code == 409 and why in r.json()["message"] + str(r.json()["problems"])
    assert client.get(url, headers=comp).json() == [] and w.svc.audit.audit_count() == before


def test_public_csv_neutralises_formulas_in_staff_text(client: TestClient, w: World) -> None:
    import csv
    import io

    from openlfr.governance.transparency import to_csv

    evil = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
    out = to_csv([{f"c{i}": v for i, v in enumerate(evil)}])
    (row,) = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [row[f"c{i}"] for i in range(len(evil))] == ["'" + v for v in evil[:-1]] + ["'\nx"]
    assert to_csv([{"n": -1.5, "s": "plain"}]).splitlines()[1] == "-1.5,plain"  # numbers kept
    ao1 = token(client, "ao1")
    body = {"name": "Test", **draft_fields(location='=HYPERLINK("http://evil","x")')}
    dep = client.post("/api/v1/deployments", json=body, headers=ao1).json()["id"]
    assert client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao1).status_code == 200
    text = client.get("/api/v1/public/deployments.csv").text
    (pub,) = list(csv.DictReader(io.StringIO(text)))
    assert pub["location"] == '\'=HYPERLINK("http://evil","x")'


def test_admin_console_shows_training_records(client: TestClient) -> None:
    from tests.unit.api.test_console import _login

    _login(client, "admin")
    page = client.get("/admin").text
    assert "Operator training" in page and "LFR operator" in page
    assert "2027-01-12" in page and 'data-api="POST /api/v1/training"' in page


def test_training_dates_must_be_iso_strings(client: TestClient) -> None:
    body = {"username": "op1", "course": "x", "completed_on": 0, "expires_on": "2027-01-01"}
    r = client.post("/api/v1/training", json=body, headers=token(client, "admin"))
    assert r.status_code == 422, r.text

"""A deployment on the supplier's shipped report: the authorise answer and the console page
carry the recommendation to re-run the evaluation locally; a local report carries none."""

from __future__ import annotations

import dataclasses

from fastapi.testclient import TestClient

from openlfr.eval.approval import SUPPLIER
from openlfr.services.approvals import report_digest
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.api._support import PASSWORD, draft_fields, token
from tests.unit.governance._support import World, approval_for


def _draft(client: TestClient) -> str:
    r = client.post("/api/v1/deployments", json={"name": "Pilot", **draft_fields()},
                    headers=token(client, "ao1"))  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_recommendation_shown_at_authorisation(client: TestClient, w: World) -> None:
    local = _draft(client)
    r = client.post(f"/api/v1/deployments/{local}/authorise", headers=token(client, "ao1"))
    assert r.status_code == 200 and r.json()["recommendations"] == []
    shipped = dataclasses.replace(approval_for(MOCK_CONTRACT), evidence=SUPPLIER)
    w.svc.approvals.record_model_approval(w.admin, shipped)
    w.svc.approvals.countersign(w.ao2, shipped.contract_id, report_digest(shipped))
    dep = _draft(client)
    client.post("/api/v1/auth/login", json={"username": "ao1", "password": PASSWORD})
    page = client.get(f"/deployments/{dep}").text
    assert 'id="supplier-evidence"' in page and "openlfr eval report" in page
    r = client.post(f"/api/v1/deployments/{dep}/authorise", headers=token(client, "ao1"))
    assert r.status_code == 200, r.text
    (rec,) = r.json()["recommendations"]
    assert "supplier's evaluation report" in rec

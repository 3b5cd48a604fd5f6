"""The audit search page and its CSV export: auditors and administrators only; cells cannot
run as formulas; opening an alert's evidence is audited once per person, not per look."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api._support import PASSWORD, ready_deployment, token, wait_for
from tests.unit.governance._support import World


def _login(client: TestClient, user: str) -> None:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200


@pytest.mark.parametrize("path", ["/audit", "/audit.csv"])
def test_audit_search_refused_to_others(client: TestClient, path: str) -> None:
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    for user in ("op1", "ao1", "compiler"):
        _login(client, user)
        r = client.get(path)
        assert r.status_code == 403 and "needs one of the roles" in r.text, (user, path)
        assert "text/csv" not in r.headers.get("content-type", "")


def test_audit_search_and_csv(client: TestClient, tmp_path: Path) -> None:
    _login(client, "admin")
    # A username can't start with "=", but a display name or a reason could: the deployment
    # name below lands in the CSV through the record's details.
    h = token(client, "ao1")
    r = client.post("/api/v1/deployments", json={"name": "=HYPERLINK(1)"}, headers=h)
    dep = r.json()["id"]
    _login(client, "dpo")
    page = client.get(f"/audit?actor=ao1&deployment={dep}")
    assert page.status_code == 200 and "Deployment “=HYPERLINK(1)”" in page.text
    r = client.get(f"/audit.csv?actor=ao1&deployment={dep}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["#", "time", "person", "action", "subject", "details"]
    assert len(rows) >= 2 and all(row[2] == "ao1" for row in rows[1:])
    assert rows[1][4] == "Deployment “=HYPERLINK(1)”"
    for row in rows[1:]:
        assert not any(c.startswith(("=", "+", "-", "@")) for c in row), row
    # Filters that match nothing give nothing, not everything.
    none = list(csv.reader(io.StringIO(client.get("/audit.csv?actor=nobody").text)))
    assert len(none) == 1


def test_evidence_is_audited_once_per_person_not_per_look(client: TestClient, w: World) -> None:
    dep = ready_deployment(client, w)
    op, dpo = token(client, "op1"), token(client, "dpo")
    assert client.post(f"/api/v1/deployments/{dep}/start", headers=op).status_code == 200
    alerts = wait_for(lambda: client.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json())
    aid = alerts[0]["id"]
    for _ in range(3):  # three page loads of the same card
        assert client.get(f"/api/v1/alerts/{aid}/evidence", headers=op).status_code == 200
    assert client.get(f"/api/v1/alerts/{aid}/evidence", headers=dpo).status_code == 200
    views = w.svc.audit.search(action="alert.view")
    assert sorted(r["actor"] for r in views if r["subject"] == f"alert:{aid}") == ["dpo", "op1"]
    # The listing carries each alert's reviews, so a decided card keeps who, when and why.
    r = client.post(
        f"/api/v1/alerts/{aid}/review",
        json={"decision": "reject", "reason": "other face"},
        headers=op,
    )
    assert r.status_code == 200
    got = {a["id"]: a for a in client.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json()}
    (rev,) = got[aid]["reviews"]
    assert rev["by"] == "op1" and rev["decision"] == "reject" and rev["reason"] == "other face"

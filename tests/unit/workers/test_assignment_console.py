"""The deployment's page shows its workers, who assigned each and whether that counts; only an
authorising officer of the deployment gets the forms to assign a registered worker or end an
assignment, each behind a confirmation that says what it does (issue 19 item 4)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from openlfr.errors import PermissionDeniedError
from openlfr.services.workers import WorkerService
from tests.unit.api._support import PASSWORD, app_for
from tests.unit.governance._support import World, draft, full_fields


def _page(c: TestClient, user: str, dep: str) -> str:
    c.cookies.clear()
    r = c.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return c.get(f"/deployments/{dep}").text


def test_officer_assigns_and_ends_from_the_page_others_only_see(w: World) -> None:
    ws = WorkerService(w.svc)
    van1, _ = ws.issue(w.admin, "van-1")
    ws.issue(w.admin, "van-2")
    van3, _ = ws.issue(w.admin, "van-3")
    ws.revoke(w.admin, van3, "stolen")
    dep = draft(w)
    with TestClient(app_for(w, sources={})) as c:
        page = _page(c, "ao1", dep)
        assert f"PUT /api/v1/workers/{van1}/deployments/{dep}" in page
        assert "van-2" in page and "van-3" not in page  # a revoked worker is not offered
        assert "will fetch this deployment's watchlist" in page  # says what it does
        ws.assign(w.ao1, van1, dep)
        page = _page(c, "ao1", dep)
        assert f"DELETE /api/v1/workers/{van1}/deployments/{dep}" in page
        assert f"PUT /api/v1/workers/{van1}/deployments/{dep}" not in page
        assert "stops this deployment's cameras now" in page
        for user in ("op1", "compiler"):  # on the deployment: they see, they cannot act
            page = _page(c, user, dep)
            assert "van-1" in page and "/api/v1/workers/" not in page, user


def test_assignable_workers_are_an_officers_of_that_deployment_only(w: World) -> None:
    ws = WorkerService(w.svc)
    ws.issue(w.admin, "van-1")
    dep = draft(w)
    other = w.svc.deployments.create_deployment(w.ao2, "Elsewhere", **full_fields())
    assert [x["name"] for x in ws.assignable_workers(w.ao1, dep)] == ["van-1"]
    for who, where in ((w.admin, dep), (w.op1, dep), (w.compiler, dep), (w.ao1, other)):
        with pytest.raises(PermissionDeniedError):
            ws.assignable_workers(who, where)

"""Finding 3: an administrator reached deployment B's watchlist by registering a worker,
assigning it to B and fetching B's templates with the worker's token. No officer of B was
involved. Now only an authorising officer of a deployment assigns a worker to it, and a worker
token reads no deployment it was not assigned to by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from openlfr.errors import PermissionDeniedError
from openlfr.services.workers import WorkerIdentity, WorkerService
from openlfr.storage import models_workers as mw
from tests.security._two import Two, two_deployments
from tests.unit.api._support import app_for, token
from tests.unit.governance._support import World


@pytest.fixture
def two(w: World) -> Two:
    return two_deployments(w)


@pytest.fixture
def api(w: World, two: Two) -> Iterator[TestClient]:
    with TestClient(app_for(w, sources={})) as c:
        yield c


def test_admin_cannot_route_a_worker_to_b(w: World, two: Two, api: TestClient) -> None:
    admin = token(api, "admin")
    r = api.post("/api/v1/workers", json={"name": "van-x"}, headers=admin)
    assert r.status_code == 201
    wid, tok = r.json()["id"], r.json()["token"]
    worker = {"Authorization": f"Bearer {tok}"}
    path = f"/api/v1/workers/{wid}/deployments/{two.b.dep}"
    assert api.put(path, headers=admin).status_code == 403  # the finding's step 2
    # Nor an officer of another deployment, nor B's operator or compiler.
    for user in ("ao1", "ao2", "opB", "compiler2"):
        assert api.put(path, headers=token(api, user)).status_code == 403, user
    r = api.get(f"/api/v1/worker/deployments/{two.b.dep}/watchlist", headers=worker)
    assert r.status_code == 403 and "vectors_b64" not in r.text
    assert api.get("/api/v1/worker/assignments", headers=worker).json() == []
    # B's own officer can, and that is audited and shown on B's page.
    assert api.put(path, headers=token(api, "aoB")).status_code == 200
    (on,) = api.get(f"/api/v1/deployments/{two.b.dep}/workers", headers=token(api, "opB")).json()
    assert on["assigned_by"] == "aoB" and on["by_officer"]
    assert any(
        r["actor"] == "aoB" and r["subject"] == f"deployment:{two.b.dep}"
        for r in w.svc.audit.audit_records(actions=("worker.assign",))
    )


def test_an_assignment_not_made_by_an_officer_opens_nothing(w: World, two: Two) -> None:
    """An assignment row an administrator made before this rule (or wrote into the database)
    is not one an officer made: the worker still reads nothing of B."""
    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "legacy")
    with w.svc.ctx.tx() as s:
        s.add(mw.WorkerAssignment(worker_id=wid, deployment_id=two.b.dep,
                                  assigned_at=datetime.now(UTC), assigned_by="admin"))  # fmt: skip
    me = WorkerIdentity(wid, "legacy")
    with pytest.raises(PermissionDeniedError):
        ws.watchlist(me, two.b.dep)
    assert ws.assignments(me) == []
    assert (wid, two.b.dep) not in ws.live_assignments()
    # The administrator, given the officer role by themselves, is still not B's officer.
    w.svc.accounts.set_roles(w.admin, w.admin.id, ["administrator", "authorising_officer"])
    with pytest.raises(PermissionDeniedError):
        ws.assign(w.svc.accounts.actor("admin"), wid, two.b.dep)


def test_no_other_admin_route_reaches_b_templates(two: Two, api: TestClient) -> None:
    admin = token(api, "admin")
    for path in (
        f"/api/v1/deployments/{two.b.dep}/watchlist",
        f"/api/v1/watchlist/entries/{two.b.entry}/image",
        f"/api/v1/worker/deployments/{two.b.dep}/watchlist",  # a person's token is not a worker's
    ):
        assert api.get(path, headers=admin).status_code in (401, 403, 404), path

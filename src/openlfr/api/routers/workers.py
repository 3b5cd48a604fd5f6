"""Edge workers: administration (issue, revoke), assignment by a deployment's officers, and the
worker's own routes (enrol, assignments, watchlist)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import Depends, Request

from openlfr.api.defs.common import OkOut
from openlfr.api.defs.workers import (
    AssignmentOut,
    DeploymentWorkerOut,
    EnrolIn,
    EnrolOut,
    NewWorkerOut,
    RevokeIn,
    WatchlistOut,
    WorkerIn,
    WorkerOut,
)
from openlfr.api.deps import ALL_ROLES, require
from openlfr.api.roles import AO, WORKERS_VIEW, AsAdmin
from openlfr.api.routing import api_router
from openlfr.api.worker_auth import current_worker, worker_service
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services.workers import WorkerIdentity

router = api_router("/api/v1", "workers")
WORKER_DOC = {"x-roles": ["worker"]}
ASSIGNMENT = "/workers/{worker_id}/deployments/{deployment_id}"  # PUT assigns, DELETE ends


def _control(request: Request, worker_id: str, action: str, deployment_id: str | None) -> None:
    """Tell the worker now over the broker, when the centre has one (else it polls)."""
    centre = getattr(request.app.state, "centre", None)
    if centre is not None:
        centre.control(worker_id, action, deployment_id)


@router.get("/workers")
def workers(request: Request, actor: Actor = Depends(require(*WORKERS_VIEW))) -> list[WorkerOut]:
    return [WorkerOut(**w) for w in worker_service(request).visible_workers(actor)]


@router.post("/workers", status_code=201)
def issue_worker(request: Request, body: WorkerIn, actor: AsAdmin) -> NewWorkerOut:
    wid, token = worker_service(request).issue(actor, body.name)
    return NewWorkerOut(id=wid, name=body.name, token=token)


@router.post("/workers/{worker_id}/revoke")
def revoke_worker(request: Request, worker_id: str, body: RevokeIn, actor: AsAdmin) -> OkOut:
    worker_service(request).revoke(actor, worker_id, body.reason)
    _control(request, worker_id, "revoked", None)
    return OkOut()


@router.put(ASSIGNMENT)
def assign_worker(
    request: Request, worker_id: str, deployment_id: str, actor: Actor = Depends(require(*AO))
) -> OkOut:
    """An authorising officer of the deployment only (an administrator registers workers but
    cannot route one, and with it the watchlist, anywhere)."""
    worker_service(request).assign(actor, worker_id, deployment_id)
    _control(request, worker_id, "refresh", deployment_id)
    return OkOut()


@router.delete(ASSIGNMENT)
def unassign_worker(
    request: Request,
    worker_id: str,
    deployment_id: str,
    actor: Actor = Depends(require(Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)),
) -> OkOut:
    worker_service(request).unassign(actor, worker_id, deployment_id)
    _control(request, worker_id, "stop", deployment_id)
    return OkOut()


@router.get("/deployments/{deployment_id}/workers")
def deployment_workers(
    request: Request, deployment_id: str, actor: Actor = Depends(require(*ALL_ROLES))
) -> list[DeploymentWorkerOut]:
    """The workers on a deployment, who assigned each and whether that counts (an officer)."""
    ws = worker_service(request).deployment_workers(actor, deployment_id)
    return [DeploymentWorkerOut(**w) for w in ws]


@router.post("/worker/enrol", openapi_extra=WORKER_DOC)
def enrol(
    request: Request, body: EnrolIn, worker: WorkerIdentity = Depends(current_worker)
) -> EnrolOut:
    """The worker's Ed25519 public key (first time; the same key again is a no-op); answers
    with the centre's key, which signs control messages."""
    centre = worker_service(request).enrol(worker, bytes.fromhex(body.public_key))
    return EnrolOut(worker_id=worker.id, centre_public_key=centre.hex())


@router.get("/worker/assignments", openapi_extra=WORKER_DOC)
def my_assignments(
    request: Request, worker: WorkerIdentity = Depends(current_worker)
) -> list[AssignmentOut]:
    return [AssignmentOut(**a) for a in worker_service(request).assignments(worker)]


@router.get("/worker/deployments/{deployment_id}/watchlist", openapi_extra=WORKER_DOC)
def my_watchlist(
    request: Request, deployment_id: str, worker: WorkerIdentity = Depends(current_worker)
) -> WatchlistOut:
    wl = worker_service(request).watchlist(worker, deployment_id)
    vecs = np.ascontiguousarray(wl.vectors, dtype="<f4")
    return WatchlistOut(
        deployment_id=wl.deployment_id,
        contract_id=wl.contract_id,
        threshold=wl.threshold,
        entry_ids=wl.entry_ids,
        dim=int(vecs.shape[1]) if vecs.ndim == 2 and vecs.size else 0,
        vectors_b64=base64.b64encode(vecs.tobytes()).decode(),
    )

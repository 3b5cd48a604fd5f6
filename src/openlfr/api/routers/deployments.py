from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import Depends, Request

from openlfr.api.defs.common import OkOut
from openlfr.api.defs.deployments import (
    AuthoriseOut,
    CountersignIn,
    CreatedOut,
    DeploymentCreate,
    DeploymentFields,
    DeploymentOut,
    DeploymentSummary,
    LiveOut,
    ReadinessOut,
    ReasonIn,
    StartOut,
)
from openlfr.api.deps import Id32, get_ctx, require
from openlfr.api.roles import AsAllRoles, AsAo, AsEdit
from openlfr.api.routing import api_router
from openlfr.eval.approval import SUPPLIER
from openlfr.governance.access import Access
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services import console
from openlfr.services.approvals import SUPPLIER_RECOMMENDATION

router = api_router("/api/v1/deployments", "deployments")
RUN = (Role.OPERATOR, Role.AUTHORISING_OFFICER)
AsRun = Annotated[Actor, Depends(require(*RUN))]
AsRunOrAudit = Annotated[Actor, Depends(require(*RUN, Role.AUDITOR))]


@router.get("")
def list_deployments(request: Request, actor: AsAllRoles) -> list[DeploymentSummary]:
    svc = get_ctx(request).service
    return [DeploymentSummary(**d) for d in svc.deployments.visible(actor)]


@router.post("", status_code=201)
def create_deployment(request: Request, body: DeploymentCreate, actor: AsEdit) -> CreatedOut:
    fields = body.model_dump(exclude_unset=True, mode="python")
    name = fields.pop("name")
    return CreatedOut(
        id=get_ctx(request).service.deployments.create_deployment(actor, name, **fields)
    )


@router.get("/{deployment_id}")
def get_deployment(request: Request, deployment_id: Id32, actor: AsAllRoles) -> DeploymentOut:
    ctx = get_ctx(request)
    d = ctx.service.deployments.view(actor, deployment_id)
    live = [r.camera_id for r in ctx.live.status(deployment_id) if r.running]
    return DeploymentOut(**d, live_cameras=live)


@router.patch("/{deployment_id}")
def update_deployment(
    request: Request, body: DeploymentFields, deployment_id: Id32, actor: AsEdit
) -> OkOut:
    get_ctx(request).service.deployments.update_deployment(
        actor, deployment_id, **body.model_dump(exclude_unset=True, mode="python")
    )
    return OkOut()


@router.get(
    "/{deployment_id}/readiness",
    summary="Missing items and expected false alerts before authorisation",
)
def readiness(request: Request, deployment_id: Id32, actor: AsEdit) -> ReadinessOut:
    r = console.readiness(get_ctx(request).service, actor, deployment_id)
    return ReadinessOut(**asdict(r), ready=not r.missing and r.state == "draft")


@router.post("/{deployment_id}/countersign")
def countersign(request: Request, body: CountersignIn, deployment_id: Id32, actor: AsAo) -> OkOut:
    get_ctx(request).service.deployments.countersign(
        actor, deployment_id, body.kind.value, body.reason
    )
    return OkOut()


@router.post("/{deployment_id}/authorise")
def authorise(request: Request, deployment_id: Id32, actor: AsAo) -> AuthoriseOut:
    svc = get_ctx(request).service
    efa = svc.deployments.authorise(actor, deployment_id)
    d = svc.deployments.deployment(deployment_id)
    supplier = svc.approvals.evidence(d["model_contract_id"] or "") == SUPPLIER
    return AuthoriseOut(
        expected_false_alerts=efa,
        expected_hit_rate=d["expected_hit_rate"],
        recommendations=[SUPPLIER_RECOMMENDATION] if supplier else [],
    )


@router.post("/{deployment_id}/cancel")
def cancel(request: Request, body: ReasonIn, deployment_id: Id32, actor: AsEdit) -> OkOut:
    get_ctx(request).service.deployments.cancel(actor, deployment_id, body.reason)
    return OkOut()


@router.post(
    "/{deployment_id}/start",
    summary="Go live, and run the pipeline of every whitelisted camera with a source",
)
def start(request: Request, deployment_id: Id32, actor: AsRun) -> StartOut:
    ctx = get_ctx(request)
    ctx.service.deployments.start(actor, deployment_id)
    # The pipeline acts as an operator of the deployment (run_deployment requires one).
    runner = actor
    if actor.id not in ctx.service.deployments.deployment(deployment_id)["operator_ids"]:
        ops = ctx.service.deployments.deployment(deployment_id)["operator_ids"]
        runner = ctx.service.accounts.actor_by_id(ops[0])
    started, missing = ctx.live.start(deployment_id, runner)
    return StartOut(state="live", cameras_running=started, cameras_without_source=missing)


@router.post("/{deployment_id}/end")
def end(request: Request, deployment_id: Id32, actor: AsRun) -> OkOut:
    ctx = get_ctx(request)
    ctx.service.deployments.end(actor, deployment_id)
    ctx.live.stop(deployment_id)
    return OkOut()


@router.get("/{deployment_id}/live")
def live_status(request: Request, deployment_id: Id32, actor: AsRunOrAudit) -> list[LiveOut]:
    ctx = get_ctx(request)
    ctx.service.access.require(actor, deployment_id, Access.VIEW)  # 404 / 403
    return [
        LiveOut(
            deployment_id=r.deployment_id,
            camera_id=r.camera_id,
            running=r.running,
            frames=r.frames,
            faces_detected=r.faces,
            alerts=r.alerts,
            error=r.error,
        )
        for r in ctx.live.status(deployment_id)
    ]

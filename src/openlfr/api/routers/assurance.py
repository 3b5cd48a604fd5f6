"""Assurance routes: the test list and walk-bys, the false-alert monitor's decisions, the
operator's perceived-group record, and the active controller profile.

Each route checks the role here and the person's part in the deployment in the service
(operator of it, its authorising officer, ...), so another deployment's user is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Form, Request
from starlette.concurrency import run_in_threadpool

from openlfr.api.defs.assurance import (
    AssuranceFields,
    AssuranceOut,
    MonitorDecisionIn,
    PerceivedGroupIn,
    ProfileOut,
    ReasonIn,
    WalkbyIn,
    WalkbyOut,
    WalkerOut,
)
from openlfr.api.defs.common import OkOut
from openlfr.api.defs.deployments import CreatedOut
from openlfr.api.deps import ApiError, FacePhoto, Id64, get_ctx, on_upload, require
from openlfr.api.roles import AsAllRoles, AsAo, AsEdit, AsOp
from openlfr.api.routing import api_router
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services.walkby_run import run_walkby

router = api_router("/api/v1", "assurance")
ENROL = (Role.OPERATOR, Role.WATCHLIST_COMPILER)
READ = (Role.OPERATOR, Role.AUTHORISING_OFFICER, Role.WATCHLIST_COMPILER, Role.AUDITOR)
AsEnrol = Annotated[Actor, Depends(require(*ENROL))]
AsRead = Annotated[Actor, Depends(require(*READ))]


@router.get("/profile")
def profile(request: Request, _: AsAllRoles) -> ProfileOut:
    p = get_ctx(request).service.assurance.profile
    return ProfileOut(
        profile=p.profile.value, title=p.title, law=p.law, eu_mode=p.eu_mode, police=p.police
    )


@router.get(
    "/deployments/{deployment_id}/assurance",
    summary="Walk-by results, false-alert monitor and whether alerts are held",
)
def assurance(request: Request, deployment_id: Id64, actor: AsRead) -> AssuranceOut:
    return AssuranceOut(**get_ctx(request).service.assurance.view(actor, deployment_id))


@router.patch(
    "/deployments/{deployment_id}/assurance",
    summary="Set the minimum walk-by TPIR and the profile facts of a draft",
)
def configure(
    request: Request,
    body: AssuranceFields,
    deployment_id: Id64,
    actor: AsEdit,
) -> OkOut:
    svc = get_ctx(request).service
    svc.assurance.configure(actor, deployment_id, **body.model_dump(exclude_unset=True))
    return OkOut()


@router.get("/deployments/{deployment_id}/test-subjects")
def test_subjects(request: Request, deployment_id: Id64, actor: AsRead) -> list[WalkerOut]:
    svc = get_ctx(request).service
    return [WalkerOut(**t) for t in svc.assurance.walkbys.test_list(actor, deployment_id)]


@router.post(
    "/deployments/{deployment_id}/test-subjects",
    status_code=201,
    summary="Enrol a consenting member of staff on the test list from a photo",
)
async def add_test_subject(
    request: Request,
    deployment_id: Id64,
    actor: AsEnrol,
    photo: FacePhoto,
    subject_ref: str = Form(..., min_length=1, max_length=200),
    consent_ref: str = Form(..., min_length=1, max_length=200),
    consented_on: date = Form(...),
    declared_sex: str | None = Form(
        None, max_length=40, description="Only if the person chose to say: female, male, another"
    ),
    declared_ethnicity: str | None = Form(
        None, max_length=40, description="Only if the person chose to say: an ONS 2021 group"
    ),
) -> CreatedOut:
    ctx = get_ctx(request)
    tid: str = await on_upload(
        ctx,
        photo,
        lambda eng, data: ctx.service.assurance.walkbys.add_test_subject_from_photo(
            actor,
            deployment_id,
            eng,
            data,
            subject_ref=subject_ref,
            consent_ref=consent_ref,
            consented_on=consented_on,
            declared_sex=declared_sex,
            declared_ethnicity=declared_ethnicity,
        ),
    )
    return CreatedOut(id=tid)


@router.post(
    "/deployments/{deployment_id}/walkby",
    summary="Run a test walk-by on one camera; returns the TPIR on the day",
)
async def walkby(request: Request, body: WalkbyIn, deployment_id: Id64, actor: AsOp) -> WalkbyOut:
    ctx = get_ctx(request)
    svc = ctx.service
    # Refuse before opening anything: only this deployment's operators, a whitelisted camera.
    svc.assurance.walkbys.check_operator(actor, deployment_id)
    svc.deployments.check_frame(deployment_id, body.camera_id)
    spec = ctx.live.sources.get(body.camera_id)
    if spec is None:
        raise ApiError(409, "no_source", f"camera {body.camera_id!r} has no configured source")

    def run() -> WalkbyOut:
        source = ctx.live._open(spec)
        try:
            res = run_walkby(
                svc,
                actor,
                deployment_id,
                source,
                camera_id=body.camera_id,
                engine=ctx.live.engine.get(),  # the cameras' engine, not a model set per run
                pipeline_config=ctx.live.pipeline_config,
                max_frames=body.max_frames,
            )
        finally:
            source.close()
        return WalkbyOut(**{k: res[k] for k in WalkbyOut.model_fields})

    return await run_in_threadpool(run)


@router.post(
    "/deployments/{deployment_id}/walkby/acknowledge",
    summary="The authorising officer acknowledges a walk-by below the authorised level",
)
def acknowledge(
    request: Request,
    body: ReasonIn,
    deployment_id: Id64,
    actor: AsAo,
) -> OkOut:
    get_ctx(request).service.assurance.walkbys.acknowledge(actor, deployment_id, body.reason)
    return OkOut()


@router.post(
    "/deployments/{deployment_id}/monitor/decision",
    summary="Resume, resume at a higher threshold (re-authorisation), or end a paused deployment",
)
def monitor_decision(
    request: Request,
    body: MonitorDecisionIn,
    deployment_id: Id64,
    actor: AsAo,
) -> OkOut:
    ctx = get_ctx(request)
    ctx.service.assurance.decide(
        actor, deployment_id, body.choice, body.reason, new_threshold=body.new_threshold
    )
    if body.choice == "end":
        ctx.live.stop(deployment_id)
    return OkOut()


@router.post(
    "/alerts/{alert_id}/perceived-group",
    summary="Optional, after review: the group the operator perceived (never inferred)",
)
def perceived_group(
    request: Request,
    body: PerceivedGroupIn,
    alert_id: Id64,
    actor: AsOp,
) -> OkOut:
    get_ctx(request).service.assurance.record_group(actor, alert_id, body.group)
    return OkOut()

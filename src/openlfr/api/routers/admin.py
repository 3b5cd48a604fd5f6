from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from openlfr.api.defs.auth import NewUserOut, UserIn, UserOut
from openlfr.api.defs.common import ERROR_RESPONSES
from openlfr.api.defs.oversight import ApprovalOut, PurgeOut
from openlfr.api.deps import get_ctx, require, roles_doc
from openlfr.eval.approval import ModelApproval
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services.accounts import random_password

router = APIRouter(prefix="/api/v1", tags=["administration"], responses=ERROR_RESPONSES)
ADMIN = (Role.ADMINISTRATOR,)


@router.get("/users", response_model=list[UserOut], openapi_extra=roles_doc(*ADMIN))
def users(request: Request, _: Actor = Depends(require(*ADMIN))) -> list[UserOut]:
    return [UserOut(**u) for u in get_ctx(request).service.accounts.users()]


@router.post("/users", response_model=NewUserOut, status_code=201, openapi_extra=roles_doc(*ADMIN))
def create_user(
    request: Request, body: UserIn, actor: Actor = Depends(require(*ADMIN))
) -> NewUserOut:
    password = random_password()
    a = get_ctx(request).service.accounts.create_user(
        actor, body.username, password, [r.value for r in body.roles], body.display_name
    )
    get_ctx(request).service.accounts.mark_one_time_password(actor.username, a.id)
    return NewUserOut(
        id=a.id, username=a.username, roles=sorted(a.roles), one_time_password=password
    )


@router.post(
    "/models/approvals",
    response_model=ApprovalOut,
    status_code=201,
    openapi_extra=roles_doc(*ADMIN),
    summary="Record a model approval from an `openlfr eval` report (JSON body)",
)
def approve_model(
    request: Request,
    report: dict[str, Any] = Body(...),
    actor: Actor = Depends(require(*ADMIN)),
) -> ApprovalOut:
    import json

    try:
        approval = ModelApproval.from_report_json(json.dumps(report))
    except (KeyError, TypeError) as e:
        raise ValueError(f"not an openlfr evaluation report: {e}") from None
    get_ctx(request).service.approvals.record_model_approval(actor, approval)
    return ApprovalOut(
        contract_id=approval.contract_id,
        validated_min_threshold=approval.validated_min_threshold,
        default_threshold=approval.default_threshold,
    )


@router.post(
    "/retention/purge",
    response_model=PurgeOut,
    openapi_extra=roles_doc(*ADMIN),
    summary="Run the retention job now (it also runs on a timer)",
)
def purge(request: Request, actor: Actor = Depends(require(*ADMIN))) -> PurgeOut:
    rc = get_ctx(request).service.retention.purge(actor.username)
    return PurgeOut(**rc.to_dict(), at=rc.at.isoformat())

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Request

from openlfr.api.defs.auth import NewUserOut, UserIn, UserOut
from openlfr.api.defs.common import OkOut
from openlfr.api.defs.oversight import ApprovalOut, PurgeOut
from openlfr.api.deps import get_ctx
from openlfr.api.roles import AsAdmin, AsEdit
from openlfr.api.routing import api_router
from openlfr.eval.approval import ModelApproval
from openlfr.governance.evaluation import per_group_summary
from openlfr.services.accounts import random_password
from openlfr.services.approvals import approval_from_report, report_digest

router = api_router("/api/v1", "administration")
Report = Annotated[dict[str, Any], Body()]  # an `openlfr eval` report, as JSON


@router.get("/users")
def users(request: Request, _: AsAdmin) -> list[UserOut]:
    return [UserOut(**u) for u in get_ctx(request).service.accounts.users()]


@router.post("/users", status_code=201)
def create_user(request: Request, body: UserIn, actor: AsAdmin) -> NewUserOut:
    password = random_password()
    a = get_ctx(request).service.accounts.create_user(
        actor, body.username, password, [r.value for r in body.roles], body.display_name
    )
    get_ctx(request).service.accounts.mark_one_time_password(actor.username, a.id)
    return NewUserOut(
        id=a.id, username=a.username, roles=sorted(a.roles), one_time_password=password
    )


@router.post("/users/{user_id}/confirm-roles")
def confirm_roles(request: Request, user_id: Annotated[str, Path()], actor: AsAdmin) -> OkOut:
    """A second administrator confirms the roles another one granted (not their own grant,
    nor their own account): only then can the account be one of a two-person rule's two."""
    get_ctx(request).service.accounts.confirm_roles(actor, user_id)
    return OkOut()


def _approval(report: dict[str, Any]) -> ModelApproval:
    try:
        return approval_from_report(report)
    except (KeyError, TypeError) as e:
        raise ValueError(f"not an openlfr evaluation report: {e}") from None


def _approval_out(approval: ModelApproval, status: str, report: dict[str, Any]) -> ApprovalOut:
    return ApprovalOut(
        contract_id=approval.contract_id,
        validated_min_threshold=approval.validated_min_threshold,
        default_threshold=approval.default_threshold,
        status=status,
        report_digest=report_digest(report),
    )


@router.post(
    "/models/approvals",
    status_code=202,
    summary="Record a model approval from an `openlfr eval` report (JSON body); it counts once "
    "a second person countersigns the same report",
)
def approve_model(request: Request, actor: AsEdit, report: Report) -> ApprovalOut:
    approval = _approval(report)
    status = get_ctx(request).service.approvals.record_model_approval(
        actor, approval, report_digest(report), per_group_summary(report)
    )
    return _approval_out(approval, status, report)


@router.post(
    "/models/approvals/{contract_id}/countersign",
    summary="Countersign a recorded model approval: the same report (its SHA-256 is checked), "
    "by someone other than who recorded it",
)
def countersign_model(
    request: Request,
    actor: AsEdit,
    report: Report,
    contract_id: str = Path(min_length=1, max_length=200),
) -> ApprovalOut:
    approval = _approval(report)
    if approval.contract_id != contract_id:
        raise ValueError("the report is about another model")
    status = get_ctx(request).service.approvals.countersign(
        actor, contract_id, report_digest(report)
    )
    return _approval_out(approval, status, report)


@router.post("/retention/purge", summary="Run the retention job now (it also runs on a timer)")
def purge(request: Request, actor: AsAdmin) -> PurgeOut:
    rc = get_ctx(request).service.retention.purge(actor.username)
    return PurgeOut(**rc.to_dict(), at=rc.at.isoformat())

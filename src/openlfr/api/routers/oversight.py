from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from openlfr.api.defs.oversight import (
    AuditRecordOut,
    ChainOut,
    EraseIn,
    EraseOut,
    ErasureRequestOut,
    SubjectHitOut,
    SubjectSearchOut,
)
from openlfr.api.deps import get_ctx, on_upload, require
from openlfr.api.roles import AsAudit
from openlfr.api.routing import api_router
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services.audit_log import RECEIPT_ACTIONS
from openlfr.services.subject_rights import SubjectSearch

router = api_router("/api/v1", "oversight")
DPO = (Role.AUDITOR,)  # subject rights: the data protection officer, never an administrator
AsDpo = Annotated[Actor, Depends(require(*DPO))]


@router.get("/audit", summary="The audit log, newest first")
def audit_log(
    request: Request,
    _: AsAudit,
    limit: int = Query(100, ge=1, le=1000),
    before_seq: int | None = Query(None, ge=1, le=2**62),
    receipts_only: bool = Query(False, description="Only deletion receipts"),
) -> list[AuditRecordOut]:
    rows = get_ctx(request).service.audit.audit_records(
        limit=limit,
        before_seq=before_seq,
        actions=RECEIPT_ACTIONS if receipts_only else None,
    )
    return [AuditRecordOut(**r) for r in rows]


@router.get("/audit/verify", summary="Re-check the hash chain of the whole audit log")
def audit_verify(
    request: Request,
    _: AsAudit,
    head: str | None = Query(
        None,
        max_length=100,
        pattern=r"^[0-9]{1,18}:[0-9a-f]{64}$",
        description="A published chain head (records:hash) the log must still hold",
    ),
) -> ChainOut:
    r = get_ctx(request).service.audit.verify_audit(published=head)
    return ChainOut.model_validate(r)


@router.post(
    "/subject-access",
    summary="Search alerts and watchlists for the person in a photo (audited)",
)
async def subject_access(
    request: Request,
    actor: AsDpo,
    photo: UploadFile = File(..., description="A photo of the data subject (one face)"),
) -> SubjectSearchOut:
    ctx = get_ctx(request)
    # The probe template lives in memory for this call only.
    tpl = await on_upload(
        ctx, photo, lambda eng, data: eng.face_from_file(data, select="largest").template
    )
    found: SubjectSearch = await run_in_threadpool(ctx.service.subject_rights.search, actor, tpl)
    hits = [
        SubjectHitOut.model_validate(
            replace(
                h,
                detail={
                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in h.detail.items()
                },
            )
        )
        for h in found.hits
    ]
    return SubjectSearchOut(search_id=found.id, hits=hits)


@router.post(
    "/subject-access/erase",
    status_code=202,
    summary="Ask to erase hits of a recorded search; a second auditor approves it",
)
def erase(request: Request, body: EraseIn, actor: AsDpo) -> ErasureRequestOut:
    rid = get_ctx(request).service.subject_rights.request_erasure(
        actor, body.search_id, body.hit_ids, body.reason
    )
    return ErasureRequestOut(request_id=rid)


@router.post(
    "/subject-access/erase/{request_id}/approve",
    summary="Carry out an erasure request (not by the auditor who asked for it)",
)
def approve_erasure(
    request: Request, actor: AsDpo, request_id: int = Path(ge=1, le=2**62)
) -> EraseOut:
    n = get_ctx(request).service.subject_rights.approve_erasure(actor, request_id)
    return EraseOut(**n)

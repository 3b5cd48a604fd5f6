from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from openlfr.api.defs.common import ERROR_RESPONSES
from openlfr.api.defs.oversight import (
    AuditRecordOut,
    ChainOut,
    EraseIn,
    EraseOut,
    SubjectHitOut,
)
from openlfr.api.deps import ApiError, get_ctx, require, roles_doc
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services.audit_log import RECEIPT_ACTIONS
from openlfr.services.subject_rights import SubjectHit

router = APIRouter(prefix="/api/v1", tags=["oversight"], responses=ERROR_RESPONSES)
AUDIT = (Role.AUDITOR, Role.ADMINISTRATOR)


@router.get(
    "/audit",
    response_model=list[AuditRecordOut],
    openapi_extra=roles_doc(*AUDIT),
    summary="The audit log, newest first",
)
def audit_log(
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    before_seq: int | None = Query(None, ge=1, le=2**62),
    receipts_only: bool = Query(False, description="Only deletion receipts"),
    _: Actor = Depends(require(*AUDIT)),
) -> list[AuditRecordOut]:
    rows = get_ctx(request).service.audit.audit_records(
        limit=limit,
        before_seq=before_seq,
        actions=RECEIPT_ACTIONS if receipts_only else None,
    )
    return [AuditRecordOut(**r) for r in rows]


@router.get(
    "/audit/verify",
    response_model=ChainOut,
    openapi_extra=roles_doc(*AUDIT),
    summary="Re-check the hash chain of the whole audit log",
)
def audit_verify(request: Request, _: Actor = Depends(require(*AUDIT))) -> ChainOut:
    r = get_ctx(request).service.audit.verify_audit()
    return ChainOut.model_validate(r)


@router.post(
    "/subject-access",
    response_model=list[SubjectHitOut],
    openapi_extra=roles_doc(*AUDIT),
    summary="Search alerts and watchlists for the person in a photo (audited)",
)
async def subject_access(
    request: Request,
    photo: UploadFile = File(..., description="A photo of the data subject (one face)"),
    actor: Actor = Depends(require(*AUDIT)),
) -> list[SubjectHitOut]:
    ctx = get_ctx(request)
    data = await photo.read(ctx.max_upload_bytes + 1)
    if len(data) > ctx.max_upload_bytes:
        raise ApiError(413, "upload_too_large", f"uploads are limited to {ctx.max_upload_bytes} B")
    if not data:
        raise ApiError(415, "image_decode_error", "empty upload")

    def search() -> list[SubjectHit]:
        # The probe template lives in memory for this call only.
        tpl = ctx.with_engine(lambda eng: eng.face_from_file(data, select="largest").template)
        return ctx.service.subject_rights.subject_access(actor, tpl)

    hits = await run_in_threadpool(search)
    return [
        SubjectHitOut.model_validate(
            replace(
                h,
                detail={
                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in h.detail.items()
                },
            )
        )
        for h in hits
    ]


@router.post("/subject-access/erase", response_model=EraseOut, openapi_extra=roles_doc(*AUDIT))
def erase(request: Request, body: EraseIn, actor: Actor = Depends(require(*AUDIT))) -> EraseOut:
    hits = [SubjectHit(h.kind, h.id, h.deployment_id, h.score, h.detail) for h in body.hits]
    n = get_ctx(request).service.subject_rights.erase(actor, hits, body.reason)
    return EraseOut(**n)

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from openlfr.api.defs.common import ERROR_RESPONSES
from openlfr.api.defs.oversight import (
    AuditRecordOut,
    ChainOut,
    EraseIn,
    EraseOut,
    ErasureRequestOut,
    SubjectHitOut,
    SubjectSearchOut,
)
from openlfr.api.deps import ApiError, get_ctx, require, roles_doc
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services.audit_log import RECEIPT_ACTIONS
from openlfr.services.subject_rights import SubjectSearch

router = APIRouter(prefix="/api/v1", tags=["oversight"], responses=ERROR_RESPONSES)
AUDIT = (Role.AUDITOR, Role.ADMINISTRATOR)
DPO = (Role.AUDITOR,)  # subject rights: the data protection officer, never an administrator


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
def audit_verify(
    request: Request,
    head: str | None = Query(
        None,
        max_length=100,
        pattern=r"^[0-9]{1,18}:[0-9a-f]{64}$",
        description="A published chain head (records:hash) the log must still hold",
    ),
    _: Actor = Depends(require(*AUDIT)),
) -> ChainOut:
    r = get_ctx(request).service.audit.verify_audit(published=head)
    return ChainOut.model_validate(r)


@router.post(
    "/subject-access",
    response_model=SubjectSearchOut,
    openapi_extra=roles_doc(*DPO),
    summary="Search alerts and watchlists for the person in a photo (audited)",
)
async def subject_access(
    request: Request,
    photo: UploadFile = File(..., description="A photo of the data subject (one face)"),
    actor: Actor = Depends(require(*DPO)),
) -> SubjectSearchOut:
    ctx = get_ctx(request)
    data = await photo.read(ctx.max_upload_bytes + 1)
    if len(data) > ctx.max_upload_bytes:
        raise ApiError(413, "upload_too_large", f"uploads are limited to {ctx.max_upload_bytes} B")
    if not data:
        raise ApiError(415, "image_decode_error", "empty upload")

    def search() -> SubjectSearch:
        # The probe template lives in memory for this call only.
        tpl = ctx.with_engine(lambda eng: eng.face_from_file(data, select="largest").template)
        return ctx.service.subject_rights.search(actor, tpl)

    found = await run_in_threadpool(search)
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
    response_model=ErasureRequestOut,
    status_code=202,
    openapi_extra=roles_doc(*DPO),
    summary="Ask to erase hits of a recorded search; a second auditor approves it",
)
def erase(
    request: Request, body: EraseIn, actor: Actor = Depends(require(*DPO))
) -> ErasureRequestOut:
    rid = get_ctx(request).service.subject_rights.request_erasure(
        actor, body.search_id, body.hit_ids, body.reason
    )
    return ErasureRequestOut(request_id=rid)


@router.post(
    "/subject-access/erase/{request_id}/approve",
    response_model=EraseOut,
    openapi_extra=roles_doc(*DPO),
    summary="Carry out an erasure request (not by the auditor who asked for it)",
)
def approve_erasure(
    request: Request,
    request_id: int = Path(ge=1, le=2**62),
    actor: Actor = Depends(require(*DPO)),
) -> EraseOut:
    n = get_ctx(request).service.subject_rights.approve_erasure(actor, request_id)
    return EraseOut(**n)

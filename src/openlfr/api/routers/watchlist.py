from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from openlfr.api.defs.common import OkOut
from openlfr.api.defs.watchlist import (
    EntryAddedOut,
    EntryOut,
    FacesOut,
    SignOffOut,
    WasOnListOut,
)
from openlfr.api.deps import FacePhoto, Id64, Reason, get_ctx, on_upload, require
from openlfr.api.roles import AsAo, AsCompiler, AsWatchlistView
from openlfr.api.routing import api_router
from openlfr.errors import NotFoundError
from openlfr.governance.deployment import Actor
from openlfr.governance.profiles import EntryContext
from openlfr.governance.vocab import Category, Role

router = api_router("/api/v1", "watchlist")
IMAGE = (Role.OPERATOR, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER)
AsImage = Annotated[Actor, Depends(require(*IMAGE))]
AsAuditorOrOfficer = Annotated[Actor, Depends(require(Role.AUDITOR, Role.AUTHORISING_OFFICER))]


@router.get("/deployments/{deployment_id}/watchlist")
def entries(request: Request, deployment_id: Id64, actor: AsWatchlistView) -> list[EntryOut]:
    svc = get_ctx(request).service
    return [EntryOut(**e) for e in svc.watchlists.entries(actor, deployment_id)]


@router.post(
    "/deployments/{deployment_id}/watchlist",
    status_code=201,
    summary="Enrol one person from a photo (one face), with category and provenance",
)
async def add_entry(
    request: Request,
    deployment_id: Id64,
    actor: AsCompiler,
    photo: FacePhoto,
    category: Category = Form(...),
    legal_basis: str = Form(..., min_length=1, max_length=500),
    source_system: str = Form(..., min_length=1, max_length=200),
    image_captured_on: date = Form(...),
    reason: str = Form(..., min_length=1, max_length=2000),
    subject_ref: str = Form(..., min_length=1, max_length=200),
    is_minor: bool = Form(False),
    minor_justification: str | None = Form(None, max_length=2000),
    venue_incident_ref: str | None = Form(None, max_length=200),
    source_organisation: str | None = Form(None, max_length=200),
    sharing_agreement_ref: str | None = Form(None, max_length=200),
    written_notice_on: date | None = Form(None),
    written_release_ref: str | None = Form(None, max_length=200),
    face: int | None = Form(
        None, ge=0, le=100, description="In a photo of several people: which (0 = leftmost)"
    ),
) -> EntryAddedOut:
    ctx = get_ctx(request)
    # What the controller profile asks of an entry (H.23): venue evidence, sharing, BIPA release.
    facts = EntryContext(
        category.value,
        venue_incident_ref=venue_incident_ref or None,
        source_organisation=source_organisation or None,
        sharing_agreement_ref=sharing_agreement_ref or None,
        written_notice_on=written_notice_on,
        written_release_ref=written_release_ref or None,
    )
    proposal: dict[str, Any] = dict(
        category=category.value,
        legal_basis=legal_basis,
        source_system=source_system,
        image_captured_on=image_captured_on,
        reason=reason,
        subject_ref=subject_ref,
        is_minor=is_minor,
        minor_justification=minor_justification,
    )
    eid, flags = await on_upload(
        ctx,
        photo,
        lambda eng, data: ctx.service.watchlists.add_entry_from_photo(
            actor, deployment_id, eng, data, facts, face, **proposal
        ),
    )
    projected = await run_in_threadpool(
        ctx.service.watchlists.projected_false_alerts, deployment_id
    )
    return EntryAddedOut(id=eid, flags=flags, expected_false_alerts_now=projected)


@router.delete("/watchlist/entries/{entry_id}")
def remove_entry(request: Request, entry_id: Id64, actor: AsCompiler, reason: Reason) -> OkOut:
    get_ctx(request).service.watchlists.remove_entry(actor, entry_id, reason)
    return OkOut()


@router.get(
    "/watchlist/entries/{entry_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The enrolled photo"}},
)
def entry_image(request: Request, entry_id: Id64, actor: AsImage) -> Response:
    data = get_ctx(request).service.watchlists.entry_image(actor, entry_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post(
    "/deployments/{deployment_id}/watchlist/sign-off",
    summary="Reviewer sign-off of the compiled watchlist",
)
def sign_off(request: Request, deployment_id: Id64, actor: AsAo) -> SignOffOut:
    svc = get_ctx(request).service
    efa = svc.watchlists.sign_off(actor, deployment_id)
    return SignOffOut(
        expected_false_alerts=efa,
        expected_hit_rate=svc.deployments.deployment(deployment_id)["expected_hit_rate_signoff"],
        size=len(svc.watchlists.entries(actor, deployment_id)),
    )


@router.get(
    "/deployments/{deployment_id}/watchlist/{entry_id}/was-on-list",
)
def was_on_list(
    request: Request, deployment_id: Id64, entry_id: Id64, actor: AsAuditorOrOfficer
) -> WasOnListOut:
    r = get_ctx(request).service.watchlists.was_on_list(actor, deployment_id, entry_id)
    if r is None:
        raise NotFoundError("entry was never on this watchlist", source=entry_id)
    return WasOnListOut(**r)


@router.post(
    "/deployments/{deployment_id}/watchlist/faces",
    summary="The faces in a photo about to be enrolled (boxes, left to right): nothing is kept",
)
async def faces(
    request: Request, deployment_id: Id64, actor: AsCompiler, photo: FacePhoto
) -> FacesOut:
    ctx = get_ctx(request)
    got = await on_upload(
        ctx,
        photo,
        lambda eng, data: ctx.service.watchlists.faces_in_photo(actor, deployment_id, eng, data),
    )
    return FacesOut(**got)

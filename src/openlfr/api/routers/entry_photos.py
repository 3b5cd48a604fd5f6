"""Further photos of a watchlist entry, and the list's expected hit rate (issue 11)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from openlfr.api.defs.common import ERROR_RESPONSES, OkOut
from openlfr.api.defs.watchlist import ExpectedHitsOut, PhotoAddedOut, PhotoOut
from openlfr.api.deps import ApiError, get_ctx, require, roles_doc
from openlfr.errors import NotFoundError
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role

router = APIRouter(prefix="/api/v1", tags=["watchlist"], responses=ERROR_RESPONSES)
COMPILER = (Role.WATCHLIST_COMPILER,)
VIEW = (Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, Role.OPERATOR, Role.AUDITOR)


@router.post(
    "/watchlist/entries/{entry_id}/photos",
    response_model=PhotoAddedOut,
    status_code=201,
    openapi_extra=roles_doc(*COMPILER),
    summary="Add a further photo (another occasion, one face) to an entry: its compiler only",
)
async def add_photo(
    request: Request,
    entry_id: str = Path(min_length=1, max_length=64),
    photo: UploadFile = File(..., description="JPEG/PNG with exactly one face"),
    image_captured_on: date = Form(...),
    actor: Actor = Depends(require(*COMPILER)),
) -> PhotoAddedOut:
    ctx = get_ctx(request)
    data = await photo.read(ctx.max_upload_bytes + 1)
    if len(data) > ctx.max_upload_bytes:
        raise ApiError(413, "upload_too_large", f"uploads are limited to {ctx.max_upload_bytes} B")
    if not data:
        raise ApiError(415, "image_decode_error", "empty upload")

    def add() -> tuple[str, list[str]]:
        return ctx.with_engine(
            lambda eng: ctx.service.entry_photos.add_photo_from_file(
                actor, entry_id, eng, data, image_captured_on
            )
        )

    pid, flags = await run_in_threadpool(add)
    photos = await run_in_threadpool(ctx.service.entry_photos.photos, actor, entry_id)
    rate = await run_in_threadpool(ctx.service.entry_photos.entry_hit_rate, entry_id)
    return PhotoAddedOut(id=pid, flags=flags, photos=len(photos), expected_hit_rate=rate)


@router.get(
    "/watchlist/entries/{entry_id}/photos",
    response_model=list[PhotoOut],
    openapi_extra=roles_doc(*VIEW),
)
def photos(
    request: Request,
    entry_id: str = Path(min_length=1, max_length=64),
    actor: Actor = Depends(require(*VIEW)),
) -> list[PhotoOut]:
    return [PhotoOut(**p) for p in get_ctx(request).service.entry_photos.photos(actor, entry_id)]


@router.delete(
    "/watchlist/photos/{photo_id}", response_model=OkOut, openapi_extra=roles_doc(*COMPILER)
)
def remove_photo(
    request: Request,
    photo_id: str = Path(min_length=1, max_length=64),
    reason: str = Query(..., min_length=1, max_length=2000),
    actor: Actor = Depends(require(*COMPILER)),
) -> OkOut:
    get_ctx(request).service.entry_photos.remove_photo(actor, photo_id, reason)
    return OkOut()


@router.get(
    "/deployments/{deployment_id}/watchlist/expected-hits",
    response_model=ExpectedHitsOut,
    openapi_extra=roles_doc(*VIEW),
    summary="Expected share of listed people found if they pass a camera, for the list now",
)
def expected_hits(
    request: Request,
    deployment_id: str = Path(min_length=1, max_length=64),
    actor: Actor = Depends(require(*VIEW)),
) -> ExpectedHitsOut:
    got = get_ctx(request).service.entry_photos.expected_hits(actor, deployment_id)
    if got is None:
        raise NotFoundError(
            "no model approval or threshold recorded for this deployment", source=deployment_id
        )
    return ExpectedHitsOut(**got)

"""Further photos of a watchlist entry, and the list's expected hit rate (issue 11)."""

from __future__ import annotations

from datetime import date

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from openlfr.api.defs.common import OkOut
from openlfr.api.defs.watchlist import ExpectedHitsOut, PhotoAddedOut, PhotoOut
from openlfr.api.deps import FacePhoto, Id64, Reason, get_ctx, on_upload
from openlfr.api.roles import AsCompiler, AsWatchlistView
from openlfr.api.routers.watchlist import AsImage
from openlfr.api.routing import api_router
from openlfr.errors import NotFoundError

router = api_router("/api/v1", "watchlist")


@router.post(
    "/watchlist/entries/{entry_id}/photos",
    status_code=201,
    summary="Add a further photo (another occasion, one face) to an entry: its compiler only",
)
async def add_photo(
    request: Request,
    entry_id: Id64,
    actor: AsCompiler,
    photo: FacePhoto,
    image_captured_on: date = Form(...),
) -> PhotoAddedOut:
    ctx = get_ctx(request)
    pid, flags = await on_upload(
        ctx,
        photo,
        lambda eng, data: ctx.service.entry_photos.add_photo_from_file(
            actor, entry_id, eng, data, image_captured_on
        ),
    )
    photos = await run_in_threadpool(ctx.service.entry_photos.photos, actor, entry_id)
    rate = await run_in_threadpool(ctx.service.entry_photos.entry_hit_rate, entry_id)
    return PhotoAddedOut(id=pid, flags=flags, photos=len(photos), expected_hit_rate=rate)


@router.get("/watchlist/entries/{entry_id}/photos")
def photos(request: Request, entry_id: Id64, actor: AsWatchlistView) -> list[PhotoOut]:
    return [PhotoOut(**p) for p in get_ctx(request).service.entry_photos.photos(actor, entry_id)]


@router.get(
    "/watchlist/photos/{photo_id}/image",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "A further photo (audited)"}},
)
def photo_image(request: Request, photo_id: Id64, actor: AsImage) -> Response:
    data = get_ctx(request).service.entry_photos.photo_image(actor, photo_id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.delete("/watchlist/photos/{photo_id}")
def remove_photo(request: Request, photo_id: Id64, actor: AsCompiler, reason: Reason) -> OkOut:
    get_ctx(request).service.entry_photos.remove_photo(actor, photo_id, reason)
    return OkOut()


@router.get(
    "/deployments/{deployment_id}/watchlist/expected-hits",
    summary="Expected share of listed people found if they pass a camera, for the list now",
)
def expected_hits(request: Request, deployment_id: Id64, actor: AsWatchlistView) -> ExpectedHitsOut:
    got = get_ctx(request).service.entry_photos.expected_hits(actor, deployment_id)
    if got is None:
        raise NotFoundError(
            "no model approval or threshold recorded for this deployment", source=deployment_id
        )
    return ExpectedHitsOut(**got)

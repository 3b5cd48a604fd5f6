from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from openlfr.api.bell import wait_rung
from openlfr.api.defs.alerts import (
    AlertOut,
    EvidenceOut,
    LegalHoldIn,
    OutcomeIn,
    ReviewIn,
    ReviewOut,
)
from openlfr.api.defs.common import OkOut
from openlfr.api.deps import Id64, get_ctx, grant_of, require
from openlfr.api.roles import ALERTS_VIEW, AsAlertsView, AsAo, AsOp
from openlfr.api.routing import api_router
from openlfr.errors import OpenLFRError
from openlfr.governance.access import Access
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import DeploymentState, Role

router = api_router("/api/v1", "alerts")
EVIDENCE = (Role.OPERATOR, Role.AUDITOR)
AsEvidence = Annotated[Actor, Depends(require(*EVIDENCE))]


def _alert_out(deployment_id: str, a: dict[str, Any]) -> AlertOut:
    return AlertOut(deployment_id=deployment_id, **a)


@router.get("/deployments/{deployment_id}/alerts")
def alerts(request: Request, deployment_id: Id64, actor: AsAlertsView) -> list[AlertOut]:
    svc = get_ctx(request).service
    return [_alert_out(deployment_id, a) for a in svc.alerts.alerts(actor, deployment_id)]


@router.get(
    "/alerts/{alert_id}/evidence",
    summary="Probe crop beside the watchlist image, raw score and threshold (audited)",
)
def evidence(request: Request, alert_id: Id64, actor: AsEvidence) -> EvidenceOut:
    ctx = get_ctx(request)
    ev = ctx.service.alerts.alert_evidence(actor, alert_id)

    def b64(x: bytes | None) -> str | None:
        return base64.b64encode(x).decode() if x else None

    ref = ev["watchlist_jpeg"]
    return EvidenceOut(
        alert_id=alert_id,
        probe_jpeg_b64=b64(ev["probe_jpeg"]),
        watchlist_jpeg_b64=b64(face_crop(ctx, ref) if ref else None),
        **{k: ev[k] for k in EvidenceOut.model_fields if k in ev and not k.endswith("_b64")},
    )


def face_crop(ctx: Any, jpeg: bytes) -> bytes:
    """The listed photo cropped to its face (as the probe is), so the two faces are compared at
    the same scale; the whole photo when no face is found. In memory only, never stored."""
    from openlfr.vision.imageio import ImageLimits, decode_image, encode_jpeg

    def crop(engine: Any) -> bytes:
        img = decode_image(jpeg, limits=ImageLimits(), label="watchlist image")
        got = engine.best_face_crop(img, min_width=20, margin=0.35)
        return jpeg if got is None else encode_jpeg(got[1], 92)

    try:
        out: bytes = ctx.with_engine(crop)
    except (OpenLFRError, OSError, RuntimeError):  # no face engine here: the photo as it is
        return jpeg
    return out


@router.post("/alerts/{alert_id}/review", summary="Confirm, reject or mark unsure, with a reason")
def review(request: Request, body: ReviewIn, alert_id: Id64, actor: AsOp) -> ReviewOut:
    st = get_ctx(request).service.alerts.review(actor, alert_id, body.decision.value, body.reason)
    return ReviewOut(status=st.value)


@router.post("/alerts/{alert_id}/outcome")
def outcome(request: Request, body: OutcomeIn, alert_id: Id64, actor: AsOp) -> OkOut:
    get_ctx(request).service.alerts.record_outcome(
        actor,
        alert_id,
        engaged=body.engaged,
        duration_s=body.duration_s,
        result=body.result.value,
    )
    return OkOut()


@router.post(
    "/alerts/{alert_id}/legal-hold",
    summary="Place (reason) or release (no reason) a legal hold",
)
def legal_hold(request: Request, body: LegalHoldIn, alert_id: Id64, actor: AsAo) -> OkOut:
    # Officers only; the service checks they are this deployment's own.
    get_ctx(request).service.alerts.legal_hold(actor, alert_id, body.reason or None)
    return OkOut()


def _still_allowed(request: Request, actor: Actor) -> Actor | None:
    """The stream's user as of now (roles re-read), or None once the grant is gone."""
    g = grant_of(request)
    if g is None or g.actor.id != actor.id or not any(g.actor.has(r) for r in ALERTS_VIEW):
        return None
    return g.actor


@dataclass
class _Feed:
    """Where one stream stands: the audit head it has read up to, the deployments it has
    loaded in full. Each poll then reads only what was recorded or changed since, not every
    alert again (which made a poll's cost grow with the alerts of the day)."""

    cursor: int | None = None
    known: frozenset[str] = frozenset()


def _live_alerts(
    request: Request, actor: Actor, deployment_id: str | None, feed: _Feed | None = None
) -> list[dict[str, Any]] | None:
    """Alerts of the live deployments `actor` may watch (with `feed`: only those new or changed
    since its last call); None when a named one is no longer allowed."""
    svc = get_ctx(request).service
    mine = set(svc.access.ids(actor, Access.ALERTS))
    if deployment_id:
        if deployment_id not in mine:
            return None
        ids = [deployment_id]
    else:
        ids = [
            d["id"]
            for d in svc.deployments.deployments()
            if d["state"] == DeploymentState.LIVE.value and d["id"] in mine
        ]
    feed = feed or _Feed()
    # A deployment the stream did not watch before (newly live, newly assigned) comes in full.
    full = ids if feed.cursor is None else [d for d in ids if d not in feed.known]
    feed.cursor, got = svc.alerts.feed(actor, ids, feed.cursor, full)
    feed.known = frozenset(ids)
    return [_alert_out(dep, a).model_dump(mode="json") for dep, a in got]


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "Server-sent events: `alert` (AlertOut JSON), `ping`",
        }
    },
    summary="Live alerts as server-sent events (pending alerts first, then each new one)",
)
async def events(
    request: Request, actor: AsAlertsView, deployment_id: str | None = Query(None, max_length=32)
) -> StreamingResponse:
    ctx = get_ctx(request)
    if deployment_id:  # refused before the stream opens: 404 unknown, 403 not assigned
        await run_in_threadpool(ctx.service.access.require, actor, deployment_id, Access.ALERTS)

    async def stream() -> AsyncIterator[str]:
        nonlocal actor
        seen: dict[str, str] = {}
        feed = _Feed()
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        yield "retry: 1000\n\n"
        with ctx.bell.listen() as rung:
            while not await request.is_disconnected() and not request.app.state.stopping.is_set():
                rung.clear()  # before reading: an alert committed from here on rings again
                # The grant is re-checked on every poll (at most sse_poll_s apart), so logout, a
                # password change, expiry or deactivation ends an open stream within a second.
                now = await run_in_threadpool(_still_allowed, request, actor)
                if now is None:
                    return
                actor = now
                batch = await run_in_threadpool(_live_alerts, request, actor, deployment_id, feed)
                if batch is None:
                    return
                for a in batch:
                    # Status changes are pushed too, so two operators' screens stay in step.
                    if seen.get(a["id"]) != a["status"]:
                        seen[a["id"]] = a["status"]
                        yield f"event: alert\ndata: {json.dumps(a)}\n\n"
                        last_sent = loop.time()
                # At most ~10 reads a second however often the bell rings: a stream is cheap.
                await asyncio.sleep(min(0.1, ctx.sse_poll_s))
                await wait_rung(rung, max(0.0, ctx.sse_poll_s - 0.1))
                if loop.time() - last_sent >= 15:
                    last_sent = loop.time()
                    yield "event: ping\ndata: {}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

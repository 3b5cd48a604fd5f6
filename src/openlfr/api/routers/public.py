"""No login: what the public may read (published notices and deployment records, counts only)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from openlfr.api.defs.common import ERROR_RESPONSES
from openlfr.api.defs.oversight import PublicDeploymentOut, PublicNoticeOut
from openlfr.api.deps import ApiError, get_ctx
from openlfr.governance.vocab import DeploymentState
from openlfr.services.assurance_public import annual, annual_csv, deployments_csv, public_assurance
from openlfr.services.governance import GovernanceService

router = APIRouter(tags=["public"], responses={400: ERROR_RESPONSES[400]})


def published(svc: GovernanceService) -> list[PublicDeploymentOut]:
    out = []
    for d in svc.deployments.deployments():
        state = d["state"]
        if state not in (DeploymentState.AUTHORISED, DeploymentState.LIVE, DeploymentState.ENDED):
            continue
        notice = svc.transparency.public_notice(d["id"])
        # Before it ends, a deployment is public only through its published notice.
        if state != DeploymentState.ENDED and not notice.notice_published_at:
            continue
        record = (
            svc.transparency.deployment_record(d["id"]).to_dict()
            if state == DeploymentState.ENDED
            else None
        )
        if record is not None:
            # Test walk-by result, expected against measured false alerts, monitor pauses.
            record["assurance"] = public_assurance(svc.assurance.record(d["id"]))
        out.append(
            PublicDeploymentOut(
                notice=PublicNoticeOut.model_validate(notice), state=state, record=record
            )
        )
    return out


@router.get("/api/v1/public/deployments")
def public_deployments(request: Request) -> list[PublicDeploymentOut]:
    return published(get_ctx(request).service)


CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV download"}
}


@router.get("/api/v1/public/deployments.csv", response_class=Response, responses=CSV)
def public_deployments_csv(request: Request) -> Response:
    rows = [p.model_dump() for p in published(get_ctx(request).service)]
    return _download(deployments_csv(rows), "text/csv", "openlfr-deployments.csv")


@router.get("/api/v1/public/annual/{year}.csv", response_class=Response, responses=CSV)
def public_annual_csv(request: Request, year: int = Path(ge=2000, le=2100)) -> Response:
    body = annual_csv(annual(get_ctx(request).service, year))
    return _download(body, "text/csv", f"openlfr-annual-{year}.csv")


@router.get("/api/v1/public/annual/{year}")
def public_annual(request: Request, year: int = Path(ge=2000, le=2100)) -> dict[str, Any]:
    """The annual summary with walk-bys, monitor pauses and equality monitoring (C.12)."""
    return annual(get_ctx(request).service, year)


def _download(body: str, media: str, name: str) -> Response:
    return Response(
        body,
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    """Liveness: the process answers. Whether it can do its job is /readyz."""
    return "ok"


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: `checks` says what fails and why"}},
    summary="Readiness: database, keys, retention job; with a broker, link and consumer. "
    "`checks` (with reasons) only for the host itself, the scrape token or an administrator",
)
def readyz(request: Request) -> JSONResponse:
    from openlfr.api.health import may_see_reasons, readiness

    checks = readiness(get_ctx(request).service, request.app.state)
    ok = all(c["ok"] for c in checks.values())
    body: dict[str, Any] = {"ready": ok}
    if may_see_reasons(request):
        body["checks"] = checks
    # no-store: a cache in front must not hand an administrator's answer to the next caller.
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus"},
        401: {"description": "No or wrong scrape token"},
    },
    summary="Prometheus metrics; needs `Authorization: Bearer <OPENLFR_API__METRICS_TOKEN>`",
)
def metrics(request: Request) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    # Labels name deployments' cameras, which the public page hides until a deployment ends.
    expected = get_ctx(request).metrics_token
    auth = request.headers.get("authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            401,
            "not_authenticated",
            "metrics need the scrape token (set OPENLFR_API__METRICS_TOKEN)",
            {"WWW-Authenticate": "Bearer"},
        )
    return Response(
        generate_latest(get_ctx(request).metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
